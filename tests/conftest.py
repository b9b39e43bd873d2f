"""Shared fixtures: one real Chroma store built from the real corpus per session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from evals.live_server import start_server, stop_server  # noqa: E402
from rag.config import DEFAULT_CORPUS_DIR, REPO_ROOT, Settings, prepare_process  # noqa: E402

prepare_process()

CORPUS_FILE = DEFAULT_CORPUS_DIR / "japan-uk-economic-2plus2.txt"
DEV_SET = REPO_ROOT / "evals" / "datasets" / "dev.jsonl"


def wait_until(condition, timeout: float = 5.0, interval: float = 0.001, what: str = "the condition") -> None:
    """Poll until `condition()` holds; fail after `timeout` seconds (no fixed sleeps for ordering)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(interval)


@pytest.fixture(scope="session")
def corpus_text() -> str:
    return CORPUS_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def dev_rows() -> list[dict]:
    return [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]


class NoSentenceVectors:
    """A store without sentence vectors: evidence scores are lexical only (EvidenceScorer unit tests)."""

    def sentence_vectors(self, spans):
        return {}

    def get_chunks(self, where=None):
        return []  # no document beyond the retrieved chunks: a sentence looks back within its chunk only


class ZeroEmbedder:
    def get_query_embedding(self, text):
        return [0.0, 0.0]


# Set by `make test-server`: the same tests then run against a Chroma server instead of the embedded store.
CHROMA_URL = os.environ.get("RAG_TEST_CHROMA_URL") or None


def evidence_of(doc_text: str, sentence: str, score: float, doc: str = "report", lang: str = "en"):
    """An Evidence for one sentence of `doc_text` at its exact offsets (chunk `doc:0`), as scoring would build it."""
    from rag.evidence import Evidence

    start = doc_text.index(sentence)
    return Evidence(doc, f"{doc}:0", start, start + len(sentence), sentence, "", score, 0.5, 0.8, 0, lang=lang)


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings for a private store: a temp data dir, and on a Chroma server a collection of its own."""
    store = {"chroma_url": CHROMA_URL, "collection": f"t{uuid.uuid4().hex[:16]}"} if CHROMA_URL else {}
    return Settings(data_dir=data_dir, _env_file=None, **{"backend": "extractive", **store, **overrides})


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that points a `rag` subprocess at the same store."""
    env = {**os.environ, "RAG_DATA_DIR": str(settings.data_dir), "RAG_COLLECTION": settings.collection,
           "RAG_BACKEND": settings.backend}
    if settings.chroma_url:
        env["RAG_CHROMA_URL"] = settings.chroma_url
    return env


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


@pytest.fixture
def indexed_copy(indexed_settings, tmp_path) -> Settings:
    """A private copy of the indexed store, for tests that change documents or kill processes."""
    from rag.store import Store

    settings = make_settings(tmp_path / "data")
    if CHROMA_URL:
        Store(indexed_settings).copy_into(Store(settings))
    else:
        # the assembled model (1.1 GB) is only read: the copy links to it instead of holding another one
        shutil.copytree(indexed_settings.data_dir, settings.data_dir, ignore=shutil.ignore_patterns("models"))
        if indexed_settings.models_path.is_dir():
            settings.models_path.symlink_to(indexed_settings.models_path, target_is_directory=True)
    return settings


@pytest.fixture(scope="session")
def live_server(indexed_settings):
    proc, url = start_server(indexed_settings.data_dir, **store_env(indexed_settings))
    yield url
    stop_server(proc)


def store_env(settings: Settings) -> dict[str, str]:
    env = settings_env(settings)
    return {k: env[k] for k in ("RAG_COLLECTION", "RAG_CHROMA_URL", "RAG_BACKEND") if k in env}


@pytest.fixture
def server_factory():
    """Start `rag serve` processes on a settings' store; all are stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(settings: Settings, *args: str, **env) -> tuple[subprocess.Popen, str]:
        proc, url = start_server(settings.data_dir, *args, **store_env(settings), **env)
        procs.append(proc)
        return proc, url

    yield start
    for proc in procs:
        stop_server(proc)


def word_document() -> bytes:
    from io import BytesIO

    from docx import Document

    doc = Document()
    doc.add_heading("年假规定", level=1)
    doc.add_paragraph("员工入职满五年后享有15天带薪年假。")
    table = doc.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Branch", "Visits"), ("Westside", "41,200")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    doc.add_paragraph("Leave must be approved in advance.")
    out = BytesIO()
    doc.save(out)
    return out.getvalue()
