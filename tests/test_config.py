"""Where the data lives: `.rag` in a checkout, the user's data directory when installed as a package."""

from pathlib import Path

import rag.config as config


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
