"""RAG_DENSE_UNIT=sentence: ingestion embeds each text once (sentences only) and the dense side ranks a chunk by
its best sentence; an index built either way answers in either mode."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from index.ingest import BatchIndexer, index_documents
from rag.retrieval import HybridRetriever, rank_by_best_sentence
from rag.store import Store

SPANS = {"a": [(0, 10, "a:0"), (6, 20, "a:1"), (16, 30, "a:2")], "b": [(0, 12, "b:0")]}


def test_a_chunk_ranks_by_its_best_sentence_and_a_shared_sentence_counts_for_both_chunks():
    hits = [("x", 0, 3, 0.95),   # a document with no committed chunks: skipped
            ("a", 6, 10, 0.90),  # the sentence a:0 and a:1 share
            ("b", 0, 5, 0.80),
            ("a", 16, 20, 0.70),  # a:1 already ranked by a better sentence; a:2's best
            ("a", 0, 5, 0.60)]   # a:0's second sentence changes nothing
    ranked = rank_by_best_sentence(hits, SPANS, k=10)
    assert dict(ranked) == {"a:0": 0.90, "a:1": 0.90, "b:0": 0.80, "a:2": 0.70}
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
    assert rank_by_best_sentence(hits, SPANS, k=3) == ranked[:3]


def test_a_sentence_counts_only_for_chunks_that_hold_all_of_it():
    # (8, 12) starts in a:0 but ends after it; (10, 16) starts where a:0 ends; (20, 30) ends where a:2 ends
    assert rank_by_best_sentence([("a", 8, 12, 0.9)], SPANS, k=5) == [("a:1", 0.9)]
    assert rank_by_best_sentence([("a", 10, 16, 0.9)], SPANS, k=5) == [("a:1", 0.9)]
    assert rank_by_best_sentence([("a", 20, 30, 0.5)], SPANS, k=5) == [("a:2", 0.5)]
    assert rank_by_best_sentence([("a", 25, 35, 0.5), ("b", 0, 13, 0.4)], SPANS, k=5) == []
    assert rank_by_best_sentence([], SPANS, k=5) == []


class CountingEmbedder:
    """Deterministic unit vectors from a text's hash; records every text it embeds (ingest) or is asked (query)."""

    embed_batch_size = 1
    pool_size = 1

    def __init__(self):
        self.embedded: list[str] = []

    @staticmethod
    def vector(text: str) -> list[float]:
        v = np.frombuffer(hashlib.sha256(text.encode()).digest(), dtype=np.uint8)[:16].astype(np.float32) - 127.5
        return (v / np.linalg.norm(v)).tolist()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        self.embedded += texts
        return [self.vector(t) for t in texts]

    def get_query_embedding(self, query: str) -> list[float]:
        return self.vector(query)


DOCS = [("leave.txt", "青禾科技年假制度\n" + "".join(f"第{i}条，员工入职满{i}年后每年享有{i + 5}天带薪年假，需提前{i}天申请。"
                                                    for i in range(1, 15)) + "\n"),
        ("handbook.txt", "Staff handbook\n" + " ".join(f"Rule {i}: staff in team {i} start work at {i} am and get "
                                                         f"{i + 2} days of training." for i in range(1, 12)) + "\n")]


@pytest.mark.parametrize("unit", ["chunk", "sentence"])
def test_sentence_mode_embeds_only_sentences_and_derives_chunk_vectors_from_them(fresh_settings, unit):
    settings = fresh_settings.model_copy(update={"dense_unit": unit})
    store, embedder = Store(settings), CountingEmbedder()
    indexer = BatchIndexer(store, embedder, settings)
    indexer.window = 4  # many windows: in sentence mode a chunk is written once the sentences it holds are in
    for name, text in DOCS:
        indexer.add(name, text)
    indexer.flush()
    chunks = store.chunks.get(include=["documents", "embeddings", "metadatas"])
    sentences = store.sentences.get(include=["embeddings", "metadatas"])
    texts = {name: text for name, text in DOCS}
    sentence_texts = [texts[m["doc_name"]][m["start"]:m["end"]] for m in sentences["metadatas"]]
    assert len(chunks["ids"]) > 2 and len(sentences["ids"]) > len(chunks["ids"])
    if unit == "chunk":
        assert sorted(embedder.embedded) == sorted(chunks["documents"] + sentence_texts)
        assert all("dense_unit" not in m for m in chunks["metadatas"])
        return
    assert sorted(embedder.embedded) == sorted(sentence_texts)  # each sentence once, no chunk text
    by_span = {(m["doc_id"], m["start"], m["end"]): np.asarray(v) for m, v in
               zip(sentences["metadatas"], sentences["embeddings"])}
    for meta, vector in zip(chunks["metadatas"], chunks["embeddings"]):
        assert meta["dense_unit"] == "sentence"
        inside = [v for (doc, a, b), v in by_span.items()
                  if doc == meta["doc_id"] and a >= meta["start"] and b <= meta["end"]]
        mean = np.mean(inside, axis=0)
        assert inside and np.allclose(vector, mean / np.linalg.norm(mean), atol=1e-5)


def _dense_ranking(settings, store, embedder, question: str) -> list[tuple[str, float]]:
    nodes = HybridRetriever(store, embedder, settings, mode="dense", top_k=4).retrieve(question)
    return [(n.node.node_id, n.node.metadata["dense_score"]) for n in nodes]


def test_sentence_ranking_never_searches_the_chunk_collection_and_serves_either_index(fresh_settings, monkeypatch):
    chunk_mode = fresh_settings.model_copy(update={"dense_unit": "chunk"})
    sentence_mode = fresh_settings.model_copy(update={"dense_unit": "sentence"})
    store, embedder = Store(chunk_mode), CountingEmbedder()
    index_documents(store, embedder, chunk_mode, DOCS)  # a chunk-mode index: chunk vectors of their own
    question = "入职满五年后有几天年假？"
    by_chunk = _dense_ranking(chunk_mode, store, embedder, question)
    q = np.asarray(embedder.vector(question))
    chunk_vectors = store.chunks.get(include=["embeddings"])
    best_chunk = max(zip(chunk_vectors["ids"], chunk_vectors["embeddings"]), key=lambda r: float(np.dot(q, r[1])))
    assert by_chunk[0][0] == best_chunk[0]

    def no_chunk_search(*args, **kwargs):
        raise AssertionError("sentence mode searched the chunk collection")

    monkeypatch.setattr(store.chunks, "query", no_chunk_search)
    by_sentence = _dense_ranking(sentence_mode, store, embedder, question)
    sentences = store.sentences.get(include=["embeddings", "metadatas"])
    best = max(zip(sentences["metadatas"], sentences["embeddings"]), key=lambda r: float(np.dot(q, r[1])))
    top_id, top_score = by_sentence[0]
    top = store.chunks.get(ids=[top_id], include=["metadatas"])["metadatas"][0]
    assert top["doc_id"] == best[0]["doc_id"] and top["start"] <= best[0]["start"] and best[0]["end"] <= top["end"]
    assert top_score == pytest.approx(float(np.dot(q, best[1])), abs=1e-4)

    # documents added in sentence mode have no chunk vectors of their own: a chunk-mode setting ranks by sentences too
    index_documents(store, embedder, sentence_mode, [("extra.txt", "食堂每天中午十二点开饭。晚餐从六点开始供应。\n")])
    assert _dense_ranking(chunk_mode, store, embedder, question) == _dense_ranking(sentence_mode, store, embedder,
                                                                                   question)


def test_nearest_sentences_leave_out_a_pending_replacements_staged_sentences(fresh_settings, monkeypatch):
    settings = fresh_settings.model_copy(update={"dense_unit": "sentence"})
    store, embedder = Store(settings), CountingEmbedder()
    old = DOCS[0][1]
    new = old.replace("申请。", "书面申请。")
    index_documents(store, embedder, settings, [("leave.txt", old)])

    def power_cut(batch):
        raise RuntimeError("power cut")

    monkeypatch.setattr(store, "commit_documents", power_cut)
    with pytest.raises(RuntimeError):
        index_documents(store, embedder, settings, [("leave.txt", new)])
    monkeypatch.undo()
    staged = store.sentences.get(where={"staged": True}, include=["metadatas"])["metadatas"]
    assert staged
    only_new = next(new[m["start"]:m["end"]] for m in staged if "书面" in new[m["start"]:m["end"]])
    hits = store.nearest_sentences(embedder.vector(only_new), n=store.sentences.count())
    committed = store.sentences.get(where={"staged": {"$ne": True}}, include=["metadatas"])["metadatas"]
    assert len(hits) == store.sentences.count() - len(staged)
    assert {(doc, a, b) for doc, a, b, _ in hits} == {(m["doc_id"], m["start"], m["end"]) for m in committed}
    assert max(score for *_, score in hits) < 0.99  # the new version's own sentence is not among them
