"""What every answer backend returns (`Draft`) and the interface it implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

from rag.evidence import Evidence, EvidenceSet
from rag.judge import Extraction
from rag.schema import Citation


@dataclass
class Draft:
    """A backend's answer: text with [n] markers and the citations they point to."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    grounding: str = "verified"
    notice: str | None = None
    failure: str | None = None  # why a generated answer was replaced by a quote: the grounding policy reads it
    copied: Extraction | None = None  # for such a quote: the answer the model copied when asked for its span
    copied_from: Evidence | None = None  # and the sentence it read that holds that span (None: none holds it)


class AnswerBackend(Protocol):
    name: str

    def answer(self, question: str, evidence: EvidenceSet, history: list[dict]) -> Iterator[str | Draft]:
        """Yield text deltas as they are produced, then exactly one final Draft."""
