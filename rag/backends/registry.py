"""Build an answer backend by name; each is imported only when asked for (the local one loads a model)."""

from __future__ import annotations

from typing import Callable, Iterator

from rag.backends.base import AnswerBackend, Draft
from rag.backends.names import BACKENDS
from rag.config import Settings
from rag.evidence import EvidenceSet


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


def _extractive(settings: Settings, embedder) -> AnswerBackend:
    from rag.backends.extractive import ExtractiveBackend

    return ExtractiveBackend()


def _grounded(name: str, llm_for: Callable[[Settings], object]) -> Callable[[Settings, object], AnswerBackend]:
    def build(settings: Settings, embedder) -> AnswerBackend:
        from rag.backends.generative import GroundedLLMBackend
        from rag.judge import judge_for
        from rag.verify import Verifier

        return GroundedLLMBackend(name, llm_for(settings), Verifier(embedder), settings.grounding.relevance,
                                  judge_for(settings, name), settings.grounding.copy_check)
    return build


def _local_llm(settings: Settings):
    from rag.llm import local_llm

    return local_llm(settings)


def _remote_llm(settings: Settings):
    from rag.llm import remote_llm

    return remote_llm(settings)


def _fake(settings: Settings, embedder) -> AnswerBackend:
    from rag.backends.fake import fake_backend

    return fake_backend(settings, embedder)


FACTORIES: dict[str, Callable[[Settings, object], AnswerBackend]] = {
    "extractive": _extractive,
    "local": _grounded("local", _local_llm),
    "openai": _grounded("openai", _remote_llm),
    "fake": _fake,
}


def check_name(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"unknown answer backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return name


def get_backend(settings: Settings, name: str | None = None, embedder=None) -> AnswerBackend:
    """Build a backend by name; LLM backends need the embedder for verification."""
    return FACTORIES[check_name(name or settings.backend)](settings, embedder)
