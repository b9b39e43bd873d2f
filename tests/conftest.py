"""Shared fixtures: one real Chroma store built from the real corpus per session."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from evals.live_server import start_server, stop_server  # noqa: E402
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
