"""Where the data lives (`.rag` in a checkout, the user's data directory when installed as a package), and tuned
constants read from settings."""

from pathlib import Path

import pytest

import rag.config as config
from conftest import NoSentenceVectors, ZeroEmbedder


def test_in_a_checkout_the_data_dir_is_dot_rag_beside_the_code():
    assert (config.REPO_ROOT / "pyproject.toml").is_file()
    assert config.default_data_dir() == config.REPO_ROOT / ".rag"


def test_installed_as_a_package_the_data_dir_is_the_users_not_site_packages(monkeypatch, tmp_path):
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.setattr(config, "REPO_ROOT", site_packages)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home-data"))
    data_dir = config.default_data_dir()
    assert data_dir == tmp_path / "home-data" / "rag-chatbot"
    assert site_packages not in data_dir.parents


def test_the_data_dir_setting_still_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    assert config.Settings(_env_file=None).data_dir == Path(tmp_path)


def test_serve_ui_is_a_setting(monkeypatch):
    monkeypatch.setenv("RAG_SERVE_UI", "0")
    assert config.Settings(_env_file=None).serve_ui is False


def test_the_evidence_scorer_takes_its_tuning_from_settings(monkeypatch):
    from llama_index.core.schema import NodeWithScore, TextNode

    from rag.bm25 import BM25
    from rag.evidence import EvidenceScorer

    monkeypatch.setenv("RAG_EVIDENCE__TYPE_PENALTY", "1.0")
    tuned = config.Settings(_env_file=None).evidence
    assert tuned.type_penalty == 1.0 and tuned.dense_floor == config.EvidenceSettings().dense_floor
    text = "英国已正式加入CPTPP。"  # no year: the asked kind of value is missing
    chunk = NodeWithScore(node=TextNode(text=text, metadata={"doc_id": "d", "chunk_id": "d:0", "start": 0}), score=1.0)
    bm25 = BM25.build(["d:0"], [text])

    def best(tuning) -> float:
        scorer = EvidenceScorer(NoSentenceVectors(), ZeroEmbedder(), tuning)
        return scorer.score("英国哪一年加入CPTPP？", [chunk], bm25).ranked[0].score

    assert best(tuned) == pytest.approx(2 * best(config.EvidenceSettings())) and best(tuned) > 0
