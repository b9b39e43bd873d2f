"""LLMs behind llama-index's interface: a deterministic fake (tests, `RAG_BACKEND=fake`), the local GGUF model,
OpenAI-compatible servers."""

from __future__ import annotations

import threading
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from llama_index.core.base.llms.generic_utils import (completion_response_to_chat_response,
                                                      stream_completion_response_to_chat_response)
from llama_index.core.base.llms.types import (ChatMessage, ChatResponse, ChatResponseGen, CompletionResponse,
                                              CompletionResponseGen, LLMMetadata, MessageRole)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import PrivateAttr


def chatml(messages: Sequence[ChatMessage]) -> str:
    """Qwen's ChatML template (llama-index's llama.cpp wrapper would default to Llama-2's)."""
    body = "".join(f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages)
    return body + "<|im_start|>assistant\n"


class FakeLLM(CustomLLM):
    """A deterministic stand-in for a language model (unit tests and `RAG_BACKEND=fake`), after simonw/llm's
    MockModel: `enqueue(...)` queues replies, each a text, an exception to raise or a function of the chat
    messages; with the queue empty it answers `default(messages)` (or nothing). Replies stream in small pieces
    like a real model's; every prompt (as the ChatML text a model would read) and every reply is recorded."""

    _replies: deque = PrivateAttr(default_factory=deque)
    _default: Any = PrivateAttr(default=None)
    prompts: list[str] = []
    replies: list[str] = []

    def __init__(self, default: Callable[[list[ChatMessage]], str] | None = None, **kwargs: Any) -> None:
        super().__init__(messages_to_prompt=chatml, **kwargs)
        self._default = default
        self.prompts, self.replies = [], []

    def enqueue(self, *replies: str | Exception | Callable[[list[ChatMessage]], str]) -> "FakeLLM":
        self._replies.extend(replies)
        return self

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=4096, num_output=256, is_chat_model=False, model_name="fake")

    def _reply(self, prompt: str, messages: Sequence[ChatMessage] | None = None) -> str:
        self.prompts.append(prompt)
        reply = self._replies.popleft() if self._replies else self._default
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            reply = reply(list(messages or [ChatMessage(role=MessageRole.USER, content=prompt)]))
        self.replies.append(reply or "")
        return reply or ""

    @staticmethod
    def _pieces(reply: str, size: int = 3) -> CompletionResponseGen:
        return (CompletionResponse(text=reply[: i + size], delta=reply[i : i + size])
                for i in range(0, len(reply), size))

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self._reply(prompt))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        return self._pieces(self._reply(prompt))

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return completion_response_to_chat_response(CompletionResponse(text=self._reply(chatml(messages), messages)))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return stream_completion_response_to_chat_response(self._pieces(self._reply(chatml(messages), messages)))


class LocalServer:
    """The GGUF model served by xllamacpp's in-process llama.cpp server on a loopback port.

    One per process (the model takes ~1.9 GB) with `slots` parallel sequences
    decoded together (continuous batching); concurrent askers queue in front of
    it in a FifoGate (served in arrival order, none fails).
    """

    _instances: dict[tuple, "LocalServer"] = {}

    def __init__(self, model_path, threads: int, context: int, slots: int = 1):
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = context * slots  # each slot keeps the full context window
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.sampling.temp = 0.0
        params.sampling.top_k = 1
        params.n_parallel = slots
        params.cont_batching = True
        params.cache_prompt = True  # a slot reuses the KV cache of the prompt prefix it already holds
        params.verbosity = -1
        self.slots = slots
        self.server = xllamacpp.Server(params)
        self.base_url = self.server.listening_address.rstrip("/") + "/v1"

    def gate(self, max_waiting: int) -> FifoGate:
        """The one queue in front of this server's slots."""
        if getattr(self, "_gate", None) is None:
            self._gate = FifoGate(max_waiting, slots=self.slots)
        return self._gate

    @classmethod
    def get(cls, model_path, threads: int, context: int, slots: int = 1) -> "LocalServer":
        key = (str(model_path), threads, context, slots)
        if key not in cls._instances:
            cls._instances[key] = cls(model_path, threads, context, slots)
        return cls._instances[key]


class ModelBusy(RuntimeError):
    """Too many questions already wait for the local model; the caller quotes the sources instead."""


class FifoGate:
    """First come, first served, `slots` at a time, with a bounded queue.

    llama.cpp's own queue has no bound and its HTTP timeout would also count the
    time spent waiting; here a question waits in line without a clock running,
    and one that would wait behind too many others is turned away at once."""

    def __init__(self, max_waiting: int, slots: int = 1):
        self.max_waiting = max_waiting
        self.slots = slots
        self._cond = threading.Condition()
        self._next = 0  # next ticket to hand out
        self._head = 0  # the oldest ticket not yet started
        self._active = 0  # tickets being served

    @property
    def waiting(self) -> int:
        return self._next - self._head

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._cond:
            if self._active >= self.slots and self.waiting >= self.max_waiting:
                raise ModelBusy(f"the local model is busy ({self._active + self.waiting} questions ahead)")
            ticket = self._next
            self._next += 1
            while self._head != ticket or self._active >= self.slots:
                self._cond.wait()
            self._head += 1
            self._active += 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()


class QueuedLLM(CustomLLM):
    """Any completion LLM behind a FifoGate: fair queueing for a model that serves one question at a time."""

    _inner: Any = PrivateAttr()
    _gate: FifoGate = PrivateAttr()

    def __init__(self, inner, gate: FifoGate, **kwargs: Any) -> None:
        super().__init__(messages_to_prompt=chatml, **kwargs)
        self._inner, self._gate = inner, gate

    @property
    def metadata(self) -> LLMMetadata:
        return self._inner.metadata

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        with self._gate.turn():
            return self._inner.complete(prompt, formatted=True, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        def gen():
            with self._gate.turn():
                yield from self._inner.stream_complete(prompt, formatted=True, **kwargs)

        return gen()


def openai_like(base_url: str, model: str, api_key: str, settings, chat: bool):
    """llama-index's OpenAILike client. `chat=False` sends our ChatML prompt to /v1/completions.

    Also installed as llama-index's default LLM, so nothing falls back to OpenAI's API."""
    from llama_index.core import Settings as LlamaSettings
    from llama_index.llms.openai_like import OpenAILike

    LlamaSettings.llm = llm = OpenAILike(
        model=model, api_base=base_url, api_key=api_key, is_chat_model=chat, is_function_calling_model=False,
        context_window=settings.llm_context, max_tokens=settings.llm_max_tokens, temperature=0.0,
        timeout=settings.llm_timeout, max_retries=settings.llm_retries,
        messages_to_prompt=chatml, completion_to_prompt=lambda text: chatml([ChatMessage(role="user", content=text)]),
    )
    return llm


def local_llm(settings):
    from rag.model_files import check_model_file, ensure_model

    path = check_model_file(settings.llm_model_path) if settings.llm_model_path else ensure_model(settings.models_path)
    server = LocalServer.get(path, settings.llm_threads, settings.llm_context, settings.llm_parallel)
    llm = openai_like(server.base_url, "local", "not-needed", settings, chat=False)
    return QueuedLLM(llm, server.gate(settings.llm_max_waiting))


def remote_llm(settings):
    if not settings.llm_base_url:
        raise ValueError("the openai backend needs RAG_LLM_BASE_URL (an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1)")
    return openai_like(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings, chat=True)
