import pytest

from index.ingest import add_document, doc_id_for, index_documents, index_paths
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


V1 = "青禾科技年假制度\n员工入职满一年后享有10天带薪年假，入职满五年后增加到15天。未使用的年假最多可顺延5天至次年3月31日。\n"
V2 = "青禾科技年假制度\n员工入职满一年后享有12天带薪年假，入职满五年后增加到20天。未使用的年假最多可顺延3天。\n"


def _rows_match_registry(store: Store) -> bool:
    docs = store.list_documents()
    sentences = store.sentences.get(include=["metadatas"])
    return (store.counts()["chunks"] == sum(d.chunks for d in docs)
            and all(not m.get("staged") for m in sentences["metadatas"])
            and all(":" in i and "@" not in i for i in sentences["ids"]))


@pytest.mark.parametrize("unit", ["chunk", "sentence"])
def test_a_failed_replacement_leaves_the_old_version_answering(fresh_settings, monkeypatch, unit):
    from rag.pipeline import Pipeline
    from rag.schema import AskRequest

    fresh_settings = fresh_settings.model_copy(update={"dense_unit": unit})
    store, emb = Store(fresh_settings), get_embedder()
    add_document(store, emb, fresh_settings, "leave.txt", V1)
    pipeline = Pipeline(fresh_settings, store=store)
    question = AskRequest(question="员工入职满五年后有多少天带薪年假？")
    assert "15天" in pipeline.ask(question).answer

    def crash(batch):
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "commit_documents", crash)
    with pytest.raises(RuntimeError):
        add_document(store, emb, fresh_settings, "leave.txt", V2)
    monkeypatch.undo()
    assert store.counts()["chunks"] > 1, "the new version's rows were written before the crash"
    assert store.document_text("leave") == V1
    answer = pipeline.ask(question)
    assert "15天" in answer.answer and "20天" not in answer.answer
    assert all(V1[c.start:c.end] == c.text for c in answer.citations)
    assert store.repair() == []
    assert _rows_match_registry(store) and store.document_text("leave") == V1
    _, status = add_document(store, emb, fresh_settings, "leave.txt", V2)
    assert status == "replaced" and store.document_text("leave") == V2
    assert _rows_match_registry(store)
    assert "20天" in pipeline.ask(question).answer


@pytest.mark.parametrize("unit", ["chunk", "sentence"])
def test_a_replacement_interrupted_after_its_commit_is_finished_by_repair(fresh_settings, monkeypatch, unit):
    fresh_settings = fresh_settings.model_copy(update={"dense_unit": unit})
    store, emb = Store(fresh_settings), get_embedder()
    add_document(store, emb, fresh_settings, "leave.txt", V1)
    monkeypatch.setattr(store, "finish_replacement", lambda doc_id, version: None)
    add_document(store, emb, fresh_settings, "leave.txt", V2)
    monkeypatch.undo()
    assert store.document_text("leave") == V2  # committed: readers already see only the new chunks
    assert not _rows_match_registry(store)
    store.repair()
    assert _rows_match_registry(store)
    spans = {(m["start"], m["end"]) for m in store.sentences.get(include=["metadatas"])["metadatas"]}
    assert {V2[a:b] for a, b in spans} >= {"员工入职满一年后享有12天带薪年假，入职满五年后增加到20天。"}


@pytest.mark.parametrize("unit", ["chunk", "sentence"])
def test_a_batch_commits_once_and_a_crash_mid_batch_commits_nothing(fresh_settings, monkeypatch, unit):
    from index.ingest import BatchIndexer

    fresh_settings = fresh_settings.model_copy(update={"dense_unit": unit})
    store, emb = Store(fresh_settings), get_embedder()
    docs = [(f"note-{i}.txt", f"第{i}号通知。" + V1 * (i + 1)) for i in range(6)]
    commits = []
    real_commit = store.commit_documents
    monkeypatch.setattr(store, "commit_documents", lambda batch: commits.append(len(batch)) or real_commit(batch))
    generation = store.generation()
    results = index_documents(store, emb, fresh_settings, docs[:3])
    assert [s for _, s in results] == ["added"] * 3 and commits == [3]
    assert store.generation() != generation

    writes = 0
    real_add = store.sentences.add

    def failing_add(**kw):
        nonlocal writes
        writes += 1
        if writes == 2:
            raise RuntimeError("disk full")
        return real_add(**kw)

    monkeypatch.setattr(store.sentences, "add", failing_add)
    indexer = BatchIndexer(store, emb, fresh_settings)
    indexer.window = 8  # several windows, so the crash comes after some rows of the batch are written
    with pytest.raises(RuntimeError):
        for name, text in docs[3:]:
            indexer.add(name, text)
        indexer.flush()
    assert commits == [3] and len(store.list_documents()) == 3
    assert store.counts()["chunks"] > sum(d.chunks for d in store.list_documents())
    registered = {d.doc_id for d in store.list_documents()}
    partial = {m["doc_name"] for coll in (store.chunks, store.sentences)
               for m in coll.get(include=["metadatas"])["metadatas"] if m["doc_id"] not in registered}
    assert partial and partial <= {"note-3.txt", "note-4.txt", "note-5.txt"}
    assert sorted(store.repair()) == sorted(partial)
    assert _rows_match_registry(store)
