"""Backend names are defined once (rag/backends/names.py); the fake backend answers through the real
verification path without a model."""

from __future__ import annotations

import typing

import pytest

from rag.backends import names
from rag.backends.registry import FACTORIES, get_backend
from rag.cli import build_parser
from rag.config import Settings


def test_every_name_has_a_factory_and_settings_accept_exactly_the_names():
    assert set(FACTORIES) == set(names.BACKENDS)
    field = Settings.model_fields["backend"].annotation
    assert typing.get_args(field) == names.BACKENDS


def test_cli_accepts_exactly_the_names(capsys):
    parser = build_parser()
    for name in names.BACKENDS:
        assert parser.parse_args(["ask", "q", "--backend", name]).backend == name
    with pytest.raises(SystemExit):
        parser.parse_args(["ask", "q", "--backend", "gpt"])
    assert "invalid choice" in capsys.readouterr().err


def test_development_backends_are_offered_only_when_configured():
    assert "fake" not in names.offered("local") and "local" in names.offered("local")
    assert names.offered("fake")[-1] == "fake"


def test_fake_backend_is_selected_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_BACKEND", "fake")
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.backend == "fake"
    assert get_backend(settings, embedder=None).name == "fake"
