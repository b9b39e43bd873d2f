"""Metric definitions (see evals/README.md). Pure functions over plain data."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from rag.text import NUMBER, tokenize

_MARKER = re.compile(r"\[\d+\]")
_SPACE = re.compile(r"\s+")


def norm(text: str) -> str:
    return _SPACE.sub("", text).lower()


# Formatting that does not change what an answer says: a thousands separator ("612,000" / "612000") and any
# punctuation between words (quotes, apostrophes, hyphens, commas, full stops: '"cellular" and "humoral"' /
# "cellular and humoral", "polynomial-time" / "polynomial time"). A point or comma between digits that is not a
# thousands separator ("2.4", "1,2") and a dash between digits ("1990-1995") stay, so no number changes value.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")  # hyphens, en and em dashes, minus sign: one "-"
_KEPT = re.compile(r"(?<=\d)[.,-](?=\d)")
_MEANINGFUL = set("%‰#&@/\\*§")  # punctuation by Unicode's category that says something ("15%", "A/B")


def answer_norm(text: str) -> str:
    """Text for the answer check: width-folded (NFKC), lower-cased, without whitespace, thousands separators or
    punctuation, except a point, comma or dash between digits and signs that carry meaning."""
    text = _DASHES.sub("-", unicodedata.normalize("NFKC", text))
    text = _THOUSANDS.sub("", norm(text))
    kept = {m.start() for m in _KEPT.finditer(text)}
    return "".join(ch for i, ch in enumerate(text)
                   if i in kept or ch in _MEANINGFUL or not unicodedata.category(ch).startswith("P"))


def answer_correct(answer: str, answers: list[str], any_of: list[str]) -> bool:
    """Every key in `answers` and one of `any_of` appears in the answer, up to case, whitespace and punctuation."""
    a = answer_norm(answer)
    return all(answer_norm(k) in a for k in answers) and (not any_of or any(answer_norm(k) in a for k in any_of))


def first_hit_rank(retrieved_texts: list[str], evidence: str) -> int | None:
    """1-based rank of the first retrieved text containing the evidence."""
    ev = norm(evidence)
    for rank, text in enumerate(retrieved_texts, 1):
        if ev and ev in norm(text):
            return rank
    return None


def evidence_span(document: str, evidence: str) -> tuple[int, int] | None:
    start = document.find(evidence) if evidence else -1
    return (start, start + len(evidence)) if start >= 0 else None


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


Span = tuple[str | None, tuple[int, int] | None]  # (doc_id, (start, end)) of an evidence string, if found


def _cites(c: dict, span: Span) -> bool:
    doc_id, where = span
    return where is not None and c["doc_id"] == doc_id and overlaps((c["start"], c["end"]), where)


def citation_support(citations: list[dict], evidence: tuple[int, int] | None, doc_id: str | None) -> list[bool]:
    """Per citation: does its span overlap the evidence span of the same document?"""
    return spans_support(citations, [(doc_id, evidence)])


def spans_support(citations: list[dict], spans: list[Span]) -> list[bool]:
    """Per citation: does it overlap any of the evidence spans (a multi-part row has one per part)?"""
    return [any(_cites(c, s) for s in spans) for c in citations]


def locate(docs: dict[str, str], evidence: str) -> Span:
    """The first document holding the evidence string, and its span there."""
    for doc_id, text in docs.items():
        if evidence and (span := evidence_span(text, evidence)):
            return doc_id, span
    return None, None


def covers_all(citations: list[dict], spans: list[Span]) -> bool:
    """Is every evidence span overlapped by at least one citation?"""
    return all(any(_cites(c, s) for c in citations) for s in spans)


def repeated_citation(citations: list[dict]) -> bool:
    """The same (doc_id, start, end) span cited under two numbers."""
    keys = [(c["doc_id"], c["start"], c["end"]) for c in citations]
    return len(set(keys)) < len(keys)


def content_units(text: str) -> set[str]:
    text = _MARKER.sub(" ", text)
    return set(tokenize(text)) | set(NUMBER.findall(text))


def faithfulness(answer: str, cited_texts: list[str]) -> float | None:
    """Share of the answer's content tokens and numbers found in the cited spans."""
    units = content_units(re.sub(r"^(According to the documents|The closest passage in the documents \(\w+\)|文档中最相关的原文（英文）)[:：]\s*", "", answer))
    if not units:
        return None
    support = norm(" ".join(cited_texts))
    return sum(norm(u) in support for u in units) / len(units)


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return float(sum(values) / len(values)) if values else None
