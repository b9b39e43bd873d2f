"""The page's documents panel: list, upload, delete, and the full text of a cited document.

Every change goes through the HTTP API's own handlers (called in-process), so a
rejected file gets exactly the server's message and the API's rules apply; the
key is added here, on the server, so the browser never holds it.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import httpx


def _bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


class DocumentsApi:
    def __init__(self, app, api_key: str | None, admin_key: str | None):
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://page.internal",
                                        timeout=None)
        self.read = _bearer(api_key)
        self.write = _bearer(admin_key or api_key)

    async def list(self) -> list[dict[str, Any]]:
        r = await self.client.get("/api/documents", headers=self.read)
        r.raise_for_status()
        return r.json()

    async def get(self, doc_id: str) -> dict[str, Any] | None:
        r = await self.client.get(f"/api/documents/{doc_id}", headers=self.read)
        return r.json() if r.status_code == 200 else None

    async def upload(self, name: str, data: bytes) -> tuple[bool, dict[str, Any] | str]:
        """(True, the added document) or (False, the server's reason)."""
        r = await self.client.post("/api/documents", files={"file": (name, data)}, headers=self.write)
        if r.status_code == 201:
            return True, r.json()
        return False, _detail(r)

    async def delete(self, doc_id: str) -> tuple[bool, str]:
        r = await self.client.delete(f"/api/documents/{doc_id}", headers=self.write)
        return r.status_code == 204, "" if r.status_code == 204 else _detail(r)


def _detail(r: httpx.Response) -> str:
    try:
        detail = r.json().get("detail")
    except ValueError:
        detail = None
    return f"{detail or r.reason_phrase} (HTTP {r.status_code})"


def added_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def table_html(docs: list[dict[str, Any]]) -> str:
    if not docs:
        return ('<div class="empty" id="no-docs">还没有文档。把 .txt .md .html .pdf .docx 文件拖到上面上传（可一次多个）。<br>'
                "No documents yet: drop .txt, .md, .html, .pdf or .docx files above (several at once), "
                "or run <code>rag index PATH</code>.</div>")
    rows = "".join(
        f'<div class="doc" data-doc="{html.escape(d["doc_id"])}"><div class="doc-name">{html.escape(d["name"])}</div>'
        f'<div class="doc-meta">{d["chunks"]:,} 块 chunks · {d["chars"]:,} 字符 chars · '
        f'添加于 added {added_time(d["added"])}</div></div>'
        for d in docs)
    return f'<div class="doc-count">{len(docs)} 个文档 · {len(docs)} document(s)</div>{rows}'


def choices(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["name"], d["doc_id"]) for d in docs]


def upload_rows(rows: list[tuple[str, str, str]]) -> str:
    """One line per file: (name, state in {"wait", "work", "ok", "no"}, message)."""
    icons = {"wait": "·", "work": "⏳", "ok": "✓", "no": "✗"}
    return "".join(
        f'<div class="up up-{state}" data-file="{html.escape(name)}"><span class="up-icon">{icons[state]}</span> '
        f'<b>{html.escape(name)}</b>: <span class="up-msg">{html.escape(message)}</span></div>'
        for name, state, message in rows)


def uploaded_message(doc: dict[str, Any]) -> str:
    what = {"added": "已添加 · added", "replaced": "已替换旧版本 · replaced the old version",
            "unchanged": f"内容已存在 · already indexed as {doc['doc_id']}"}[doc["status"]]
    return f"{what} · {doc['chunks']} chunks, {doc['chars']:,} chars"


def file_name(path: str) -> str:
    return Path(path).name


def fulltext_html(doc: dict[str, Any] | None, start: int, end: int) -> str:
    """The whole document, the cited span marked (scrolled into view by the page's script)."""
    if doc is None:
        return '<div class="empty">这份文档已被删除 · This document has been removed</div>'
    text = doc["text"]
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    return (f'<div class="ft-head">原文 · Full text: <b>{html.escape(doc["name"])}</b> · 字符 {start}–{end} '
            f'of {len(text):,}</div><div class="ft-body">{html.escape(text[:start])}'
            f'<mark id="ft-mark">{html.escape(text[start:end])}</mark>{html.escape(text[end:])}</div>')
