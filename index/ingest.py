"""Chunk → embed → write, in batches. Idempotent by content hash; each document commits atomically."""

from __future__ import annotations

import hashlib
import re
import time
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np

from index.chunker import chunk_text
from index.loader import SUPPORTED, load_file
from rag.config import Settings
from rag.store import DENSE_UNIT_KEY, DocumentInfo, SentenceVector, Store, now
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


def chunk_node(doc_id: str, name: str, chunk_id: str, version: str | None, chunk, vector,
               from_sentences: bool = False):
    """A chunk as it is stored: text, vector, offsets, section, version tag and its BM25 tokens; a vector made
    `from_sentences` (not embedded from the chunk's text) is marked so retrieval ranks by sentences."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    tokens = tokens_key()  # BM25 tokens, stored once so no worker has to run jieba over the corpus again
    version_tag = {} if version is None else {"version": version}
    unit_tag = {DENSE_UNIT_KEY: "sentence"} if from_sentences else {}
    node = TextNode(
        id_=chunk_id, text=chunk.text, embedding=vector,
        start_char_idx=chunk.start, end_char_idx=chunk.end,
        metadata={"doc_id": doc_id, "doc_name": name, "chunk_id": chunk_id, **version_tag, **unit_tag,
                  "start": chunk.start, "end": chunk.end, "section": chunk.section,
                  tokens: " ".join(tokenize(chunk.text))},
        excluded_embed_metadata_keys=["doc_id", "doc_name", "chunk_id", "version", "start", "end", "section", tokens,
                                      DENSE_UNIT_KEY],
        excluded_llm_metadata_keys=["doc_id", "doc_name", "chunk_id", "version", "start", "end", tokens,
                                    DENSE_UNIT_KEY],
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc_id)
    return node


class PhaseTimer(dict):
    """Seconds spent per ingest phase (for `make bench`: where does indexing time go?)."""

    def add(self, phase: str, started: float) -> float:
        now_ = time.perf_counter()
        self[phase] = self.get(phase, 0.0) + now_ - started
        return now_


@dataclass
class _Pending:
    """One document waiting in a batch: its chunks and sentence spans, and (for a replacement) the old version."""

    info: DocumentInfo
    text: str
    status: str
    chunks: list
    sentences: list[tuple[int, int]]
    slot: int
    vector_sum: np.ndarray | None = None
    sentence_vectors: list = field(default_factory=list)  # dense_unit "sentence": by sentence index, as they come
    sentences_done: int = 0  # sentences are embedded in order: these many have their vector
    chunks_written: int = 0

    @property
    def staged(self) -> bool:
        return self.status == "replaced"

    def chunk_id(self, i: int) -> str:
        # a replacement's chunks must not collide with the old version's, which keep answering until the commit
        prefix = f"{self.info.doc_id}@{self.info.version}" if self.staged else self.info.doc_id
        return f"{prefix}:{i:05d}"

    def texts(self, chunks: bool = True) -> list[tuple["_Pending", str, int]]:
        """What to embed: every sentence, and every chunk unless chunk vectors come from their sentences."""
        return ([(self, "chunk", i) for i in range(len(self.chunks)) if chunks]
                + [(self, "sentence", i) for i in range(len(self.sentences))])

    def ready_chunks(self, final: bool = False) -> range:
        """The chunks not written yet whose sentences all have their vector (all of them when `final`)."""
        n = self.chunks_written
        while n < len(self.chunks) and (
                final or bisect_left(self.sentences, (self.chunks[n].end,)) <= self.sentences_done):
            n += 1
        ready, self.chunks_written = range(self.chunks_written, n), n
        return ready

    def chunk_vector(self, i: int) -> list[float] | None:
        """The normalised mean of the vectors of the sentences chunk `i` holds (of the whole document when it
        holds none); None when the document has no sentence vectors."""
        chunk = self.chunks[i]
        j = bisect_left(self.sentences, (chunk.start, chunk.start))
        vectors = []
        while j < len(self.sentences) and self.sentences[j][0] < chunk.end:
            if self.sentences[j][1] <= chunk.end:
                vectors.append(self.sentence_vectors[j])
            j += 1
        vectors = vectors or [v for v in self.sentence_vectors if v is not None]
        if not vectors:
            return None
        mean = np.mean(np.asarray(vectors, dtype=np.float32), axis=0)
        return (mean / (np.linalg.norm(mean) or 1.0)).tolist()


class BatchIndexer:
    """Indexes many documents with one registry commit (one generation change, one BM25 refresh) per batch.

    Texts of the whole batch are embedded across the engine pool in windows; the next window is embedded
    while the current one is tokenised and written. A document is registered only after all of its rows
    are written, so a crash anywhere leaves each document of the batch fully present or fully absent.
    """

    def __init__(self, store: Store, embedder, settings: Settings, progress=None, timer: PhaseTimer | None = None,
                 max_texts: int = 4096):
        self.store, self.embedder, self.settings = store, embedder, settings
        self.progress = progress  # a tqdm-like object (update(n), total) or None
        self.timer = timer if timer is not None else PhaseTimer()
        self.max_texts = max_texts  # flush when this many texts are pending (memory stays flat)
        self.embed_chunks = settings.dense_unit == "chunk"  # "sentence": each text is embedded once, as sentences
        self.window = max(embedder.embed_batch_size * getattr(embedder, "pool_size", 1) * 2, 32)
        self.pending: list[_Pending] = []
        self.results: list[tuple[DocumentInfo, str] | None] = []  # in the order documents were added

    def add(self, name: str, text: str) -> None:
        t = time.perf_counter()
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        doc_id = doc_id_for(name)
        if any(p.info.doc_id == doc_id for p in self.pending):
            self.flush()  # a second version of a document in the same batch: the first one commits first
        same = next((p.info for p in self.pending if p.info.sha256 == sha), None) or self.store.find_by_sha256(sha)
        if same is not None:
            self.results.append((same, "unchanged"))
            return
        self.results.append(None)
        old = self.store.get_document(doc_id)
        version = sha[:16]
        if old is None:
            self.store.discard_uncommitted(doc_id)  # leftovers of an earlier interrupted run
        else:
            self.store.discard_stale(doc_id, old.version)  # leftovers of an earlier interrupted replacement
        chunks = chunk_text(text, self.settings.chunk_min_chars, self.settings.chunk_max_chars)
        sentences = sorted({trim_span(text, a, b) for c in chunks for a, b in c.sentences})
        sentences = [(a, b) for a, b in sentences if b > a]
        info = DocumentInfo(doc_id, name, sha, len(chunks), len(text), 0.0, version)
        self.pending.append(_Pending(info, text, "added" if old is None else "replaced", chunks, sentences,
                                     len(self.results) - 1))
        self.timer.add("chunk", t)
        if self.progress is not None:
            self.progress.total = (self.progress.total or 0) + len(chunks) * self.embed_chunks + len(sentences)
            self.progress.refresh()
        if sum(len(p.chunks) + len(p.sentences) for p in self.pending) >= self.max_texts:
            self.flush()

    def _text(self, item) -> str:
        doc, kind, i = item
        if kind == "chunk":
            return doc.chunks[i].text
        a, b = doc.sentences[i]
        return doc.text[a:b]

    def _write(self, items, vectors) -> None:
        t = time.perf_counter()
        nodes, sentences = [], []
        for (doc, kind, i), vector in zip(items, vectors):
            info = doc.info
            if kind == "chunk":
                nodes.append(chunk_node(info.doc_id, info.name, doc.chunk_id(i), info.version, doc.chunks[i], vector,
                                        from_sentences=not self.embed_chunks))
                doc.vector_sum = np.asarray(vector) if doc.vector_sum is None else doc.vector_sum + vector
            else:
                a, b = doc.sentences[i]
                sentences.append(SentenceVector(info, a, b, vector, staged=doc.staged))
        t = self.timer.add("tokenize chunks (BM25)", t)
        self.store.add_chunks(nodes)
        t = self.timer.add("write chunks (Chroma)", t)
        self.store.add_sentences(sentences)
        self.timer.add("write sentences (Chroma)", t)

    def _with_sentence_chunks(self, window: list, vectors: list, done: list[_Pending] | None = None):
        """dense_unit "sentence": the window plus every chunk whose sentences now all have their vector (every chunk
        left of the `done` documents), each with the mean of its sentences' vectors (nothing more is embedded).
        Chunks are written as their sentences come, so writes stay small and interleaved with embedding."""
        if self.embed_chunks:
            return window, vectors
        t = time.perf_counter()
        items, out = list(window), list(vectors)
        for (doc, _, i), vector in zip(window, vectors):
            if not doc.sentence_vectors:
                doc.sentence_vectors = [None] * len(doc.sentences)
            doc.sentence_vectors[i] = vector
            doc.sentences_done = i + 1
        docs = done if done is not None else {id(doc): doc for doc, _, _ in window}.values()
        for doc in docs:
            ready = doc.ready_chunks(final=done is not None)
            chunk_vectors = [doc.chunk_vector(i) for i in ready]
            if any(v is None for v in chunk_vectors):  # a document without sentences: embed its chunks after all
                chunk_vectors = self._embed([doc.chunks[i].text for i in ready])
            items += [(doc, "chunk", i) for i in ready]
            out += list(chunk_vectors)
        self.timer.add("chunk vectors (mean of sentences)", t)
        return items, out

    def _embed(self, texts: list[str]) -> list:
        return (getattr(self.embedder, "embed_passages", None) or self.embedder.get_text_embedding_batch)(texts)

    def flush(self) -> None:
        """Embed and write every pending document, then register them all at once."""
        if not self.pending:
            return
        from concurrent.futures import ThreadPoolExecutor

        items = [item for doc in self.pending for item in doc.texts(chunks=self.embed_chunks)]
        windows = [items[i : i + self.window] for i in range(0, len(items), self.window)]
        embed = self._embed
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-ahead") as ahead:
            future = ahead.submit(embed, [self._text(x) for x in windows[0]]) if windows else None
            for k, window in enumerate(windows):
                t = time.perf_counter()
                vectors = future.result()
                self.timer.add("embed (waiting)", t)
                if k + 1 < len(windows):  # the engine works on the next window while this one is written
                    future = ahead.submit(embed, [self._text(x) for x in windows[k + 1]])
                self._write(*self._with_sentence_chunks(window, vectors))
                if self.progress is not None:
                    self.progress.update(len(window))
        if not self.embed_chunks:  # documents without sentences
            self._write(*self._with_sentence_chunks([], [], done=self.pending))
        t = time.perf_counter()
        added = now()
        batch = []
        for doc in self.pending:
            doc.info = replace(doc.info, added=added)
            mean = (doc.vector_sum / max(len(doc.chunks), 1)) if doc.vector_sum is not None else np.zeros(len(batch[0][1]) if batch else 384)
            batch.append((doc.info, mean.tolist()))
        self.store.commit_documents(batch)
        for doc in self.pending:
            if doc.staged:  # the new version is live: move its sentences into place, drop the old version
                self.store.finish_replacement(doc.info.doc_id, doc.info.version)
            self.results[doc.slot] = (doc.info, doc.status)
        self.pending = []
        self.timer.add("commit", t)


def index_documents(store: Store, embedder, settings: Settings, documents: Iterable[tuple[str, str]],
                    progress=None, timer: PhaseTimer | None = None) -> list[tuple[DocumentInfo, str]]:
    """Index (name, text) pairs in batches; returns (info, "added" | "replaced" | "unchanged") in input order."""
    indexer = BatchIndexer(store, embedder, settings, progress=progress, timer=timer)
    for name, text in documents:
        indexer.add(name, text)
    indexer.flush()
    return [r for r in indexer.results if r is not None]


def add_document(store: Store, embedder, settings: Settings, name: str, text: str,
                 progress: bool = False, timer: PhaseTimer | None = None) -> tuple[DocumentInfo, str]:
    """Index one document's text. Returns (info, "added" | "replaced" | "unchanged")."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=0, desc=f"embedding {name}", unit="text", leave=False)
    try:
        return index_documents(store, embedder, settings, [(name, text)], progress=bar, timer=timer)[0]
    finally:
        if bar is not None:
            bar.close()


def index_paths(paths: Iterable[Path], settings: Settings, store: Store | None = None,
                rebuild: bool = False, progress: bool = True) -> IndexReport:
    """Index files and folders in batches, with one progress bar over every text to embed."""
    from rag.embedding import get_embedder

    started = time.perf_counter()
    store = store or Store(settings)
    embedder = get_embedder(settings.embed_threads, settings.embed_batch_size, settings.embed_pool)
    files = expand_paths(paths)
    if rebuild:
        for doc in store.list_documents():
            store.delete_document(doc.doc_id)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=0, desc=f"indexing {len(files)} file{'s' * (len(files) != 1)}", unit="text")
    try:
        results = index_documents(store, embedder, settings, (load_file(p) for p in files), progress=bar)
    finally:
        if bar is not None:
            bar.close()
    report = IndexReport()
    for info, status in results:
        getattr(report, status).append(info.doc_id)
        if status != "unchanged":
            report.chunks += info.chunks
    report.seconds = time.perf_counter() - started
    return report
