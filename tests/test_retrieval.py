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
    assert "2024" in nodes[0].node.get_content() or "2024" in nodes[1].node.get_content()
    for n in nodes:
        meta = n.node.metadata
        assert corpus_text[meta["start"]:meta["end"]] == n.node.get_content()
        assert (meta["dense_score"] is not None) == (mode != "bm25") or mode == "hybrid"


def test_bm25_cache_is_rebuilt_when_corrupt(indexed_settings):
    store = Store(indexed_settings)
    retriever = HybridRetriever(store, None, indexed_settings, mode="bm25")
    retriever.retrieve("CPTPP")
    cache = retriever.corpus.path
    assert cache.exists()
    cache.write_bytes(b"not a pickle")
    fresh = HybridRetriever(store, None, indexed_settings, mode="bm25")
    assert fresh.retrieve("CPTPP")
