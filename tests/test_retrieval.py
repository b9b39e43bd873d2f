import pytest

from rag.bm25 import BM25
from rag.retrieval import HybridRetriever
from rag.store import Store


def test_bm25_scores_chinese_text():
    bm25 = BM25.build(["a", "b"], ["英国于2024年正式加入CPTPP。", "双方讨论了能源安全领域的风险。"])
    top = bm25.top("英国何时加入CPTPP", 2)
    assert top[0][0] == "a" and top[0][1] > 0
    assert bm25.top("完全无关的词语", 2) == []


def _hit_at(pipeline, rows, mode, k):
    retriever = pipeline.retriever(top_k=k, mode=mode)
    hits = 0
    for row in rows:
        texts = [n.node.get_content() for n in retriever.retrieve(row["question"])]
        hits += any(row["evidence"] in t for t in texts)
    return hits / len(rows)


def test_hybrid_hit_at_3_on_dev_set(pipeline, dev_rows):
    rows = [r for r in dev_rows if "question" in r and not r["unanswerable"] and len(r["evidence"]) < 120]
    assert len(rows) >= 40
    assert _hit_at(pipeline, rows, "hybrid", 3) >= 0.95


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_modes_return_scored_nodes_with_offsets(pipeline, corpus_text, mode):
    nodes = pipeline.retriever(top_k=4, mode=mode).retrieve("英国哪一年正式加入CPTPP？")
    assert 0 < len(nodes) <= 4
    assert any("2024" in n.node.get_content() for n in nodes[:2])
    sides = []
    for n in nodes:
        meta = n.node.metadata
        assert corpus_text[meta["start"]:meta["end"]] == n.node.get_content()
        sides.append((meta["dense_score"] is not None, meta["bm25_score"] is not None))
    if mode == "hybrid":  # fused: every node comes from one side at least, the best from both
        assert all(dense or bm25 for dense, bm25 in sides) and sides[0] == (True, True)
    else:  # one side only: the other side's score is absent
        assert set(sides) == {(mode == "dense", mode == "bm25")}


def test_bm25_cache_is_rebuilt_when_corrupt(indexed_settings):
    store = Store(indexed_settings)
    retriever = HybridRetriever(store, None, indexed_settings, mode="bm25")
    retriever.retrieve("CPTPP")
    cache = retriever.corpus.path
    assert cache.exists()
    cache.write_bytes(b"not a pickle")
    fresh = HybridRetriever(store, None, indexed_settings, mode="bm25")
    assert fresh.retrieve("CPTPP")


def test_a_document_change_fetches_only_that_document_and_matches_a_full_rebuild(fresh_settings):
    from index.ingest import add_document
    from rag.embedding import get_embedder
    from rag.retrieval import CorpusCache

    store, embedder = Store(fresh_settings), get_embedder()
    texts = {"a.txt": "英国于2024年正式加入CPTPP。日方表示欢迎。", "b.txt": "双方讨论了能源安全领域的风险。",
             "c.txt": "青禾科技员工入职满五年后享有15天带薪年假。"}
    for name in ("a.txt", "b.txt"):
        add_document(store, embedder, fresh_settings, name, texts[name])
    cache = CorpusCache(store)
    cache.get()
    fetched = []
    iter_chunks = store.iter_chunks
    store.iter_chunks = lambda where=None: fetched.append(where) or iter_chunks(where)
    add_document(store, embedder, fresh_settings, "c.txt", texts["c.txt"])
    assert "c:00000" in cache.get().chunks and fetched == [{"doc_id": "c"}]
    store.delete_document("a")
    add_document(store, embedder, fresh_settings, "b.txt", "双方同意加强半导体供应链合作。")  # replaced
    incremental = cache.get()
    full = CorpusCache(store)._refresh(store.generation(), None)
    assert incremental.chunks == full.chunks and "a:00000" not in incremental.chunks
    for q in ("CPTPP", "能源安全", "半导体供应链", "带薪年假", "英国"):
        assert dict(incremental.bm25.top(q, 10)) == pytest.approx(dict(full.bm25.top(q, 10)))
    assert incremental.bm25.top("能源安全", 10) == []  # the replaced text is gone


def test_a_cache_pickled_by_an_older_version_is_rebuilt(indexed_copy):
    import pickle

    from rag.retrieval import CorpusCache, _Corpus

    store = Store(indexed_copy)
    cache = CorpusCache(store)
    old = object.__new__(_Corpus)  # the previous layout: same class, other fields
    old.__dict__.update(generation=store.generation(), doc_ids=frozenset(), nodes={}, bm25=None)
    cache.path.parent.mkdir(parents=True, exist_ok=True)
    cache.path.write_bytes(pickle.dumps(old))
    assert len(CorpusCache(store).get().chunks) == store.counts()["chunks"]


def test_a_replaced_corpus_is_freed_though_the_collector_no_longer_scans_it(fresh_settings):
    import gc
    import weakref

    from index.ingest import add_document
    from rag.embedding import get_embedder
    from rag.retrieval import CorpusCache

    store, embedder = Store(fresh_settings), get_embedder()
    add_document(store, embedder, fresh_settings, "a.txt", "英国于2024年正式加入CPTPP。")
    cache = CorpusCache(store)
    first = cache.get()
    assert gc.get_freeze_count() > 0  # the live corpus is out of the collector's way
    gone = weakref.ref(first.bm25)
    del first
    add_document(store, embedder, fresh_settings, "b.txt", "双方讨论了能源安全领域的风险。")
    assert "b:00000" in cache.get().chunks
    assert gone() is None  # freed by reference counting, not leaked by the freeze


LIBRARY_REPORT = ("Maple Grove Public Library: Annual Report 2025\n\n"
                  "The library lent 182,400 items last year, up 6 percent on 2024. "
                  "The East Branch was the busiest of the three branches, with 71,000 visits.\n\n"
                  "Dr. Helen Hart has been the chief librarian since March 2021. "
                  "A new reading room for children opened in the Central Library in September.\n\n"
                  "The library is funded by the city council and by a grant from the Maple Grove Foundation.\n")


def test_a_question_in_the_other_language_retrieves_a_document_in_the_mixed_index(indexed_copy):
    """The sample article is Chinese; an English report joins it. e5's cosines favour the question's language by
    ~0.1, so without the kept place a Chinese question would see only Chinese chunks."""
    from index.ingest import add_document
    from rag.pipeline import Pipeline

    pipeline = Pipeline(indexed_copy)
    add_document(pipeline.store, pipeline.embedder, indexed_copy, "maple-grove-report.txt", LIBRARY_REPORT)
    report = next(d.doc_id for d in pipeline.store.list_documents() if d.name == "maple-grove-report.txt")

    def docs(question, **settings):
        retriever = pipeline.retriever(top_k=4)
        retriever.settings = indexed_copy.model_copy(update=settings)
        return [n.node.metadata["doc_id"] for n in retriever.retrieve(question)]

    assert report in docs("图书馆的馆长是谁？")
    assert report not in docs("图书馆的馆长是谁？", cross_language_chunks=0)
    # an English question about the English report: its own chunks come first, the Chinese article gets one place
    english = docs("Who is the chief librarian?")
    assert english[0] == report
    # a Chinese question about the Chinese article still has its k-1 best Chinese chunks
    assert docs("英国哪一年正式加入CPTPP？").count(report) <= 1


def test_a_chunk_that_does_not_name_its_subject_is_found_by_its_documents_title(fresh_settings):
    """BM25 gives every chunk its document's title words: a report's later paragraph ("Chief executive … said")
    rarely repeats the company the question names."""
    from index.ingest import add_document
    from rag.embedding import get_embedder

    store, embedder = Store(fresh_settings), get_embedder()
    later = ("Chief executive Rachel Imbert said demand for the new frozen line was strong. "
             "The line accounted for nine percent of sales in the quarter.")
    report = ("Norvale Foods Reports Third-Quarter Results\n\n"
              + "Norvale Foods reported revenue of $1.32 billion for the quarter, up six percent from a year earlier. "
              * 3 + "\n\nManagement\n\n" + later + "\n")
    other = "Chief executive Tom Hale of Arden Mills said the merger would close in May. " * 3
    add_document(store, embedder, fresh_settings, "norvale.txt", report)
    add_document(store, embedder, fresh_settings, "arden.txt", other)
    retriever = HybridRetriever(store, embedder, fresh_settings, mode="bm25", top_k=1)
    top = retriever.retrieve("Who is the chief executive of Norvale Foods?")[0].node
    assert later in top.get_content() and top.metadata["start"] > 0


def test_heading_tokens_are_the_title_and_section_a_chunk_does_not_hold():
    from rag.retrieval import document_titles, heading_tokens

    first = ("Harbor Valley Water Utility\n\nThe utility serves 84,000 households.", {"doc_id": "w", "start": 0})
    later = ("Prices rose 4.5 percent.", {"doc_id": "w", "start": 70, "section": "Rates"})
    titles = document_titles([first, later])
    assert titles == {"w": "Harbor Valley Water Utility"}
    assert heading_tokens(*first, titles["w"]) == []  # the first chunk holds its title already
    assert heading_tokens(*later, titles["w"]) == ["harbor", "valley", "water", "utility", "rates"]


def test_a_title_lends_its_names_not_the_words_its_document_writes_in_lower_case():
    """"Regular Meeting Minutes" must not give "meeting" to every chunk of the minutes (a question about another
    meeting would find them all); "Riverton" is a name the document always capitalises."""
    from rag.retrieval import document_titles, heading_tokens, lower_case_words

    first = ("Riverton City Council - Regular Meeting Minutes\n\nThe meeting was called to order.",
             {"doc_id": "r", "start": 0})
    later = ("Ms. Park was appointed to the Planning Commission.", {"doc_id": "r", "start": 90})
    chinese = ("云州地铁5号线开通\n\n首日客流12万人次。", {"doc_id": "z", "start": 0})
    chinese_later = ("二期工程预计2028年完工。", {"doc_id": "z", "start": 40})
    chunks = [first, later, chinese, chinese_later]
    titles, common = document_titles(chunks), lower_case_words(chunks)
    assert "meeting" in common["r"] and "riverton" not in common["r"]
    lent = heading_tokens(*later, titles["r"], common["r"])
    assert "riverton" in lent and "council" in lent
    assert "meeting" not in lent and "regular" in lent  # "regular" is never written in lower case there
    assert heading_tokens(*chinese_later, titles["z"], common["z"]) == ["云州", "地铁", "5", "号线", "开通"]
