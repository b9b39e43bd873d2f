"""Chunk → embed → write. Idempotent by content hash; a document commits atomically."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from index.chunker import chunk_text
from index.loader import SUPPORTED, load_file
from rag.config import Settings
from rag.store import DocumentInfo, Store, now
from rag.text import tokenize, tokens_key, trim_span


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        docs = len(self.added) + len(self.replaced)
        return (f"indexed {docs} docs ({len(self.unchanged)} unchanged), "
                f"{self.chunks} chunks in {self.seconds:.1f}s")


def doc_id_for(name: str) -> str:
    """A readable, stable id from the file name: same name → same document."""
    stem = Path(name).stem.strip()
    slug = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip("-.").lower()
    return slug or "document"


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED and p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return files


def _embed(embedder, texts: list[str], progress) -> list[list[float]]:
    vectors = embedder.get_text_embedding_batch(texts)
    if progress is not None:
        progress.update(len(texts))
    return vectors


def _node(doc_id: str, name: str, i: int, chunk, vector):
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    chunk_id = f"{doc_id}:{i:05d}"
    tokens = tokens_key()  # BM25 tokens, stored once so no worker has to run jieba over the corpus again
    node = TextNode(
        id_=chunk_id, text=chunk.text, embedding=vector,
        start_char_idx=chunk.start, end_char_idx=chunk.end,
        metadata={"doc_id": doc_id, "doc_name": name, "chunk_id": chunk_id,
                  "start": chunk.start, "end": chunk.end, "section": chunk.section,
                  tokens: " ".join(tokenize(chunk.text))},
        excluded_embed_metadata_keys=["doc_id", "doc_name", "chunk_id", "start", "end", "section", tokens],
        excluded_llm_metadata_keys=["doc_id", "doc_name", "chunk_id", "start", "end", tokens],
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc_id)
    return node


class PhaseTimer(dict):
    """Seconds spent per ingest phase (for `make bench`: where does indexing time go?)."""

    def add(self, phase: str, started: float) -> float:
        now_ = time.perf_counter()
        self[phase] = self.get(phase, 0.0) + now_ - started
        return now_


def add_document(store: Store, embedder, settings: Settings, name: str, text: str,
                 progress: bool = False, timer: PhaseTimer | None = None) -> tuple[DocumentInfo, str]:
    """Index one document's text. Returns (info, "added" | "replaced" | "unchanged")."""
    timer = timer if timer is not None else PhaseTimer()
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    same = store.find_by_sha256(sha)
    if same is not None:
        return same, "unchanged"
    doc_id = doc_id_for(name)
    status = "added"
    if store.get_document(doc_id) is not None:
        store.delete_document(doc_id)
        status = "replaced"

    t = time.perf_counter()
    chunks = chunk_text(text, settings.chunk_min_chars, settings.chunk_max_chars)
    sentences = sorted({trim_span(text, a, b) for c in chunks for a, b in c.sentences})
    sentences = [(a, b) for a, b in sentences if b > a]
    t = timer.add("chunk", t)

    store.discard_uncommitted(doc_id)  # leftovers of an earlier interrupted run
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(chunks) + len(sentences), desc=f"embedding {name}", unit="text", leave=False)
    size = embedder.embed_batch_size
    vector_sum = None
    try:
        # written batch by batch (memory stays flat); readers ignore them until the commit below
        t = time.perf_counter()
        for i in range(0, len(chunks), size):
            batch = chunks[i : i + size]
            vectors = _embed(embedder, [c.text for c in batch], bar)
            t = timer.add("embed chunks", t)
            nodes = [_node(doc_id, name, i + j, c, v) for j, (c, v) in enumerate(zip(batch, vectors))]
            t = timer.add("tokenize chunks (BM25)", t)
            store.vector_store.add(nodes)
            total = np.sum(vectors, axis=0)
            vector_sum = total if vector_sum is None else vector_sum + total
            t = timer.add("write chunks (Chroma)", t)
        for i in range(0, len(sentences), size):
            batch = sentences[i : i + size]
            vectors = _embed(embedder, [text[a:b] for a, b in batch], bar)
            t = timer.add("embed sentences", t)
            store.sentences.add(
                ids=[f"{doc_id}:{a}-{b}" for a, b in batch],
                embeddings=vectors,
                metadatas=[{"doc_id": doc_id, "doc_name": name, "start": a, "end": b} for a, b in batch],
            )
            t = timer.add("write sentences (Chroma)", t)
    finally:
        if bar is not None:
            bar.close()
    info = DocumentInfo(doc_id, name, sha, len(chunks), len(text), now())
    store.commit_document(info, (vector_sum / max(len(chunks), 1)).tolist())
    timer.add("commit", t)
    return info, status


def index_paths(paths: Iterable[Path], settings: Settings, store: Store | None = None,
                rebuild: bool = False, progress: bool = True) -> IndexReport:
    from rag.embedding import get_embedder

    started = time.perf_counter()
    store = store or Store(settings)
    embedder = get_embedder(settings.embed_threads, settings.embed_batch_size)
    files = expand_paths(paths)
    if rebuild:
        for doc in store.list_documents():
            store.delete_document(doc.doc_id)
    report = IndexReport()
    iterator = files
    if progress and len(files) > 1:
        from tqdm import tqdm

        iterator = tqdm(files, desc="documents", unit="doc")
    for path in iterator:
        name, text = load_file(path)
        info, status = add_document(store, embedder, settings, name, text, progress=progress)
        getattr(report, status).append(info.doc_id)
        if status != "unchanged":
            report.chunks += info.chunks
    report.seconds = time.perf_counter() - started
    return report
