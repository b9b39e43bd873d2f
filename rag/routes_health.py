"""`GET /healthz`: what a load balancer or an operator checks (open, no key)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter

from rag.api_deps import AppServices

router = APIRouter()


@router.get("/healthz")
def healthz(services: AppServices) -> dict[str, Any]:
    settings, pipeline = services.settings, services.pipeline()
    backend_status = pipeline.backend_status()
    status = "degraded" if backend_status.startswith("unavailable") else "ok"
    return {"status": status, **pipeline.store.counts(), "backend": settings.backend,
            "backend_status": backend_status, "store": "server" if settings.chroma_url else "embedded",
            "worker_pid": os.getpid()}
