"""A small inverted-index BM25 over jieba tokens.

llama-index's stock BM25 tokenises on whitespace and scores Chinese as 0, so
we keep our own: postings per token, scored with numpy, only touching the
postings of the query's tokens.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

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
        return cls.from_tokens(zip(ids, (tokenize(t) for t in texts)))

    @classmethod
    def from_tokens(cls, rows: Iterable[tuple[str, list[str]]]) -> "BM25":
        """From (id, tokens) rows, e.g. tokens stored at ingest time (jieba is the slow part of a rebuild).

        Streams: postings grow in compact typed arrays, so 100k chunks never sit in memory as token lists."""
        ids: list[str] = []
        acc: dict[str, tuple[array, array]] = {}
        lengths = array("f")
        for i, (chunk_id, tokens) in enumerate(rows):
            ids.append(chunk_id)
            counts = Counter(tokens)
            lengths.append(sum(counts.values()))
            for tok, tf in counts.items():
                entry = acc.get(tok)
                if entry is None:
                    entry = acc[tok] = (array("i"), array("f"))
                entry[0].append(i)
                entry[1].append(tf)
        postings = {t: (np.array(d, dtype=np.int32), np.array(f, dtype=np.float32)) for t, (d, f) in acc.items()}
        return cls(ids, postings, np.array(lengths, dtype=np.float32))

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
