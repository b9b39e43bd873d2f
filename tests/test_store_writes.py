"""The store's write side on hand-built rows: sentence vectors read back by span, a replacement's staged
vectors hidden until it is finished, chunks written through llama-index's node interface."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunker import Chunk
from index.ingest import chunk_node
from rag.store import DocumentInfo, SentenceVector, Store

V1 = DocumentInfo("leave", "leave.txt", "a" * 64, 1, 20, 1.0, "v1")
V2 = DocumentInfo("leave", "leave.txt", "b" * 64, 1, 20, 2.0, "v2")


@pytest.fixture
def store(fresh_settings):
    return Store(fresh_settings)


def test_sentence_vectors_come_back_by_span_and_unknown_spans_are_left_out(store):
    store.add_sentences([SentenceVector(V1, 0, 9, [1.0, 0.0, 0.0]), SentenceVector(V1, 9, 20, [0.0, 1.0, 0.0])])
    got = store.sentence_vectors([("leave", 9, 20), ("leave", 0, 9), ("leave", 0, 8), ("other", 0, 9)])
    assert set(got) == {("leave", 0, 9), ("leave", 9, 20)}
    assert np.allclose(got[("leave", 9, 20)], [0.0, 1.0, 0.0]) and got[("leave", 9, 20)].dtype == np.float32
    assert store.sentence_vectors([]) == {}


def test_a_replacements_sentences_are_hidden_until_it_is_finished(store):
    store.add_sentences([SentenceVector(V1, 0, 9, [1.0, 0.0, 0.0])])
    store.commit_document(V1, [1.0, 0.0, 0.0])
    store.add_sentences([SentenceVector(V2, 0, 9, [0.0, 0.0, 1.0], staged=True),
                         SentenceVector(V2, 9, 15, [0.0, 1.0, 0.0], staged=True)])
    before = store.sentence_vectors([("leave", 0, 9), ("leave", 9, 15)])
    assert set(before) == {("leave", 0, 9)} and np.allclose(before[("leave", 0, 9)], [1.0, 0.0, 0.0])
    store.commit_document(V2, [0.0, 0.0, 1.0])
    store.finish_replacement("leave", "v2")
    after = store.sentence_vectors([("leave", 0, 9), ("leave", 9, 15)])
    assert set(after) == {("leave", 0, 9), ("leave", 9, 15)}
    assert np.allclose(after[("leave", 0, 9)], [0.0, 0.0, 1.0])
    assert store.sentences.count() == 2


def test_chunks_are_written_as_nodes_with_their_offsets(store):
    text = "第一句。第二句。"
    nodes = [chunk_node("leave", "leave.txt", f"leave:{i:05d}", "v1", Chunk(a, b, text[a:b], "", ()), vec)
             for i, (a, b, vec) in enumerate([(0, 4, [1.0, 0.0]), (4, 8, [0.0, 1.0])])]
    store.add_chunks(nodes)
    store.add_chunks([])
    rows = sorted(store.get_chunks(where={"doc_id": "leave"}), key=lambda r: r[0])
    assert [(i, t, m["start"], m["end"], m["version"]) for i, t, m in rows] == [
        ("leave:00000", "第一句。", 0, 4, "v1"), ("leave:00001", "第二句。", 4, 8, "v1")]
