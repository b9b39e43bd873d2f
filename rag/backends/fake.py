"""`RAG_BACKEND=fake`: a deterministic stand-in for the language model, for tests and development.

The stand-in only writes text; everything after it is the real generative path (marker filtering, sentence
verification against the evidence, citation assignment, the grounding policy), so what it exercises is what the
local model goes through, in milliseconds and always the same way."""

from __future__ import annotations

import re
from typing import Callable

from llama_index.core.base.llms.types import ChatMessage

from rag.backends.generative import GroundedLLMBackend
from rag.llm import FakeLLM
from rag.verify import Verifier

_SOURCE = re.compile(r"^\[(\d+)\] (.+)$", re.M)


def sources(messages: list[ChatMessage]) -> list[str]:
    """The numbered sources of the last user turn, as the model sees them."""
    return [text for _, text in _SOURCE.findall(messages[-1].content or "")]


def quote_first_source(messages: list[ChatMessage]) -> str:
    """The default reply: the best source, cited: what a faithful model writes when the answer is in it."""
    found = sources(messages)
    return f"{found[0]}[1]" if found else ""


def fake_backend(settings, embedder, reply: Callable[[list[ChatMessage]], str] = quote_first_source,
                 name: str = "fake") -> GroundedLLMBackend:
    """The generative backend on the fake model, answering `reply(messages)` unless replies are queued on its
    `llm` (no answerability judge: there is no model to ask)."""
    return GroundedLLMBackend(name, FakeLLM(default=reply), Verifier(embedder), settings.grounding.relevance)
