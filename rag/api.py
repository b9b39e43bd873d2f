"""HTTP API: ask (JSON or server-sent events), documents, OpenAI-compatible /v1, health."""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import httpx
from fastapi import Depends, FastAPI, File, HTTPException, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool, iterate_in_threadpool

from rag.config import Settings, get_settings
from rag.store import StoreUnreachable
from rag.schema import (ERROR_RESPONSES, AskRequest, AskResponse, DocumentAdded, DocumentOut, DocumentsAdded,
                        DocumentText, ErrorResponse, RejectedFile, UnknownDocuments, ValidationErrorResponse,
                        streaming_response_doc)

log = logging.getLogger(__name__)
access_log = logging.getLogger("rag.access")


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


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from assets shipped in a wheel: FastAPI's default loads them from a CDN."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")


def create_app(settings: Settings | None = None, pipeline=None, with_ui: bool = False,
               warm_up: bool = False) -> FastAPI:
    from rag.config import prepare_process  # imported here: a separate line from the module's imports keeps merges clean

    settings = settings or get_settings()
    prepare_process()
    app = FastAPI(title="Grounded RAG chatbot", version="0.1.0", docs_url=None, redoc_url=None,
                  responses=ERROR_RESPONSES,
                  description="Answers from the indexed documents only, with citations to exact spans.")
    _offline_docs(app)
    state: dict[str, Any] = {"pipeline": pipeline}

    lock = threading.Lock()

    def get_pipeline():
        with lock:
            if state["pipeline"] is None:
                from rag.pipeline import Pipeline

                state["pipeline"] = Pipeline(settings)
            return state["pipeline"]

    app.state.get_pipeline = get_pipeline

    @app.middleware("http")
    async def log_request(request: Request, call_next):
        """One structured line per request; no question text, document text or keys."""
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:12]
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["x-request-id"] = request_id
        access_log.info(json.dumps({
            "id": request_id, "method": request.method, "route": request.url.path, "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "backend": response.headers.get("x-rag-backend"), "grounding": response.headers.get("x-rag-grounding"),
        }))
        return response
    write_lock = threading.Lock()  # one document change at a time in this process

    def bearer(request: Request) -> str:
        header = request.headers.get("authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else ""

    def check(request: Request, key: str | None, detail: str) -> None:
        if key and not hmac.compare_digest(bearer(request).encode(), key.encode()):
            raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})

    def require_key(request: Request) -> None:
        check(request, settings.api_key, "missing or wrong API key (Authorization: Bearer <key>)")

    def require_admin(request: Request) -> None:
        if settings.admin_key:
            check(request, settings.admin_key, "document changes need the admin key")
        else:
            require_key(request)

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["authorization", "content-type"])
    if warm_up:
        threading.Thread(target=lambda: _warm(get_pipeline), name="warm-up", daemon=True).start()

    async def _store_down(request: Request, exc: Exception):
        log.error("document store unreachable: %s", exc)
        detail = str(exc) if isinstance(exc, StoreUnreachable) else (
            f"cannot reach the Chroma server at {settings.chroma_url}; try again shortly")
        return JSONResponse(status_code=503, content={"detail": detail}, headers={"Retry-After": "5"})

    app.add_exception_handler(StoreUnreachable, _store_down)

    @app.exception_handler(UnknownDocuments)
    async def _unknown_documents(request: Request, exc: UnknownDocuments):
        errors = [{"loc": ["body", "doc_ids"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse(status_code=422, content={"detail": f"doc_ids: {exc}", "errors": errors})
    app.add_exception_handler(httpx.TransportError, _store_down)  # chromadb's HTTP client, mid-request

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
                "backend_status": backend_status, "store": "server" if settings.chroma_url else "embedded",
                "worker_pid": os.getpid()}

    class Rejected(Exception):
        def __init__(self, status_code: int, detail: str):
            self.status_code, self.detail = status_code, detail

    async def read_upload(file: UploadFile) -> tuple[str, str]:
        """(name, text) of one uploaded file, or `Rejected` with the status a single upload answers."""
        from index.loader import SUPPORTED, UnsupportedDocument, parse_document

        name = file.filename or ""
        if not name or name != PurePosixPath(name).name or name != PureWindowsPath(name).name or name in (".", ".."):
            raise Rejected(400, "the file name must be a plain name without folders")
        if PurePosixPath(name).suffix.lower() not in SUPPORTED:
            raise Rejected(415, f"unsupported file type; supported: {', '.join(SUPPORTED)}")
        limit = int(settings.max_upload_mb * 1024 * 1024)
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise Rejected(413, f"the file is larger than {settings.max_upload_mb:g} MB")
        try:
            return name, await run_in_threadpool(parse_document, name, data)
        except UnsupportedDocument as exc:
            raise Rejected(422, str(exc)) from exc

    @app.post("/api/documents", response_model=DocumentAdded | DocumentsAdded, status_code=201,
              dependencies=[Depends(require_admin)],
              responses={400: {"model": ErrorResponse, "description": "Bad file name."},
                         413: {"model": ErrorResponse, "description": "File too large."},
                         415: {"model": ErrorResponse, "description": "Unsupported file type."},
                         422: {"model": ValidationErrorResponse, "description": "Empty or undecodable file."}})
    async def add_document(file: list[UploadFile] = File(..., description=(
            ".txt, .md, .html or .pdf; UTF-8 or GB18030 text. Several `file` parts index them together "
            "(one commit) and answer a summary with each file's result; bad files are listed, not indexed."))):
        from index.ingest import index_documents

        accepted, rejected = [], []
        for upload in file:
            try:
                accepted.append(await read_upload(upload))
            except Rejected as exc:
                rejected.append(RejectedFile(name=upload.filename or "", status_code=exc.status_code,
                                             detail=exc.detail))
        if not accepted:
            codes = {r.status_code for r in rejected}
            detail = rejected[0].detail if len(rejected) == 1 else "; ".join(f"{r.name}: {r.detail}" for r in rejected)
            raise HTTPException(status_code=codes.pop() if len(codes) == 1 else 422, detail=detail)
        pipeline = get_pipeline()

        def write():
            with write_lock:
                started = time.perf_counter()
                results = index_documents(pipeline.store, pipeline.embedder, settings, accepted)
                pipeline.corpus.get()  # the uploader waits for the BM25 refresh, not the next asker
                return results, time.perf_counter() - started

        results, seconds = await run_in_threadpool(write)
        documents = [DocumentAdded(**asdict(info), status=status) for info, status in results]
        if len(file) == 1:
            return documents[0]
        fresh = [(d, info) for d, (info, _) in zip(documents, results) if d.status != "unchanged"]
        return DocumentsAdded(documents=documents, rejected=rejected,
                              added=sum(d.status == "added" for d in documents),
                              replaced=sum(d.status == "replaced" for d in documents),
                              unchanged=sum(d.status == "unchanged" for d in documents),
                              chunks=sum(info.chunks for _, info in fresh), chars=sum(info.chars for _, info in fresh),
                              seconds=round(seconds, 3))

    @app.delete("/api/documents/{doc_id}", status_code=204, dependencies=[Depends(require_admin)],
                responses={404: {"model": ErrorResponse, "description": "No such document."}})
    async def delete_document(doc_id: str):
        pipeline = get_pipeline()

        def delete():
            with write_lock:
                existed = pipeline.store.delete_document(doc_id)
                pipeline.corpus.get()
                return existed

        if not await run_in_threadpool(delete):
            raise HTTPException(status_code=404, detail=f"no document {doc_id!r}")
        return Response(status_code=204)

    @app.get("/api/documents", response_model=list[DocumentOut], dependencies=[Depends(require_key)])
    def list_documents():
        return [DocumentOut(**asdict(d)) for d in get_pipeline().store.list_documents()]

    @app.get("/api/documents/{doc_id}", response_model=DocumentText, dependencies=[Depends(require_key)],
             responses={404: {"model": ErrorResponse, "description": "No such document."}})
    def get_document(doc_id: str):
        store = get_pipeline().store
        info = store.get_document(doc_id)
        if info is None:
            raise HTTPException(status_code=404, detail=f"no document {doc_id!r}")
        return DocumentText(**asdict(info), text=store.document_text(doc_id) or "")

    @app.post("/api/ask", response_model=AskResponse, dependencies=[Depends(require_key)],
              responses={**streaming_response_doc("server-sent events: `delta`… then `done` with this JSON"),
                         422: {"model": ValidationErrorResponse, "description": "Invalid question, history or parameters."}})
    async def ask(request: AskRequest, http_response: Response):
        pipeline = get_pipeline()
        if not request.stream:
            answer = await run_in_threadpool(pipeline.ask, request)
            http_response.headers["x-rag-backend"] = answer.backend
            http_response.headers["x-rag-grounding"] = answer.grounding
            return answer

        events = pipeline.events(request)
        first = await run_in_threadpool(next, events)  # retrieval happens here: a store outage is still a 503

        def sse():
            for kind, payload in itertools.chain([first], events):
                data = {"text": payload} if kind == "delta" else payload.model_dump()
                yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

        return StreamingResponse(iterate_in_threadpool(sse()), media_type="text/event-stream")

    from rag.openai_compat import router

    app.include_router(router(get_pipeline, settings.backend, auth=require_key))

    if with_ui:  # with RAG_API_KEY the page sits behind a sign-in (ui/signin.py); keys stay on the server
        import gradio as gr

        from rag.backends.names import offered
        from ui.app import CSS, JS, build_ui
        from ui.documents import DocumentsApi
        from ui.examples import CorpusExamples
        from ui.signin import install

        sessions = install(app, settings)
        demo = build_ui(get_pipeline, offered(settings.backend), settings.backend, settings.top_k,
                        documents=DocumentsApi(app, settings.api_key, settings.admin_key), sessions=sessions,
                        examples=CorpusExamples(get_pipeline, settings.ui_examples))
        # gradio's own upload limit only bounds the temp file; the API's limit and message apply below it
        app = gr.mount_gradio_app(app, demo, path="/", css=CSS, js=JS, footer_links=[],
                                  auth_dependency=sessions.user if sessions.enabled else None,
                                  max_file_size=int(settings.max_upload_mb * 4 * 1024 * 1024))
    return app


def app_from_env() -> FastAPI:
    """The app factory for `rag serve --workers N`: each worker process builds its own app from `RAG_*`."""
    settings = get_settings()
    return create_app(settings, with_ui=settings.serve_ui, warm_up=True)
