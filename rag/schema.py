"""The public JSON contract of `/api/ask` (also used by the CLI and evals)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_MESSAGES = 50
MAX_DOC_IDS = 200


def _clean(text: str) -> str:
    """Reject text that cannot be processed instead of failing later."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text contains invalid characters (lone surrogates)") from exc
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable() or ord(ch) > 0x9F)


class UnknownDocuments(ValueError):
    """`doc_ids` names documents that are not (or no longer) indexed: a 422, like any invalid field."""

    def __init__(self, doc_ids: list[str]):
        super().__init__(f"unknown document id(s): {', '.join(doc_ids)}")
        self.doc_ids = doc_ids


class Message(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)

    _clean = field_validator("content")(classmethod(lambda cls, v: _clean(v)))


class AskRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"question": "英国哪一年正式加入CPTPP？"}]})

    question: str = Field(description="The question, up to 2,000 characters.")
    history: list[Message] = Field(default_factory=list, max_length=MAX_HISTORY_MESSAGES,
                                   description="Earlier turns, oldest first.")
    top_k: StrictInt | None = Field(None, ge=1, le=50, description="Chunks to retrieve (default from settings).")
    stream: StrictBool = Field(False, description="Answer as server-sent events: `delta`… then `done`.")
    doc_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None, max_length=MAX_DOC_IDS,
        description="Search only these documents (ids from `GET /api/documents`); absent or empty: all. "
                    "An unknown id is a 422.")

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        v = _clean(v).strip()
        if not v:
            raise ValueError("question must not be empty")
        if len(v) > MAX_QUESTION_CHARS:
            raise ValueError(f"question is longer than {MAX_QUESTION_CHARS} characters")
        return v


class Citation(BaseModel):
    n: int
    doc_id: str
    chunk_id: str
    text: str
    start: int
    end: int
    score: float
    section: str = ""


class RetrievedChunk(BaseModel):
    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None


class PolicyTrace(BaseModel):
    """What the grounding policy read, for evaluation and calibration (evals/calibrate.py `--runs`)."""
    pair: str = Field(description="Question language → source language of the best evidence, e.g. `en-zh`.")
    judged: float | None = Field(None, description="The answerability judge's P(the evidence states the answer), "
                                                   "when it was asked (rag/judge.py).")
    strong: bool = Field(False, description="The best evidence reached the pair's `strong` score.")
    failure: str | None = Field(None, description="Why a generated answer was replaced by a quote, when it was.")


class AskResponse(BaseModel):
    answer: str
    refused: bool
    citations: list[Citation]
    backend: str
    grounding: Literal["verified", "fallback", "refused"] = "verified"
    timings_ms: dict[str, float]
    retrieved: list[RetrievedChunk] = Field(default_factory=list, description="Chunks retrieval returned, best first.")
    notice: str | None = None
    reason: str = Field("grounded", description=(
        "Why the answer stands or was refused: `grounded`, or a refusal reason from the grounding policy: "
        "`no_evidence`, `key_term_missing`, `contradiction`, `type_not_filled`, `judged_unanswerable`, "
        "`no_answer_span`, `model_refused`, `echo`, `unsupported` (rag/grounding.py REASONS)."))
    policy: PolicyTrace | None = Field(None, description="What the grounding policy read (absent without evidence).")


class DocumentOut(BaseModel):
    doc_id: str
    name: str
    sha256: str
    chunks: int
    chars: int
    added: float = Field(description="Unix time the document was indexed.")


class DocumentText(DocumentOut):
    text: str = Field(description="The stored text; citation offsets index into it.")


class DocumentAdded(DocumentOut):
    status: Literal["added", "replaced", "unchanged"] = Field(
        description="`unchanged`: the same content was already indexed (under the returned doc_id).")


class RejectedFile(BaseModel):
    name: str
    status_code: int = Field(description="What a single upload of this file would have answered (400, 413, 415, 422).")
    detail: str


class DocumentsAdded(BaseModel):
    """The answer to an upload of several files (one upload of one file answers a `DocumentAdded`)."""

    documents: list[DocumentAdded] = Field(description="The accepted files, in upload order.")
    rejected: list[RejectedFile] = Field(default_factory=list, description="Files that were not indexed, and why.")
    added: int
    replaced: int
    unchanged: int
    chunks: int = Field(description="Chunks written by this upload.")
    chars: int = Field(description="Characters indexed by this upload.")
    seconds: float = Field(description="Time spent indexing (all files are committed together).")


class ErrorResponse(BaseModel):
    detail: str = Field(description="What is wrong, in one sentence.")


class ValidationErrorResponse(ErrorResponse):
    errors: list[dict[str, Any]] = Field(default_factory=list, description="Each invalid field: loc, msg, type.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body could not be parsed."},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key (only when RAG_API_KEY is set)."},
    422: {"model": ValidationErrorResponse, "description": "Invalid input."},
    503: {"model": ErrorResponse, "description": "The Chroma server (RAG_CHROMA_URL) cannot be reached."},
}


def streaming_response_doc(what: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entry for a 200 that is JSON, or server-sent events when `stream` is true."""
    return {200: {"description": f"JSON, or with `\"stream\": true` {what}",
                  "content": {"text/event-stream": {"schema": {
                      "type": "object", "description": "one server-sent event",
                      "properties": {"event": {"type": "string"}, "data": {"type": "string"}}}}}}}
