"""LLMs behind llama-index's interface: a fake for tests, the local GGUF model, OpenAI-compatible servers."""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

from llama_index.core.base.llms.types import (ChatMessage, CompletionResponse, CompletionResponseGen, LLMMetadata)
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import PrivateAttr


def chatml(messages: Sequence[ChatMessage]) -> str:
    """Qwen's ChatML template (llama-index's llama.cpp wrapper would default to Llama-2's)."""
    body = "".join(f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n"


class FakeLLM(CustomLLM):
    """Deterministic LLM for tests: answers with queued replies, in small pieces, and records prompts."""

    _replies: deque = PrivateAttr(default_factory=deque)
    prompts: list[str] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(messages_to_prompt=chatml, **kwargs)
        self.prompts = []

    def enqueue(self, *replies: str | Exception) -> "FakeLLM":
        self._replies.extend(replies)
        return self

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=4096, num_output=256, is_chat_model=False, model_name="fake")

    def _next(self, prompt: str) -> str:
        self.prompts.append(prompt)
        reply = self._replies.popleft() if self._replies else ""
        if isinstance(reply, Exception):
            raise reply
        return reply

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._next(prompt))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        reply = self._next(prompt)

        def gen():
            text = ""
            for i in range(0, len(reply), 3):
                text += reply[i : i + 3]
                yield CompletionResponse(text=text, delta=reply[i : i + 3])

        return gen()
