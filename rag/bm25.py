"""A small inverted-index BM25 over jieba tokens.

llama-index's stock BM25 tokenises on whitespace and scores Chinese as 0, so
we keep our own: postings per token, built and scored with numpy, only
touching the postings of the query's tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rag.text import tokenize


class Vocabulary:
    """Token ↔ id, so chunks' tokens can be kept as small int arrays between rebuilds."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.words: list[str] = []

    def encode(self, tokens: list[str]) -> np.ndarray:
        ids, words = self.ids, self.words
        out = np.empty(len(tokens), dtype=np.int32)
        for i, tok in enumerate(tokens):
            j = ids.get(tok)
            if j is None:
                j = ids[tok] = len(words)
                words.append(tok)
            out[i] = j
        return out


@dataclass
class BM25:
    ids: list[str]
    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    doc_len: np.ndarray
    k1: float = 1.5
    b: float = 0.75

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> "BM25":
        vocab = Vocabulary()
        return cls.from_token_ids(ids, [vocab.encode(tokenize(t)) for t in texts], vocab)

    @classmethod
    def from_token_ids(cls, ids: list[str], token_ids: list[np.ndarray], vocab: "Vocabulary") -> "BM25":
        """Postings for all chunks at once with numpy (≈1 s per 100k chunks): cheap enough to redo on
        every document change, given token ids kept from earlier builds."""
        n = len(ids)
        lengths = np.fromiter((len(a) for a in token_ids), dtype=np.int64, count=n)
        if not n or not lengths.sum():
            return cls(list(ids), {}, lengths.astype(np.float32))
        flat = np.concatenate(token_ids).astype(np.int64)
        docs = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pairs, tf = np.unique(flat * n + docs, return_counts=True)  # sorted by token, then chunk
        tok, doc = pairs // n, (pairs % n).astype(np.int32)
        cuts = np.flatnonzero(np.diff(tok)) + 1
        starts, ends = np.r_[0, cuts], np.r_[cuts, len(tok)]
        tf = tf.astype(np.float32)
        words = vocab.words
        postings = {words[tok[a]]: (doc[a:b], tf[a:b]) for a, b in zip(starts.tolist(), ends.tolist())}
        return cls(list(ids), postings, lengths.astype(np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def __getstate__(self) -> dict:
        """Pickled without the memoised statistics: askers add to them while a writer saves the cache."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_idf", "_avg_len")}

    @cached_property
    def _idf(self) -> dict[str, float]:
        """Per-generation statistics, computed once per token (every question and sentence asks again)."""
        return {}

    @cached_property
    def _avg_len(self) -> float:
        return float(self.doc_len.mean()) or 1.0 if len(self.doc_len) else 1.0

    def idf(self, token: str) -> float:
        cached = self._idf.get(token)
        if cached is None:
            posting = self.postings.get(token)
            df = len(posting[0]) if posting is not None else 0
            cached = math.log(1 + (len(self.ids) - df + 0.5) / (df + 0.5))
            if posting is not None:  # bounded by the vocabulary, whatever people ask
                self._idf[token] = cached
        return cached

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        n = len(self.ids)
        scores = np.zeros(n, dtype=np.float32)
        if not n:
            return scores
        avg = self._avg_len
        for tok in set(query_tokens):
            if tok not in self.postings:
                continue
            docs, tf = self.postings[tok]
            norm = tf + self.k1 * (1 - self.b + self.b * self.doc_len[docs] / avg)
            scores[docs] += self.idf(tok) * tf * (self.k1 + 1) / norm
        return scores

    def top(self, query: str, k: int) -> list[tuple[str, float]]:
        return self.top_tokens(tokenize(query), k)

    def top_tokens(self, tokens: list[str], k: int) -> list[tuple[str, float]]:
        scores = self.scores(tokens)
        hits = np.flatnonzero(scores > 0)
        if not len(hits):
            return []
        k = min(k, len(hits))
        best = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in best]
