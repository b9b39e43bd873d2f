"""Answer backends behind one small interface, chosen by name and imported lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

from rag.config import Settings
from rag.evidence import EvidenceSet
from rag.schema import Citation


@dataclass
class Draft:
    """A backend's answer: text with [n] markers and the citations they point to."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    grounding: str = "verified"
    notice: str | None = None
    failure: str | None = None  # why a generated answer was replaced by a quote: the grounding policy reads it


class AnswerBackend(Protocol):
    name: str

    def answer(self, question: str, evidence: EvidenceSet, history: list[dict]) -> Iterator[str | Draft]:
        """Yield text deltas as they are produced, then exactly one final Draft."""


BACKENDS = ("extractive", "local", "openai")


class UnavailableBackend:
    """Stands in for an LLM backend that could not start: quotes the sources and says why."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason

    def answer(self, question: str, evidence: EvidenceSet, history: list[dict]) -> Iterator[str | Draft]:
        from rag.backends.extractive import quote

        draft = quote(evidence, f"the {self.name} backend is unavailable ({self.reason}); quoting the sources instead")
        yield draft.text
        yield draft


def get_backend(settings: Settings, name: str | None = None, embedder=None) -> AnswerBackend:
    """Build a backend by name; LLM backends need the embedder for verification."""
    match name or settings.backend:
        case "extractive":
            from rag.backends.extractive import ExtractiveBackend

            return ExtractiveBackend()
        case "local":
            from rag.backends.generative import GroundedLLMBackend
            from rag.llm import local_llm
            from rag.verify import Verifier

            from rag.judge import judge_for

            return GroundedLLMBackend("local", local_llm(settings), Verifier(embedder), settings.grounding.relevance,
                                      judge_for(settings, "local"))
        case "openai":
            from rag.backends.generative import GroundedLLMBackend
            from rag.llm import remote_llm
            from rag.verify import Verifier

            from rag.judge import judge_for

            return GroundedLLMBackend("openai", remote_llm(settings), Verifier(embedder), settings.grounding.relevance,
                                      judge_for(settings, "openai"))
        case other:
            raise ValueError(f"unknown answer backend {other!r}; choose one of {', '.join(BACKENDS)}")
