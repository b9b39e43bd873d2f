"""OpenAI-compatible chat endpoint: `POST /v1/chat/completions`, `GET /v1/models`.

The last user message is the question, earlier user/assistant messages are the
history. The answer keeps its `[n]` markers; the citations travel in an extra
top-level `citations` field (and, when streaming, in the final chunk). When
streaming, the deltas are pieces of the verified answer, so what a client
concatenates is exactly the final text.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from rag.api_deps import AppServices, require_key
from rag.backends.names import BACKENDS, offered
from rag.schema import AskRequest, Citation, Message, streaming_response_doc

STREAM_PIECE = 8


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(p.get("text", "") for p in self.content if isinstance(p, dict) and p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [
        {"model": "extractive", "messages": [{"role": "user", "content": "英国哪一年正式加入CPTPP？"}]}]})
    model: str = Field("default", description="An answer backend (see /v1/models); anything else means the server's default.")
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=101)
    stream: StrictBool = False
    doc_ids: list[str] | None = Field(None, description="Extra field: search only these documents (as in /api/ask).")

    @field_validator("messages")
    @classmethod
    def _has_question(cls, v: list[ChatMessageIn]) -> list[ChatMessageIn]:
        if not any(m.role == "user" and m.text().strip() for m in v):
            raise ValueError("messages must contain a user message with text")
        return v


class ChatChoice(BaseModel):
    index: int = 0
    message: dict[str, str]
    finish_reason: str = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: dict[str, int] = Field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
    citations: list[Citation] = Field(default_factory=list, description="Same objects as /api/ask.")
    refused: bool = False
    grounding: str = "verified"


def to_ask_request(body: ChatCompletionRequest) -> AskRequest:
    turns = [m for m in body.messages if m.role in ("user", "assistant") and m.text().strip()]
    last_user = max(i for i, m in enumerate(turns) if m.role == "user")
    try:
        history = [Message(role=m.role, content=m.text()) for m in turns[:last_user]]
        return AskRequest(question=turns[last_user].text(), history=history[-50:], doc_ids=body.doc_ids)
    except ValidationError as exc:  # e.g. a question that is empty once control characters are dropped
        where = lambda loc: loc if loc and loc[0] == "doc_ids" else ("messages", *loc)  # noqa: E731
        raise RequestValidationError([{**e, "loc": ("body", *where(e["loc"]))} for e in exc.errors()]) from exc


router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], dependencies=[Depends(require_key)])


def backend_for(model: str, default_backend: str) -> str:
    """A known backend name picks that backend; anything else ("gpt-4o", "default") the server's default."""
    return model if model in BACKENDS else default_backend


@router.get("/models")
def models(services: AppServices) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "rag"}
                                       for name in offered(services.settings.backend)]}


@router.post("/chat/completions", response_model=ChatCompletion,
             responses=streaming_response_doc("`chat.completion.chunk` events, then `data: [DONE]`"))
async def chat_completions(body: ChatCompletionRequest, services: AppServices):
    request = to_ask_request(body)
    backend = backend_for(body.model, services.settings.backend)
    response = await run_in_threadpool(services.pipeline().ask, request, backend)
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    if not body.stream:
        return ChatCompletion(id=completion_id, created=created, model=response.backend,
                              choices=[ChatChoice(message={"role": "assistant", "content": response.answer})],
                              citations=response.citations, refused=response.refused, grounding=response.grounding)

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": response.backend, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    def events():
        yield chunk({"role": "assistant", "content": ""})
        text = response.answer
        for i in range(0, len(text), STREAM_PIECE):
            yield chunk({"content": text[i : i + STREAM_PIECE]})
        yield chunk({}, "stop", citations=[c.model_dump() for c in response.citations],
                    refused=response.refused, grounding=response.grounding)
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
