"""`rag serve` in a subprocess on a free loopback port: for tests and benchmarks that need a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, *args: str, **env_overrides: str) -> tuple[subprocess.Popen, str]:
    """Start and wait for /healthz; returns (process, base URL).

    The log goes to `proc.log_path`: a pipe nobody reads would fill up and block the server."""
    import httpx

    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_BACKEND": "extractive", **env_overrides}
    log_path = Path(tempfile.mkstemp(prefix="rag-serve-", suffix=".log")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        if proc.poll() is not None:
            break
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not start: " + log_path.read_text(errors="replace")[-2000:])


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
