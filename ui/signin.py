"""Sign-in for the page when `RAG_API_KEY` / `RAG_ADMIN_KEY` are set.

The browser never holds a key: it is posted once to `/login` (never in a URL),
compared in constant time, and answered with an HttpOnly cookie that carries a
role and an expiry signed with an HMAC keyed by the configured keys. Every worker
can check it without shared state, and changing a key signs everyone out. The
HTTP API itself still takes only `Authorization: Bearer`.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import time

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from rag.config import Settings

ADMIN, USER, GUEST = "admin", "user", "guest"
COOKIE = "rag_session"
SESSION_SECONDS = 12 * 3600
# Served whatever the session: the API checks its own bearer key; the sign-in page must be reachable.
UNGATED = ("/api/", "/v1/", "/healthz", "/login", "/logout", "/docs", "/openapi.json")


class Sessions:
    def __init__(self, settings: Settings):
        self.api_key = settings.api_key or ""
        self.admin_key = settings.admin_key or ""
        seed = b"rag-session\0" + self.api_key.encode() + b"\0" + self.admin_key.encode()
        self._secret = hashlib.sha256(seed).digest()

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.admin_key)

    @property
    def required(self) -> bool:
        """The page itself needs a sign-in only when the API does."""
        return bool(self.api_key)

    def role_for_key(self, key: str) -> str | None:
        given = key.encode()
        if self.admin_key and hmac.compare_digest(given, self.admin_key.encode()):
            return ADMIN
        if self.api_key and hmac.compare_digest(given, self.api_key.encode()):
            return USER
        return None

    def _sign(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def issue(self, role: str, now: float | None = None) -> str:
        message = f"{role}.{int((now or time.time()) + SESSION_SECONDS)}"
        return f"{message}.{self._sign(message)}"

    def role(self, request: Request) -> str | None:
        """The signed-in role, or None (no cookie, forged, or expired)."""
        token = request.cookies.get(COOKIE, "")
        message, _, signature = token.rpartition(".")
        role, _, expires = message.partition(".")
        if not (role and expires.isdigit() and hmac.compare_digest(signature, self._sign(message))):
            return None
        return role if int(expires) > time.time() and role in (ADMIN, USER) else None

    def user(self, request: Request) -> str | None:
        """Gradio's `auth_dependency`: who is on the page (None: nothing is served)."""
        role = self.role(request)
        return role or (None if self.required else GUEST)

    def can_change(self, role: str | None) -> bool:
        """Adding and deleting documents from the page: the same rule as the API's."""
        if self.admin_key:
            return role == ADMIN
        return not self.api_key or role in (ADMIN, USER)


def _login_page(message: str = "", admin_only: bool = False) -> str:
    what = "管理员密钥 · admin key" if admin_only else "访问密钥 · access key (RAG_API_KEY or RAG_ADMIN_KEY)"
    note = f'<p class="err">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>登录 · Sign in</title>
<style>body{{font-family:system-ui,sans-serif;background:#f6f8fa;display:flex;justify-content:center;padding-top:12vh}}
form{{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:24px 28px;width:340px}}
h1{{font-size:1.2em;margin:0 0 12px}} input{{width:100%;box-sizing:border-box;padding:8px;margin:6px 0 14px;
border:1px solid #d0d7de;border-radius:6px}} button{{padding:8px 18px;border:0;border-radius:6px;background:#1f6feb;
color:#fff;font-weight:600;cursor:pointer}} .err{{color:#b42318;font-weight:600}} label{{font-size:.9em;color:#57606a}}</style>
</head><body><form method="post" action="/login" id="login">
<h1>文档问答 · Sign in</h1>{note}
<label for="key">{what}</label>
<input id="key" name="key" type="password" autocomplete="current-password" autofocus required>
<button type="submit" id="sign-in">登录 · Sign in</button></form></body></html>"""


def install(app: FastAPI, settings: Settings) -> Sessions:
    """Add /login, /logout and, with `RAG_API_KEY`, a gate in front of every page route."""
    sessions = Sessions(settings)
    if not sessions.enabled:
        return sessions

    @app.get("/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return HTMLResponse(_login_page(admin_only=not sessions.required))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        role = sessions.role_for_key(str(form.get("key") or ""))
        if role is None:
            return HTMLResponse(_login_page("密钥不正确 · Wrong key", admin_only=not sessions.required),
                                status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, sessions.issue(role), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    @app.get("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/login" if sessions.required else "/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    if sessions.required:
        @app.middleware("http")
        async def gate(request: Request, call_next):
            if request.url.path.startswith(UNGATED) or sessions.role(request) is not None:
                return await call_next(request)
            if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                return RedirectResponse("/login", status_code=303)
            return JSONResponse(status_code=401, content={"detail": "sign in first at /login"})

    return sessions
