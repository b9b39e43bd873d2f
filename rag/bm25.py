"""A small inverted-index BM25 over jieba tokens.

llama-index's stock BM25 tokenises on whitespace and scores Chinese as 0, so
we keep our own: postings per token, scored with numpy, only touching the
postings of the query's tokens.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from rag.text import tokenize


@dataclass
class BM25:
    ids: list[str]
    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    doc_len: np.ndarray
    k1: float = 1.5
    b: float = 0.75

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> "BM25":
        return cls.from_tokens(ids, [tokenize(t) for t in texts])

    @classmethod
    def from_tokens(cls, ids: list[str], token_lists: list[list[str]]) -> "BM25":
        """From tokens computed at ingest time: jieba is the slow part of a rebuild (~1 ms per chunk)."""
        acc: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        lengths = []
        for i, tokens in enumerate(token_lists):
            counts = Counter(tokens)
            lengths.append(sum(counts.values()))
            for tok, tf in counts.items():
                acc[tok][0].append(i)
                acc[tok][1].append(tf)
        postings = {t: (np.asarray(d, dtype=np.int32), np.asarray(f, dtype=np.float32)) for t, (d, f) in acc.items()}
        return cls(list(ids), postings, np.asarray(lengths, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, token: str) -> float:
        df = len(self.postings[token][0]) if token in self.postings else 0
        return math.log(1 + (len(self.ids) - df + 0.5) / (df + 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        n = len(self.ids)
        scores = np.zeros(n, dtype=np.float32)
        if not n:
            return scores
        avg = float(self.doc_len.mean()) or 1.0
        for tok in set(query_tokens):
            if tok not in self.postings:
                continue
            docs, tf = self.postings[tok]
            norm = tf + self.k1 * (1 - self.b + self.b * self.doc_len[docs] / avg)
            scores[docs] += self.idf(tok) * tf * (self.k1 + 1) / norm
        return scores

    def top(self, query: str, k: int) -> list[tuple[str, float]]:
        scores = self.scores(tokenize(query))
        hits = np.flatnonzero(scores > 0)
        if not len(hits):
            return []
        k = min(k, len(hits))
        best = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in best]
