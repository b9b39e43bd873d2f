"""The HTTP app: routers for ask, documents, OpenAI-compatible /v1 and health, plus logging, errors and the page."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from rag import openai_compat, routes_ask, routes_documents, routes_health
from rag.api_deps import Services
from rag.config import Settings, get_settings
from rag.schema import ERROR_RESPONSES, UnknownDocuments
from rag.store import StoreUnreachable

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


def _install_error_handlers(app: FastAPI, settings: Settings) -> None:
    """Every failure answers a JSON `detail` with a 4xx or 503, never a traceback."""

    async def store_down(request: Request, exc: Exception):
        log.error("document store unreachable: %s", exc)
        detail = str(exc) if isinstance(exc, StoreUnreachable) else (
            f"cannot reach the Chroma server at {settings.chroma_url}; try again shortly")
        return JSONResponse(status_code=503, content={"detail": detail}, headers={"Retry-After": "5"})

    async def unknown_documents(request: Request, exc: UnknownDocuments):
        errors = [{"loc": ["body", "doc_ids"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse(status_code=422, content={"detail": f"doc_ids: {exc}", "errors": errors})

    async def invalid(request: Request, exc: RequestValidationError):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": _describe(errors), "errors": errors})

    app.add_exception_handler(StoreUnreachable, store_down)
    app.add_exception_handler(httpx.TransportError, store_down)  # chromadb's HTTP client, mid-request
    app.add_exception_handler(UnknownDocuments, unknown_documents)
    app.add_exception_handler(RequestValidationError, invalid)


async def _log_request(request: Request, call_next):
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


def _mount_ui(app: FastAPI, settings: Settings, get_pipeline) -> FastAPI:
    """The Gradio page at `/`; with RAG_API_KEY behind a sign-in (ui/signin.py), keys stay on the server."""
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
    return gr.mount_gradio_app(app, demo, path="/", css=CSS, js=JS, footer_links=[],
                               auth_dependency=sessions.user if sessions.enabled else None,
                               max_file_size=int(settings.max_upload_mb * 4 * 1024 * 1024))


def create_app(settings: Settings | None = None, pipeline=None, with_ui: bool = False,
               warm_up: bool = False) -> FastAPI:
    """The API (routers: health, documents, ask, OpenAI-compatible), optionally with the web page."""
    from rag.config import prepare_process  # imported here: a separate line from the module's imports keeps merges clean

    settings = settings or get_settings()
    prepare_process()
    app = FastAPI(title="Grounded RAG chatbot", version="0.1.0", docs_url=None, redoc_url=None,
                  responses=ERROR_RESPONSES,
                  description="Answers from the indexed documents only, with citations to exact spans.")
    _offline_docs(app)
    services = Services(settings, pipeline)
    app.state.services = services
    app.middleware("http")(_log_request)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["authorization", "content-type"])
    if warm_up:
        threading.Thread(target=lambda: _warm(services.pipeline), name="warm-up", daemon=True).start()
    _install_error_handlers(app, settings)
    for router in (routes_health.router, routes_documents.router, routes_ask.router, openai_compat.router):
        app.include_router(router)
    return _mount_ui(app, settings, services.pipeline) if with_ui else app


def app_from_env() -> FastAPI:
    """The app factory for `rag serve --workers N`: each worker process builds its own app from `RAG_*`."""
    settings = get_settings()
    return create_app(settings, with_ui=settings.serve_ui, warm_up=True)
