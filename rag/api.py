"""HTTP API: `POST /api/ask` (JSON or server-sent events) and `GET /healthz`."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from dataclasses import asdict

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool, iterate_in_threadpool

from rag.config import Settings, get_settings
from rag.schema import AskRequest, AskResponse, DocumentOut, DocumentText

log = logging.getLogger(__name__)


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _warm(get_pipeline) -> None:
    """Load the index, the embedder and the answer backend before the first question."""
    try:
        get_pipeline().backend()
    except Exception as exc:  # reported on first use; the server still serves
        log.warning("warm-up failed: %s", exc)


def create_app(settings: Settings | None = None, pipeline=None, with_ui: bool = False,
               warm_up: bool = False) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Grounded RAG chatbot", version="0.1.0",
                  description="Answers from the indexed documents only, with citations to exact spans.")
    state: dict[str, Any] = {"pipeline": pipeline}

    lock = threading.Lock()

    def get_pipeline():
        with lock:
            if state["pipeline"] is None:
                from rag.pipeline import Pipeline

                state["pipeline"] = Pipeline(settings)
            return state["pipeline"]

    app.state.get_pipeline = get_pipeline
    if warm_up:
        threading.Thread(target=lambda: _warm(get_pipeline), name="warm-up", daemon=True).start()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": _describe(errors), "errors": errors})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        pipeline = get_pipeline()
        backend_status = pipeline.backend_status()
        status = "degraded" if backend_status.startswith("unavailable") else "ok"
        return {"status": status, **pipeline.store.counts(), "backend": settings.backend,
                "backend_status": backend_status}

    @app.get("/api/documents", response_model=list[DocumentOut])
    def list_documents():
        return [DocumentOut(**asdict(d)) for d in get_pipeline().store.list_documents()]

    @app.get("/api/documents/{doc_id}", response_model=DocumentText,
             responses={404: {"description": "No such document."}})
    def get_document(doc_id: str):
        store = get_pipeline().store
        info = store.get_document(doc_id)
        if info is None:
            raise HTTPException(status_code=404, detail=f"no document {doc_id!r}")
        return DocumentText(**asdict(info), text=store.document_text(doc_id) or "")

    @app.post("/api/ask", response_model=AskResponse,
              responses={422: {"description": "Invalid question, history or parameters."}})
    async def ask(request: AskRequest):
        pipeline = get_pipeline()
        if not request.stream:
            return await run_in_threadpool(pipeline.ask, request)

        def sse():
            for kind, payload in pipeline.events(request):
                data = {"text": payload} if kind == "delta" else payload.model_dump()
                yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

        return StreamingResponse(iterate_in_threadpool(sse()), media_type="text/event-stream")

    if with_ui:
        import gradio as gr

        from rag.backends import BACKENDS
        from ui.app import CSS, JS, build_ui

        demo = build_ui(get_pipeline, list(BACKENDS), settings.backend, settings.top_k)
        app = gr.mount_gradio_app(app, demo, path="/", css=CSS, js=JS, footer_links=[])
    return app
