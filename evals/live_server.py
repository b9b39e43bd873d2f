"""Real servers in subprocesses on free loopback ports, for tests and benchmarks:
`rag serve`, and the Chroma server that ships with chromadb (`chroma run`).

`python -m evals.live_server with-chroma -- CMD...` runs CMD with a fresh Chroma
server whose URL is in `RAG_TEST_CHROMA_URL` (used by `make test-server`)."""

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
    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_BACKEND": "extractive", **env_overrides}
    log_path = Path(tempfile.mkstemp(prefix="rag-serve-", suffix=".log")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url + "/healthz", log_path, "rag serve")
    return proc, url


def wait_ready(proc: subprocess.Popen, url: str, log_path: Path, what: str, timeout: float = 360.0) -> None:
    """Poll `url` until it answers 200, sleeping between tries whatever the answer (a starting server may say 503);
    fail with the end of the log when the process exits or `timeout` seconds pass."""
    import httpx

    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{what} did not start: " + log_path.read_text(errors="replace")[-2000:])


def start_chroma(path: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`chroma run` on a free port, persisting to `path`; returns (process, URL)."""
    port = port or free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log_path = Path(tempfile.mkstemp(prefix="chroma-", suffix=".log")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url + "/api/v2/heartbeat", log_path, "chroma server")
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[:2] != ["with-chroma", "--"]:
        print("usage: python -m evals.live_server with-chroma -- CMD...", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="chroma-server-") as path:
        proc, url = start_chroma(Path(path))
        print(f"chroma server at {url} (data in {path})", file=sys.stderr, flush=True)
        try:
            return subprocess.call(argv[2:], env={**os.environ, "RAG_TEST_CHROMA_URL": url})
        finally:
            stop_server(proc)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
