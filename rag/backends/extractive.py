"""Quote the best evidence sentences verbatim: always grounded, no model needed."""

from __future__ import annotations

from typing import Iterator

from rag.backends.base import Draft
from rag.compose import across_lead
from rag.evidence import Evidence, EvidenceSet
from rag.schema import Citation


def cite(evidence: list[Evidence]) -> list[Citation]:
    return [Citation(n=i, doc_id=e.doc_id, chunk_id=e.chunk_id, text=e.text, start=e.start, end=e.end,
                     score=round(e.score, 4), section=e.section) for i, e in enumerate(evidence, 1)]


def quote(evidence: EvidenceSet, fallback_notice: str | None = None, max_sentences: int = 3,
          sentences: list[Evidence] | None = None) -> Draft:
    """The best sentences (or the given ones) verbatim; with a notice it stands in for an answer that failed.

    Across languages a quote cannot answer in the question's language, so it is introduced, in the question's
    language, as passages in the source's language rather than passed off as the answer."""
    question_lang = evidence.lang
    chosen = sentences or evidence.selected(max_sentences)
    citations = cite(chosen)
    body = "".join(("" if i == 0 or (e.lang == "zh" and chosen[i - 1].lang == "zh") else " ") + f"{c.text}[{c.n}]"
                   for i, (e, c) in enumerate(zip(chosen, citations)))  # Chinese sentences run on; others need a space
    lead = across_lead(question_lang, chosen)  # the quoted sentences' own languages say
    text = lead + body if lead or question_lang == "zh" else f"According to the documents: {body}"
    if fallback_notice:
        return Draft(text=text, citations=citations, grounding="fallback", notice=fallback_notice)
    return Draft(text=text, citations=citations)


class ExtractiveBackend:
    name = "extractive"

    def answer(self, question: str, evidence: EvidenceSet, history: list[dict]) -> Iterator[str | Draft]:
        draft = quote(evidence)
        yield draft.text
        yield draft
