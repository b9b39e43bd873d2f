"""Hybrid retrieval: Chroma dense search + jieba BM25, fused by reciprocal rank.

Chroma is the one source of truth; the BM25 side is derived from it, cached
on disk, and refreshed whenever the store's generation marker changes (which
also keeps several workers sharing one Chroma server consistent): only the
chunks of documents committed since are fetched, with tokens stored at ingest.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Mapping

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.bm25 import BM25, Vocabulary
from rag.config import RetrievalMode, Settings
from rag.schema import UnknownDocuments
from rag.store import DENSE_UNIT_KEY, Store
from rag.text import detect_lang, title_of, tokenize, tokens_key

log = logging.getLogger(__name__)


_KEEP = ("doc_id", "doc_name", "chunk_id", "start", "end", "section", DENSE_UNIT_KEY)
# sentences fetched per chunk wanted when chunks are ranked by their best sentence (a chunk has ~5 sentences and
# shares one with each neighbour, so the nearest sentences name fewer distinct chunks than there are sentences)
_SENTENCES_PER_CHUNK = 3


@dataclass
class _Corpus:
    """Everything derived from Chroma for one generation. Chunks are kept as plain
    (text, metadata) pairs (a TextNode each would cost ~25 kB per chunk at 100k chunks)
    and their tokens as int arrays, so a document change only fetches what changed."""

    generation: str
    docs: frozenset[tuple[str, str, float]]  # (doc_id, sha256, commit time) of the committed documents
    chunks: dict[str, tuple[str, dict]]
    token_ids: dict[str, np.ndarray]
    vocab: Vocabulary
    bm25: BM25
    format: int = 5  # bump when these fields change: caches pickled by older code are then ignored

    @cached_property
    def spans(self) -> dict[str, list[tuple[int, int, str]]]:
        """Each document's chunks as (start, end, chunk_id) by start: which chunk holds a sentence."""
        out: dict[str, list[tuple[int, int, str]]] = {}
        for cid, (_, meta) in self.chunks.items():
            out.setdefault(meta["doc_id"], []).append((int(meta["start"]), int(meta["end"]), cid))
        for rows in out.values():
            rows.sort()
        return out

    @cached_property
    def sentence_unit(self) -> bool:
        """Some chunk has no vector of its own (added with dense_unit "sentence"): rank chunks by sentences."""
        return any(meta.get(DENSE_UNIT_KEY) == "sentence" for _, meta in self.chunks.values())

    @cached_property
    def docs_by_lang(self) -> dict[str, list[str]]:
        """Document ids by their language ("zh"/"en", from their text): which documents another language holds."""
        texts: dict[str, list[str]] = {}
        for text, meta in self.chunks.values():
            texts.setdefault(meta["doc_id"], []).append(text)
        out: dict[str, list[str]] = {}
        for doc_id, parts in sorted(texts.items()):
            out.setdefault(detect_lang("".join(parts)[:4000]), []).append(doc_id)
        return out

    def document_chunks(self, doc_id: str) -> dict[str, tuple[str, dict]]:
        """One document's chunks (from `spans`: no scan of every chunk of the index)."""
        return {cid: self.chunks[cid] for _, _, cid in self.spans.get(doc_id, ())}

    def derive(self) -> "_Corpus":
        """Compute the lookups derived from the chunks before readers or the pickler see this corpus: filled in
        lazily, they would change it while `_save` pickles it ("dictionary changed size during iteration")."""
        _ = self.spans, self.sentence_unit, self.docs_by_lang
        return self

    def node(self, chunk_id: str) -> TextNode:
        text, meta = self.chunks[chunk_id]
        return TextNode(id_=chunk_id, text=text, metadata=dict(meta),
                        start_char_idx=int(meta["start"]), end_char_idx=int(meta["end"]))


def rank_by_best_sentence(hits: Iterable[tuple[str, int, int, float]],
                          spans: Mapping[str, list[tuple[int, int, str]]], k: int) -> list[tuple[str, float]]:
    """The first `k` chunks in order of their best sentence. `hits` are (doc_id, start, end, score), best first;
    `spans` each document's chunks as (start, end, chunk_id) sorted by start (ends rise with starts). A sentence
    counts for every chunk whose [start, end) holds it (neighbours share one); sentences of documents without
    chunks in `spans` (not committed yet) are skipped."""
    best: dict[str, float] = {}
    for doc_id, a, b, score in hits:
        chunks = spans.get(doc_id, ())
        i = bisect_right(chunks, a, key=lambda c: c[0])  # chunks[:i] start at or before the sentence
        while i > 0 and chunks[i - 1][1] > a:  # walk back while chunks reach past the sentence's start
            i -= 1
            start, end, cid = chunks[i]
            if end >= b and cid not in best:
                best[cid] = score
        if len(best) >= k:
            break
    return list(best.items())[:k]


class CorpusCache:
    """The BM25 index and chunk texts of committed documents, refreshed on change."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._corpus: _Corpus | None = None
        settings = store.settings
        where = f"-{hashlib.sha1(settings.chroma_url.encode()).hexdigest()[:8]}" if settings.chroma_url else ""
        self.path = settings.data_dir / f"bm25-{settings.collection}{where}.pkl"

    def get(self) -> _Corpus:
        generation = self.store.generation()
        corpus = self._corpus
        if corpus is not None and corpus.generation == generation:
            return corpus
        with self._lock:
            if self._corpus is None or self._corpus.generation != generation:
                cached = self._load()
                if cached is not None and cached.generation == generation:
                    self._corpus = cached
                else:  # start from what we have: only documents added since are fetched
                    self._corpus = self._refresh(generation, self._corpus or cached).derive()
                    self._save(self._corpus)
                    if self._corpus.sentence_unit and self.store.settings.dense_unit == "chunk":
                        log.warning("some documents were indexed with RAG_DENSE_UNIT=sentence (no chunk vectors): "
                                    "the dense side ranks chunks by their best sentence")
                # The corpus (~10⁵ objects per thousand chunks) lives until the next change: without this, every
                # full collection rescans it, a pause of ~100 ms that lands on whichever request runs (the p99).
                # Frozen objects are still freed by reference counting when a newer corpus replaces them.
                gc.freeze()
            return self._corpus

    def _load(self) -> _Corpus | None:
        if not self.path.exists():
            return None
        try:
            with self.path.open("rb") as fh:
                corpus = pickle.load(fh)
            if isinstance(corpus, _Corpus) and vars(corpus).get("format") == _Corpus.format:
                return corpus
            log.info("BM25 cache %s is from an older version; rebuilding from Chroma", self.path)
        except Exception as exc:  # a corrupt cache is only a cache
            log.warning("BM25 cache %s unreadable (%s); rebuilding from Chroma", self.path, exc)
        return None

    def _refresh(self, generation: str, base: _Corpus | None) -> _Corpus:
        registered = self.store.list_documents()
        version = {d.doc_id: d.version for d in registered}  # a replacement's new chunks wait for its commit
        docs = frozenset((d.doc_id, d.sha256, d.added) for d in registered)
        unchanged = {doc_id for doc_id, _, _ in docs & base.docs} if base else set()
        chunks, token_ids, vocab = {}, {}, base.vocab if base else Vocabulary()
        if base:
            for cid, (text, meta) in base.chunks.items():
                if meta.get("doc_id") in unchanged:
                    chunks[cid], token_ids[cid] = (text, meta), base.token_ids[cid]
        key = tokens_key()
        wanted = {doc_id for doc_id, _, _ in docs} - unchanged
        # a few new documents: fetch just theirs; many (a first build): one pass over everything
        scans = [{"doc_id": d} for d in sorted(wanted)] if len(wanted) <= 20 else [None]
        fresh: dict[str, list[str]] = {}
        for where in scans:
            for cid, text, meta in self.store.iter_chunks(where=where):
                if meta.get("doc_id") in wanted and meta.get("version") == version[meta["doc_id"]]:
                    chunks[cid] = (text, {k: meta[k] for k in _KEEP if k in meta})
                    fresh[cid] = meta[key].split(" ") if meta.get(key) else tokenize(text)
        titles = document_titles(chunks[cid] for cid in fresh)
        common = lower_case_words(chunks[cid] for cid in fresh)
        for cid, tokens in fresh.items():
            text, meta = chunks[cid]
            doc_id = meta["doc_id"]
            inherited = heading_tokens(text, meta, titles.get(doc_id, ""), common.get(doc_id, frozenset()))
            token_ids[cid] = vocab.encode(tokens + inherited)
        ids = list(chunks)
        bm25 = BM25.from_token_ids(ids, [token_ids[c] for c in ids], vocab)
        if self.store.generation() != generation:
            docs = frozenset()  # changed while we read: never reuse this as a base
        return _Corpus(generation, docs, chunks, token_ids, vocab, bm25)

    def _save(self, corpus: _Corpus) -> None:
        try:  # the generation is a random marker, so a cached index is valid wherever it was built
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")  # workers may write at once
            with tmp.open("wb") as fh:
                pickle.dump(corpus, fh)
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("could not write BM25 cache: %s", exc)


def document_titles(chunks: Iterable[tuple[str, dict]]) -> dict[str, str]:
    """Each document's title (`title_of` its first chunk), for the documents whose first chunk is among `chunks`."""
    return {meta["doc_id"]: title for text, meta in chunks
            if int(meta["start"]) == 0 and "\n" in text.strip() and (title := title_of(text))}


def lower_case_words(chunks: Iterable[tuple[str, dict]]) -> dict[str, frozenset[str]]:
    """The words each document writes in lower case in its text: its common words ("meeting", "results"), as
    opposed to the names it always capitalises ("Riverton", "Norvale")."""
    words: dict[str, set[str]] = {}
    for text, meta in chunks:
        words.setdefault(meta["doc_id"], set()).update(_LOWER_WORD.findall(text))
    return {doc_id: frozenset(found) for doc_id, found in words.items()}


_LOWER_WORD = re.compile(r"(?<![A-Za-z])[a-z][a-z]+(?![A-Za-z])")


def heading_tokens(text: str, meta: Mapping, title: str, common: frozenset[str] = frozenset()) -> list[str]:
    """BM25 tokens a chunk inherits from the headings it sits under (its document's title, its section), when its
    own text does not hold them: a sentence deep in a report rarely repeats the report's subject ("Chief executive
    Rachel Imbert said…" under "Norvale Foods Reports Third-Quarter Results"), and a question names it.

    Only the names and numbers are lent, not the words the document writes in lower case (`common`): "Regular
    Meeting Minutes" would otherwise give "meeting" to every chunk of the minutes, and for a question whose answer
    BM25 cannot see (another language's document) they filled the top places. Text without letter case (Chinese)
    lends every token."""
    section = str(meta.get("section", "")).strip()
    heads = dict.fromkeys(h for h in (title, section) if h and h not in text)
    return [token for head in heads for token in tokenize(head) if token not in common]


class HybridRetriever(BaseRetriever):
    """Dense, BM25 or both (RRF). Node scores are the fused scores; the
    per-side scores travel in `node.metadata` as `dense_score` / `bm25_score`.
    With `doc_ids`, both sides search only those documents."""

    def __init__(self, store: Store, embedder, settings: Settings, mode: RetrievalMode | None = None,
                 top_k: int | None = None, corpus: CorpusCache | None = None, snapshot: _Corpus | None = None,
                 doc_ids: list[str] | None = None):
        super().__init__()
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.mode = mode or settings.retrieval_mode
        self.top_k = top_k or settings.top_k
        self.corpus = corpus or CorpusCache(store)
        self.snapshot = snapshot  # a corpus already fetched for this question (one generation check, not two)
        self.doc_ids = sorted(set(doc_ids)) if doc_ids else None

    def _scope(self, corpus: _Corpus) -> set[str] | None:
        """The chunk ids the question may use (None: all); unknown document ids raise."""
        if self.doc_ids is None:
            return None
        wanted, seen, allowed = set(self.doc_ids), set(), set()
        for cid, (_, meta) in corpus.chunks.items():
            if meta.get("doc_id") in wanted:
                seen.add(meta["doc_id"])
                allowed.add(cid)
        if wanted - seen:
            raise UnknownDocuments(sorted(wanted - seen))
        return allowed

    def _dense(self, query: QueryBundle, corpus: _Corpus, k: int,
               doc_ids: list[str] | None = None) -> list[tuple[str, float]]:
        embedding = query.embedding or self.embedder.get_query_embedding(query.query_str)
        query.embedding = embedding
        doc_ids = doc_ids or self.doc_ids
        if self.settings.dense_unit == "sentence" or corpus.sentence_unit:
            # sentence vectors exist in every index, so this works whatever mode the index was built in; extra
            # sentences in case some belong to documents still being indexed
            hits = self.store.nearest_sentences(embedding, k * _SENTENCES_PER_CHUNK + 8, doc_ids)
            return rank_by_best_sentence(hits, corpus.spans, k)
        where = {"doc_id": {"$in": doc_ids}} if doc_ids else None
        # ids and distances only: the texts come from the corpus (asking Chroma for them costs 3x the search);
        # fetch extra in case some hits belong to documents still being indexed
        got = self.store.chunks.query(query_embeddings=[embedding], n_results=k + 8, where=where,
                                      include=["distances"])
        hits = [(cid, 1.0 - dist) for cid, dist in zip(got["ids"][0], got["distances"][0]) if cid in corpus.chunks]
        return hits[:k]

    def _other_language_docs(self, question: str, corpus: _Corpus) -> list[str]:
        """The documents (in scope) written in the other language than the question's."""
        lang = detect_lang(question)
        other = [d for language, docs in corpus.docs_by_lang.items() if language != lang for d in docs]
        return sorted(set(other) & set(self.doc_ids)) if self.doc_ids else other

    def _bm25_weight(self, tokens: list[str], corpus: _Corpus) -> float:
        """Trust BM25 as far as the query's words occur in the corpus at all:
        an English question over Chinese text shares few tokens, and its BM25
        ranking is mostly noise."""
        if not tokens:
            return 0.0
        return self.settings.bm25_weight * sum(t in corpus.bm25.postings for t in tokens) / len(tokens)

    @staticmethod
    def _sparse(tokens: list[str], corpus: _Corpus, k: int, allowed: set[str] | None) -> list[tuple[str, float]]:
        if allowed is None:
            return corpus.bm25.top_tokens(tokens, k)
        scores = corpus.bm25.scores(tokens)
        ids = corpus.bm25.ids
        hits = [i for i in np.flatnonzero(scores > 0).tolist() if ids[i] in allowed]
        hits.sort(key=lambda i: -scores[i])
        return [(ids[i], float(scores[i])) for i in hits[:k]]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        corpus = self.snapshot or self.corpus.get()
        allowed = self._scope(corpus)
        if not corpus.chunks or allowed == set():
            return []
        k = self.top_k
        fetch = max(k * 4, 20)
        dense = self._dense(query_bundle, corpus, fetch) if self.mode in ("hybrid", "dense") else []
        tokens = tokenize(query_bundle.query_str)  # once, for the BM25 ranking and its weight
        sparse = self._sparse(tokens, corpus, fetch, allowed) if self.mode in ("hybrid", "bm25") else []
        fused: dict[str, float] = {}
        for ranking, weight in ((dense, 1.0), (sparse, self._bm25_weight(tokens, corpus))):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (self.settings.rrf_k + rank + 1)
        chosen = sorted(fused, key=fused.get, reverse=True)[:k]
        # e5-small ranks every sentence of the question's language above the other language's (its cosines run
        # ~0.1 higher), and BM25 shares no words across languages: in an index holding both, a document in the
        # other language would never be retrieved. Its best chunks get `cross_language_chunks` of the k places.
        slots = min(self.settings.cross_language_chunks, k - 1)
        other = self._other_language_docs(query_bundle.query_str, corpus) if slots and dense else []
        other_set = set(other)
        held = sum(corpus.chunks[c][1]["doc_id"] in other_set for c in chosen) if other else slots
        if held < slots:  # the other language's places are not filled yet: one more search, in its documents only
            cross = [(c, s) for c, s in self._dense(query_bundle, corpus, slots, other) if c not in chosen]
            extra = cross[:slots - held]
            for rank, (cid, _) in enumerate(extra):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (self.settings.rrf_k + rank + 1)
            chosen = chosen[:k - len(extra)] + [cid for cid, _ in extra]
            dense = dense + extra
        dense_s, sparse_s = dict(dense), dict(sparse)
        out = []
        for cid in chosen:
            node = corpus.node(cid)
            node.metadata.update(dense_score=dense_s.get(cid), bm25_score=sparse_s.get(cid))
            out.append(NodeWithScore(node=node, score=fused[cid]))
        return out
