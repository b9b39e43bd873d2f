"""Sentence-level evidence: which sentences of the retrieved chunks answer the question.

Shared by every answer backend: the extractive backend quotes the selected
sentences, the LLM backends are prompted with them, and the refusal gate
uses the same scores to decide that the documents do not hold the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.schema import NodeWithScore

from rag.bm25 import BM25
from rag.store import Store
from rag.text import NUMBER, detect_lang, sentence_spans, tokenize, trim_span

# What kind of answer the question wants, and how to recognise it in a sentence.
_ASKS = [
    ("date", re.compile(r"哪一天|哪天|几月几日|几月|何时|什么时候|日期|\bwhen\b|\bwhat date\b|\bon what date\b", re.I),
     re.compile(r"\d{1,2}月(\d{1,2}日)?|\d{4}\s*年|\d{4}")),
    ("year", re.compile(r"哪一?年|何年|几年|\bwhat year\b|\bwhich year\b|\bwhich years\b|\bwhat years\b|\bwhen\b", re.I),
     re.compile(r"\d{4}")),
    ("ordinal", re.compile(r"第几|哪一个|\bwhich (?:place|rank)\b", re.I),
     re.compile(r"第[一二两三四五六七八九十\d]+|首[个次位届]|最[大高]")),
    # a count or amount: digits that are not a year, or a numeral with a measure word
    ("number", re.compile(r"多少|(?<!第)几[个次大位国项名%]|how many|how much|what percentage|\bnumber of\b", re.I),
     re.compile(r"(?<!\d)(?!(?:19|20)\d\d(?!\d))\d+|[二两三四五六七八九十百千万亿]+[个次大度项名位家倍成届轮]"
                r"|一[次度项届轮]|[%％]")),
]
_ORDINAL = re.compile(r"第[一二两三四五六七八九十\d]+|[一二两三四五六七八九十\d]+[次届轮]|\d+(?:\.\d+)?")
_MONTH_DAY = re.compile(r"几月几日|哪一天|哪天|\bwhat date\b|\bon what date\b", re.I)


@dataclass
class Evidence:
    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    section: str
    score: float
    lexical: float
    dense: float
    chunk_rank: int
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass
class EvidenceSet:
    question: str
    lang: str
    ranked: list[Evidence] = field(default_factory=list)
    answerable: bool = False
    reason: str = ""

    def selected(self, max_sentences: int = 3, ratio: float = 0.85) -> list[Evidence]:
        """The best sentence plus close runners-up (list answers span sentences), in document order."""
        if not self.ranked:
            return []
        best = self.ranked[0].score
        chosen = [e for e in self.ranked[:max_sentences] if e.score >= best * ratio]
        return sorted(chosen, key=lambda e: (e.doc_id, e.start))


def asked_types(question: str) -> list[str]:
    return [name for name, asks, _ in _ASKS if asks.search(question)]


def has_type(kind: str, text: str, question: str) -> bool:
    if kind == "date" and _MONTH_DAY.search(question):
        return bool(re.search(r"\d{1,2}月\d{1,2}日", text))
    pattern = next(p for name, _, p in _ASKS if name == kind)
    return bool(pattern.search(text))


def numbers_agree(question: str, text: str) -> bool:
    """Every number or ordinal the question names must appear in the evidence."""
    return all(m in text for m in _ORDINAL.findall(question))


def lexical_coverage(question_tokens: list[str], text: str, bm25: BM25) -> float:
    """IDF-weighted share of the question's tokens that occur in the text."""
    text = text.lower()
    total = hit = 0.0
    for tok in set(question_tokens):
        w = bm25.idf(tok)
        total += w
        if tok in text:
            hit += w
    return hit / total if total else 0.0


def _sentences_of(store: Store, chunks: list[NodeWithScore]) -> dict[str, np.ndarray]:
    ids = []
    for c in chunks:
        meta = c.node.metadata
        text, base = c.node.get_content(), int(meta["start"])
        for a, b in sentence_spans(text):
            a, b = trim_span(text, a, b)
            if b > a:
                ids.append(f"{meta['doc_id']}:{base + a}-{base + b}")
    if not ids:
        return {}
    got = store.sentences.get(ids=list(dict.fromkeys(ids)), include=["embeddings"])
    return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}


class EvidenceScorer:
    """Scores every sentence of the retrieved chunks against the question."""

    # weights and thresholds calibrated on evals/datasets/dev.jsonl (see evals/README.md)
    dense_floor = {"zh": 0.78, "en": 0.70}
    dense_span = {"zh": 0.12, "en": 0.15}
    lexical_weight = {"zh": 0.6, "en": 0.3}
    type_penalty = 0.5

    def __init__(self, store: Store, embedder, min_score: dict[str, float] | None = None):
        self.store = store
        self.embedder = embedder
        self.min_score = min_score or {"zh": 0.55, "en": 0.40}

    def score(self, question: str, chunks: list[NodeWithScore], bm25: BM25) -> EvidenceSet:
        lang = detect_lang(question)
        result = EvidenceSet(question, lang)
        if not chunks:
            result.reason = "nothing retrieved"
            return result
        q_tokens = tokenize(question)
        q_vec = np.asarray(self.embedder.get_query_embedding(question), dtype=np.float32)
        vectors = _sentences_of(self.store, chunks)
        kinds = asked_types(question)
        seen: set[tuple[str, int]] = set()
        for rank, c in enumerate(chunks):
            meta = c.node.metadata
            text, base = c.node.get_content(), int(meta["start"])
            for a, b in sentence_spans(text):
                a, b = trim_span(text, a, b)
                if b - a < 2 or (meta["doc_id"], base + a) in seen:
                    continue
                seen.add((meta["doc_id"], base + a))
                sentence = text[a:b]
                sid = f"{meta['doc_id']}:{base + a}-{base + b}"
                dense = float(vectors[sid] @ q_vec) if sid in vectors else 0.0
                lexical = lexical_coverage(q_tokens, sentence, bm25)
                dense_n = min(max((dense - self.dense_floor[lang]) / self.dense_span[lang], 0.0), 1.0)
                w_lex = self.lexical_weight[lang]
                score = w_lex * lexical + (1 - w_lex) * dense_n + 0.05 / (rank + 1)
                if kinds and not all(has_type(k, sentence, question) for k in kinds):
                    score *= self.type_penalty
                if not numbers_agree(question, sentence):
                    score *= self.type_penalty
                result.ranked.append(Evidence(meta["doc_id"], meta["chunk_id"], base + a, base + b, sentence,
                                              meta.get("section", ""), score, lexical, dense, rank, vectors.get(sid)))
        result.ranked.sort(key=lambda e: e.score, reverse=True)
        if not result.ranked:
            result.reason = "no sentences"
        elif result.ranked[0].score < self.min_score[lang]:
            result.reason = f"best evidence score {result.ranked[0].score:.2f} < {self.min_score[lang]}"
        else:
            result.answerable = True
        return result
