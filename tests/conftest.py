"""Shared fixtures: one real Chroma store built from the real corpus per session."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.config import DEFAULT_CORPUS_DIR, REPO_ROOT, Settings  # noqa: E402

CORPUS_FILE = DEFAULT_CORPUS_DIR / "japan-uk-economic-2plus2.txt"
DEV_SET = REPO_ROOT / "evals" / "datasets" / "dev.jsonl"


@pytest.fixture(scope="session")
def corpus_text() -> str:
    return CORPUS_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def dev_rows() -> list[dict]:
    return [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None, **{"backend": "extractive", **overrides})


@pytest.fixture(scope="session")
def indexed_settings(tmp_path_factory) -> Settings:
    """Settings whose data dir holds the indexed default corpus (built once)."""
    from index.ingest import index_paths

    settings = make_settings(tmp_path_factory.mktemp("rag-data"))
    index_paths([settings.corpus_dir], settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def pipeline(indexed_settings):
    from rag.pipeline import Pipeline

    return Pipeline(indexed_settings)


@pytest.fixture
def fresh_settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, **env_overrides) -> tuple[subprocess.Popen, str]:
    """`rag serve` in a subprocess on a free loopback port; returns (process, base URL).

    Its log goes to `proc.log_path` (a pipe nobody reads would fill up and block the server)."""
    import httpx
    import tempfile

    port = free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(data_dir), "RAG_BACKEND": "extractive", **env_overrides}
    log_path = Path(tempfile.mkstemp(prefix="rag-serve-", suffix=".log")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], env=env,
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


@pytest.fixture(scope="session")
def live_server(indexed_settings):
    proc, url = start_server(indexed_settings.data_dir)
    yield url
    stop_server(proc)


@pytest.fixture
def server_factory():
    """Start `rag serve` processes on demand; all are stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(data_dir: Path, **env) -> tuple[subprocess.Popen, str]:
        proc, url = start_server(data_dir, **env)
        procs.append(proc)
        return proc, url

    yield start
    for proc in procs:
        stop_server(proc)
