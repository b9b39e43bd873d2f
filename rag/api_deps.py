"""What the routers take from their app: settings, the pipeline, the write lock and the key checks.

One `Services` per app, kept on `app.state`, reached through FastAPI dependencies: routers hold no
globals, so two apps in one process (as in tests) never share a pipeline or a key."""

from __future__ import annotations

import hmac
import threading
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from rag.config import Settings


class Services:
    """An app's settings, its pipeline (built on first use: start-up stays fast) and its writer lock."""

    def __init__(self, settings: Settings, pipeline=None):
        self.settings = settings
        self._pipeline = pipeline
        self._build_lock = threading.Lock()
        self.write_lock = threading.Lock()  # one document change at a time in this process

    def pipeline(self):
        with self._build_lock:
            if self._pipeline is None:
                from rag.pipeline import Pipeline

                self._pipeline = Pipeline(self.settings)
            return self._pipeline


def services(request: Request) -> Services:
    return request.app.state.services


AppServices = Annotated[Services, Depends(services)]


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def check_key(request: Request, key: str | None, detail: str) -> None:
    if key and not hmac.compare_digest(bearer(request).encode(), key.encode()):
        raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def require_key(request: Request) -> None:
    check_key(request, services(request).settings.api_key, "missing or wrong API key (Authorization: Bearer <key>)")


def require_admin(request: Request) -> None:
    """Document changes take the admin key when one is set, else the API key."""
    settings = services(request).settings
    if settings.admin_key:
        check_key(request, settings.admin_key, "document changes need the admin key")
    else:
        require_key(request)
