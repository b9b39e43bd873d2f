"""Quote the best evidence sentences verbatim: always grounded, no model needed."""

from __future__ import annotations

from typing import Iterator

from rag.backends import Draft
from rag.evidence import Evidence, EvidenceSet
from rag.schema import Citation


def cite(evidence: list[Evidence]) -> list[Citation]:
    return [Citation(n=i, doc_id=e.doc_id, chunk_id=e.chunk_id, text=e.text, start=e.start, end=e.end,
                     score=round(e.score, 4), section=e.section) for i, e in enumerate(evidence, 1)]


def quote(evidence: EvidenceSet, fallback_notice: str | None = None, max_sentences: int = 3) -> Draft:
    """The best sentences verbatim; with a notice it stands in for an answer that failed."""
    chosen = evidence.selected(max_sentences)
    citations = cite(chosen)
    body = "".join(f"{c.text}[{c.n}]" for c in citations)
    text = body if evidence.lang == "zh" else f"According to the documents: {body}"
    if fallback_notice:
        return Draft(text=text, citations=citations, grounding="fallback", notice=fallback_notice)
    return Draft(text=text, citations=citations)


class ExtractiveBackend:
    name = "extractive"

    def answer(self, question: str, evidence: EvidenceSet, history: list[dict]) -> Iterator[str | Draft]:
        draft = quote(evidence)
        yield draft.text
        yield draft
