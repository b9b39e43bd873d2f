"""Waiting for a server to start: polls at a steady pace whatever it answers, and gives up with its log."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evals.live_server import wait_ready


def serve(statuses: list[int]):
    """A loopback server answering the given statuses in turn (then 200); returns (server, requests seen)."""
    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status = statuses[len(seen)] if len(seen) < len(statuses) else 200
            seen.append(status)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def running_proc():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_503_is_waited_out_without_hammering_the_server(running_proc, tmp_path):
    server, seen = serve([503, 503])
    try:
        wait_ready(running_proc, f"http://127.0.0.1:{server.server_port}/healthz", tmp_path / "log", "test server")
    finally:
        server.shutdown()
    assert seen == [503, 503, 200]  # one request per pause, not a busy loop


def test_a_server_that_never_gets_ready_fails_with_its_log(running_proc, tmp_path):
    server, seen = serve([503] * 1000)
    log = tmp_path / "log"
    log.write_text("still loading the model")
    try:
        with pytest.raises(RuntimeError, match="still loading the model"):
            wait_ready(running_proc, f"http://127.0.0.1:{server.server_port}/healthz", log, "test server", timeout=1.2)
    finally:
        server.shutdown()
    assert 2 <= len(seen) <= 4 and running_proc.poll() is not None  # paced, and the process was stopped
