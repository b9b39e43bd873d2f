"""Scale-out: several API workers sharing one Chroma server, and moving a store onto a server.

The server-mode tests run under `make test-server` (which starts `chroma run` on loopback)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from conftest import CHROMA_URL, make_settings, settings_env

needs_server = pytest.mark.skipif(not CHROMA_URL, reason="runs under `make test-server` (a Chroma server)")

EXTRA = "青禾科技年假制度。员工入职满五年后享有15天带薪年假。\n"
QUESTION = "员工入职满五年后有多少天带薪年假？"


@pytest.mark.skipif(bool(CHROMA_URL), reason="embedded store only")
def test_several_workers_need_a_chroma_server(fresh_settings):
    out = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--workers", "2"], capture_output=True,
                         text=True, env=settings_env(fresh_settings), timeout=60)
    assert out.returncode == 2 and "RAG_CHROMA_URL" in out.stderr and "Traceback" not in out.stderr


@needs_server
def test_two_workers_see_each_others_document_changes(indexed_copy, server_factory):
    _, url = server_factory(indexed_copy, "--workers", "2", "--no-ui")
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/api/ask", json={"question": QUESTION}).json()["refused"] is True
        r = client.post("/api/documents", files={"file": ("leave.txt", EXTRA.encode(), "text/plain")})
        assert r.status_code == 201, r.text
        pids, answers = set(), []
        for _ in range(40):  # new connections: the kernel spreads them over both workers
            with httpx.Client(base_url=url, timeout=60) as fresh:
                pids.add(fresh.get("/healthz").json()["worker_pid"])
                answers.append(fresh.post("/api/ask", json={"question": QUESTION}).json())
        assert len(pids) == 2, "both workers should have served requests"
        assert all(not a["refused"] and "15" in a["answer"] for a in answers)
        assert client.delete("/api/documents/leave").status_code == 204
        for _ in range(10):
            with httpx.Client(base_url=url, timeout=60) as fresh:
                assert fresh.post("/api/ask", json={"question": QUESTION}).json()["refused"] is True


@needs_server
def test_migrate_copies_an_embedded_store_onto_the_server(tmp_path):
    from index.ingest import index_paths
    from rag.store import Store

    embedded = make_settings(tmp_path / "data", chroma_url=None)
    doc = tmp_path / "leave.txt"
    doc.write_text(EXTRA, encoding="utf-8")
    index_paths([doc], embedded, progress=False)
    out = subprocess.run([sys.executable, "-m", "rag.cli", "migrate", "--to", CHROMA_URL], capture_output=True,
                         text=True, env=settings_env(embedded), timeout=120)
    assert out.returncode == 0, out.stderr
    served = embedded.model_copy(update={"chroma_url": CHROMA_URL, "data_dir": tmp_path / "served"})
    store = Store(served)
    assert [d.doc_id for d in store.list_documents()] == ["leave"]
    assert store.document_text("leave") == EXTRA
    from rag.pipeline import Pipeline
    from rag.schema import AskRequest

    answer = Pipeline(served).ask(AskRequest(question=QUESTION))
    assert "15" in answer.answer and answer.citations[0].doc_id == "leave"


def test_chroma_server_down_is_503_then_recovers(tmp_path, server_factory):
    """Its own Chroma server, stopped and restarted under a running API."""
    from evals.live_server import start_chroma, stop_server
    from index.ingest import index_paths

    chroma, chroma_url = start_chroma(tmp_path / "chroma")
    try:
        settings = make_settings(tmp_path / "data", chroma_url=chroma_url)
        doc = tmp_path / "leave.txt"
        doc.write_text(EXTRA, encoding="utf-8")
        index_paths([doc], settings, progress=False)
        _, url = server_factory(settings, "--no-ui")
        with httpx.Client(base_url=url, timeout=60) as client:
            assert "15" in client.post("/api/ask", json={"question": QUESTION}).json()["answer"]
            stop_server(chroma)
            for method, path, kwargs in (("POST", "/api/ask", {"json": {"question": QUESTION}}),
                                         ("POST", "/api/ask", {"json": {"question": QUESTION, "stream": True}}),
                                         ("GET", "/api/documents", {})):
                r = client.request(method, path, **kwargs)
                assert r.status_code == 503 and chroma_url in r.json()["detail"]
            out = subprocess.run([sys.executable, "-m", "rag.cli", "docs", "list"], capture_output=True, text=True,
                                 env=settings_env(settings), timeout=60)
            assert out.returncode == 2 and "cannot reach the Chroma server" in out.stderr
            assert "Traceback" not in out.stderr
            chroma, _ = start_chroma(tmp_path / "chroma", port=int(chroma_url.rsplit(":", 1)[1]))
            assert "15" in client.post("/api/ask", json={"question": QUESTION}).json()["answer"]
    finally:
        stop_server(chroma)
