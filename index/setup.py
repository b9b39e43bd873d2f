"""First start of a store: repair an interrupted ingestion and add the sample once.

Lives in `index/` (not the command line) because the CLI, the server and the benchmarks all need it."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from rag.config import Settings


def sample_marker(settings: Settings) -> Path:
    """Records that this store has been set up, so the sample is added on the first start only
    (one marker per store: collection, and Chroma server if any)."""
    where = f"-{hashlib.sha1(settings.chroma_url.encode()).hexdigest()[:8]}" if settings.chroma_url else ""
    return settings.data_dir / f"initialized-{settings.collection}{where}"


def ensure_index(settings: Settings) -> None:
    """On a fresh store, index the sample corpus once; never again after that,
    so a user who removed every document does not get the sample back."""
    from index.ingest import index_paths
    from rag.store import Store

    store = Store(settings)
    interrupted = store.repair()
    for name in interrupted:
        print(f"warning: {name} was only partly indexed and has been removed; add it again", file=sys.stderr)
    marker = sample_marker(settings)
    if store.counts()["documents"] == 0:
        if marker.exists():
            print("no documents indexed: add some on the page, with `rag index PATH`, "
                  "or the sample with `rag index --sample`", file=sys.stderr)
            return
        print(f"first start: indexing the sample {settings.corpus_dir}", file=sys.stderr)
        print(index_paths([settings.corpus_dir], settings, store=store).summary(), file=sys.stderr)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
