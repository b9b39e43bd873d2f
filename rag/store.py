"""Chroma holds everything: chunks, sentence vectors and the document registry.

A document exists only once its registry record is written, after all of its
chunks and sentences: readers ignore chunks of unregistered documents, so a
crash mid-indexing never exposes a partial document, and `Store.repair`
removes the leftovers at start-up.

A new version of a registered document is written beside the old one: its
chunks carry the new `version` (readers only take chunks whose version is the
registered one) and its sentence vectors wait under staging ids. Committing
the registry record switches versions at once; `finish_replacement` then
moves the staged sentences into place and drops the old version. A crash
before the switch leaves the old version answering; after it, `repair`
finishes the move.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from rag.config import Settings

log = logging.getLogger(__name__)

_SPACE = {"hnsw:space": "cosine"}
_GET_PAGE = 5000

# Chunk metadata key, set to "sentence" on a chunk whose vector was not embedded from its text but is the mean of
# its sentence vectors (indexed with RAG_DENSE_UNIT=sentence): the dense side must then rank by sentences.
DENSE_UNIT_KEY = "dense_unit"


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    name: str
    sha256: str
    chunks: int
    chars: int
    added: float
    version: str | None = None  # the chunks' version tag; None for documents indexed before versions existed

    @classmethod
    def from_meta(cls, doc_id: str, meta: dict[str, Any]) -> "DocumentInfo":
        return cls(doc_id, meta["name"], meta["sha256"], int(meta["chunks"]), int(meta["chars"]), float(meta["added"]),
                   meta.get("version"))


def _sentence_id(doc_id: str, start: int, end: int, staged_version: str | None = None) -> str:
    """The one sentence-id format; a replacement's sentence vectors wait under a staging id until its
    commit ('@' never occurs in a doc_id)."""
    return f"{doc_id}@{staged_version}:{start}-{end}" if staged_version else f"{doc_id}:{start}-{end}"


def _parse_sentence_id(sid: str) -> tuple[str, int, int, bool]:
    """(doc_id, start, end, staged) of an id made by `_sentence_id`."""
    doc, _, span = sid.rpartition(":")
    start, _, end = span.partition("-")
    doc_id, staged, _ = doc.partition("@")
    return doc_id, int(start), int(end), bool(staged)


@dataclass(frozen=True)
class SentenceVector:
    """One sentence's vector as ingest writes it: its document, its span in the text, and whether it belongs to
    a replacement that is not committed yet (staged)."""

    doc: DocumentInfo
    start: int
    end: int
    vector: Sequence[float]
    staged: bool = False


class StoreUnreachable(RuntimeError):
    """The Chroma server is down or unreachable (the API answers 503, the CLI exits 2)."""


def make_client(settings: Settings):
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                       ssl=url.scheme == "https", settings=chroma_settings)
        except ValueError as exc:  # chromadb's way of saying "connection refused"
            raise StoreUnreachable(f"cannot reach the Chroma server at {settings.chroma_url} ({exc})") from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class Store:
    def __init__(self, settings: Settings, client: Any | None = None):
        self.settings = settings
        self.client = client or make_client(settings)
        name = settings.collection
        self.chunks = self._collection(name)
        self.sentences = self._collection(f"{name}_sentences")
        self.documents = self._collection(f"{name}_documents")

    def _collection(self, name: str):
        return self.client.get_or_create_collection(name, metadata=dict(_SPACE), embedding_function=None)

    @cached_property
    def vector_store(self):
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.chunks)

    # -- change detection ---------------------------------------------------
    def generation(self) -> str:
        """Changes whenever a document is committed or removed (shared by all workers)."""
        meta = self.client.get_collection(self.documents.name, embedding_function=None).metadata or {}
        return str(meta.get("generation", "0"))

    def _bump_generation(self) -> None:
        self.documents.modify(metadata={"generation": uuid.uuid4().hex})

    # -- documents ----------------------------------------------------------
    def list_documents(self) -> list[DocumentInfo]:
        got = self.documents.get(include=["metadatas"])
        docs = [DocumentInfo.from_meta(i, m) for i, m in zip(got["ids"], got["metadatas"])]
        return sorted(docs, key=lambda d: (d.added, d.doc_id))

    def get_document(self, doc_id: str) -> DocumentInfo | None:
        got = self.documents.get(ids=[doc_id], include=["metadatas"])
        return DocumentInfo.from_meta(doc_id, got["metadatas"][0]) if got["ids"] else None

    def find_by_sha256(self, sha256: str) -> DocumentInfo | None:
        got = self.documents.get(where={"sha256": sha256}, include=["metadatas"])
        return DocumentInfo.from_meta(got["ids"][0], got["metadatas"][0]) if got["ids"] else None

    def document_text(self, doc_id: str) -> str | None:
        """Rebuild the text from its chunks: they cover the document exactly."""
        info = self.get_document(doc_id)
        if info is None:
            return None
        rows = sorted((r for r in self.get_chunks(where={"doc_id": doc_id}) if r[2].get("version") == info.version),
                      key=lambda r: int(r[2]["start"]))
        parts, pos = [], 0
        for _, text, meta in rows:
            start = int(meta["start"])
            if start + len(text) > pos:
                parts.append(text[pos - start :])
                pos = start + len(text)
        return "".join(parts)

    def commit_document(self, info: DocumentInfo, embedding: list[float]) -> None:
        self.commit_documents([(info, embedding)])

    def commit_documents(self, batch: list[tuple[DocumentInfo, list[float]]]) -> None:
        """Register several documents in one write and one generation change (one BM25 refresh for all)."""
        if not batch:
            return
        metas = []
        for info, _ in batch:
            meta = {"name": info.name, "sha256": info.sha256, "chunks": info.chunks, "chars": info.chars,
                    "added": info.added}
            if info.version is not None:
                meta["version"] = info.version
            metas.append(meta)
        self.documents.upsert(ids=[i.doc_id for i, _ in batch], embeddings=[e for _, e in batch], metadatas=metas,
                              documents=[i.name for i, _ in batch])
        self._bump_generation()

    def finish_replacement(self, doc_id: str, version: str | None) -> None:
        """After the new version's commit: staged sentence vectors into place, every other version's rows out."""
        staged = self.sentences.get(where={"$and": [{"doc_id": doc_id}, {"staged": True}]},
                                    include=["embeddings", "metadatas"])
        keep = [(m, e) for m, e in zip(staged["metadatas"], staged["embeddings"]) if m.get("version") == version]
        for i in range(0, len(keep), _GET_PAGE):
            part = keep[i : i + _GET_PAGE]
            metas = [{k: v for k, v in m.items() if k != "staged"} for m, _ in part]
            self.sentences.upsert(ids=[_sentence_id(doc_id, int(m["start"]), int(m["end"])) for m in metas],
                                  embeddings=[e for _, e in part], metadatas=metas)
        self.discard_stale(doc_id, version)

    def discard_stale(self, doc_id: str, version: str | None) -> int:
        """Remove a document's rows that are not of `version` (and every staged sentence); returns how many."""
        removed = 0
        for coll in (self.chunks, self.sentences):
            ids = [i for i, _, m in self._iter(coll, where={"doc_id": doc_id})
                   if m.get("version") != version or m.get("staged")]
            for i in range(0, len(ids), _GET_PAGE):
                coll.delete(ids=ids[i : i + _GET_PAGE])
            removed += len(ids)
        return removed

    def delete_document(self, doc_id: str) -> bool:
        existed = bool(self.documents.get(ids=[doc_id])["ids"])
        self.documents.delete(ids=[doc_id])  # unregister first: readers stop seeing it at once
        self.discard_uncommitted(doc_id)
        self._bump_generation()
        return existed

    def discard_uncommitted(self, doc_id: str) -> None:
        self.chunks.delete(where={"doc_id": doc_id})
        self.sentences.delete(where={"doc_id": doc_id})

    def repair(self) -> list[str]:
        """Drop chunks of documents whose indexing never committed and finish or undo interrupted
        replacements; return the names of the documents that were removed (not the replaced ones)."""
        committed = {d.doc_id: d for d in self.list_documents()}
        orphans: dict[str, str] = {}
        unfinished: set[str] = set()
        for coll in (self.chunks, self.sentences):
            for _, _, meta in self._iter(coll):
                doc_id = meta.get("doc_id")
                if doc_id not in committed:
                    orphans[doc_id] = meta.get("doc_name", doc_id)
                elif meta.get("staged") or meta.get("version") != committed[doc_id].version:
                    unfinished.add(doc_id)
        for doc_id, name in orphans.items():
            log.warning("document %r was only partly indexed (interrupted); removed it, please add it again", name)
            self.discard_uncommitted(doc_id)
        for doc_id in sorted(unfinished):
            log.warning("replacing document %r was interrupted; kept the committed version", committed[doc_id].name)
            self.finish_replacement(doc_id, committed[doc_id].version)
        return sorted(orphans.values())

    # -- writes of ingest (registered later by commit_documents) -------------
    def add_chunks(self, nodes: list) -> None:
        """Chunks as llama-index nodes (text, vector, metadata), through llama-index's ChromaVectorStore."""
        if nodes:
            self.vector_store.add(nodes)

    def add_sentences(self, rows: list[SentenceVector]) -> None:
        """Sentence vectors of one or more documents in one write."""
        if not rows:
            return
        ids, metas = [], []
        for r in rows:
            info = r.doc
            ids.append(_sentence_id(info.doc_id, r.start, r.end, info.version if r.staged else None))
            meta = {"doc_id": info.doc_id, "doc_name": info.name, "start": r.start, "end": r.end,
                    "version": info.version}
            if r.staged:
                meta["staged"] = True
            metas.append(meta)
        self.sentences.add(ids=ids, embeddings=[r.vector for r in rows], metadatas=metas)

    def sentence_vectors(self, spans: Iterable[tuple[str, int, int]]) -> dict[tuple[str, int, int], np.ndarray]:
        """The vectors of the sentences at (doc_id, start, end), not a pending replacement's; spans without one are
        left out."""
        keys = {_sentence_id(*span): span for span in spans}
        if not keys:
            return {}
        got = self.sentences.get(ids=list(keys), include=["embeddings"])
        return {keys[i]: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}

    # -- chunk access -------------------------------------------------------
    @staticmethod
    def _pages(coll, where: dict | None = None, include=("metadatas",)):
        offset = 0
        while True:
            got = coll.get(where=where, include=list(include), limit=_GET_PAGE, offset=offset)
            if not len(got["ids"]):
                return
            yield got
            offset += len(got["ids"])

    def _iter(self, coll, where: dict | None = None, include=("metadatas",)):
        for got in self._pages(coll, where, include):
            docs = got.get("documents") or [None] * len(got["ids"])
            yield from zip(got["ids"], docs, got["metadatas"])

    def iter_chunks(self, where: dict | None = None) -> Iterator[tuple[str, str, dict]]:
        """(id, text, metadata) of every chunk, committed or not, fetched page by page."""
        return self._iter(self.chunks, where, include=("documents", "metadatas"))

    def get_chunks(self, where: dict | None = None) -> list[tuple[str, str, dict]]:
        return list(self.iter_chunks(where))

    def nearest_sentences(self, embedding, n: int, doc_ids: list[str] | None = None) -> list[tuple[str, int, int, float]]:
        """(doc_id, start, end, cosine) of the `n` sentences nearest the query vector, best first; a pending
        replacement's staged sentences are left out (they may leave fewer than `n`). The span is read from the id:
        asking Chroma for metadata too costs more than the search."""
        if n <= 0:
            return []
        where = {"doc_id": {"$in": doc_ids}} if doc_ids else None
        got = self.sentences.query(query_embeddings=[embedding], n_results=n, where=where, include=["distances"])
        out = []
        for sid, dist in zip(got["ids"][0], got["distances"][0]):
            doc_id, start, end, staged = _parse_sentence_id(sid)
            if not staged:
                out.append((doc_id, start, end, 1.0 - dist))
        return out

    def copy_into(self, dst: "Store") -> None:
        """Copy every collection, vectors included, e.g. from the embedded store to a Chroma server."""
        for src_coll, dst_coll in ((self.chunks, dst.chunks), (self.sentences, dst.sentences),
                                   (self.documents, dst.documents)):
            for got in self._pages(src_coll, include=("embeddings", "documents", "metadatas")):
                dst_coll.upsert(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                                metadatas=got["metadatas"])
        dst._bump_generation()

    def counts(self) -> dict[str, int]:
        return {"documents": self.documents.count(), "chunks": self.chunks.count()}


def now() -> float:
    return round(time.time(), 3)
