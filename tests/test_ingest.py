from index.ingest import add_document, doc_id_for, index_paths
from rag.embedding import get_embedder
from rag.store import Store


def test_index_is_idempotent_and_text_round_trips(fresh_settings, corpus_text):
    first = index_paths([fresh_settings.corpus_dir], fresh_settings, progress=False)
    assert len(first.added) == 1 and first.chunks > 5
    again = index_paths([fresh_settings.corpus_dir], fresh_settings, progress=False)
    assert again.added == [] and again.unchanged == first.added and again.chunks == 0
    store = Store(fresh_settings)
    assert store.counts() == {"documents": 1, "chunks": first.chunks}
    assert store.document_text(first.added[0]) == corpus_text


def test_stored_chunks_carry_exact_offsets_and_sections(indexed_settings, corpus_text):
    store = Store(indexed_settings)
    rows = store.get_chunks()
    assert rows
    for chunk_id, text, meta in rows:
        assert corpus_text[meta["start"]:meta["end"]] == text
        assert meta["chunk_id"] == chunk_id and meta["doc_id"] == "japan-uk-economic-2plus2"
        assert "section" in meta


def test_changed_content_replaces_and_same_content_is_not_duplicated(fresh_settings):
    store, emb = Store(fresh_settings), get_embedder()
    info, status = add_document(store, emb, fresh_settings, "notes.txt", "第一版。内容很短。\n")
    assert status == "added"
    _, status = add_document(store, emb, fresh_settings, "copy.txt", "第一版。内容很短。\n")
    assert status == "unchanged"
    _, status = add_document(store, emb, fresh_settings, "notes.txt", "第二版。内容变了。\n")
    assert status == "replaced"
    assert [d.doc_id for d in store.list_documents()] == ["notes"]
    assert store.document_text("notes") == "第二版。内容变了。\n"


def test_repair_removes_uncommitted_chunks(fresh_settings):
    store, emb = Store(fresh_settings), get_embedder()
    add_document(store, emb, fresh_settings, "keep.txt", "保留的文档。\n")
    generation = store.generation()
    store.chunks.add(ids=["ghost:00000"], embeddings=[emb.get_text_embedding("幽灵")],
                     documents=["幽灵"], metadatas=[{"doc_id": "ghost", "doc_name": "ghost.txt", "start": 0, "end": 2}])
    assert store.repair() == ["ghost.txt"]
    assert store.counts() == {"documents": 1, "chunks": 1}
    assert store.generation() == generation


def test_doc_id_is_a_readable_slug():
    assert doc_id_for("Japan UK 2+2.txt") == "japan-uk-2-2"
    assert doc_id_for("日英 经济.md") == "日英-经济"
