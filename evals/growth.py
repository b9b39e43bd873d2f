"""Growth curves: retrieval latency and memory at 1k, 10k and 100k chunks.

Each size runs in a fresh subprocess (so resident memory is that size's alone):
synthetic Chinese chunks are written through the real ingest path into a
temporary Chroma store, then the same dev questions are timed against
Chroma HNSW, an exact numpy dot product, our BM25 and our hybrid retriever.

Chunk vectors are random unit vectors (embedding 100k chunks with the real
model would take hours on 2 cores); query vectors are real. Search cost does
not depend on what the vectors mean, and BM25 sees real jieba tokens.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.config import DEFAULT_CORPUS_DIR, REPO_ROOT

DIM = 384
DOC_CHUNKS = 1000  # synthetic chunks per registered document


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def synthetic_chunks(n: int, seed: int = 0) -> list[str]:
    """Corpus sentences mixed with words drawn from jieba's dictionary by frequency (a Zipf-like vocabulary)."""
    import jieba

    from rag.text import sentence_spans

    rng = random.Random(seed)
    corpus = "".join(p.read_text(encoding="utf-8") for p in sorted(DEFAULT_CORPUS_DIR.glob("*.txt")))
    sentences = [corpus[a:b].strip() for a, b in sentence_spans(corpus) if b - a > 10]
    words, freqs = [], []
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as fh:
        for line in fh:
            w, f, *_ = line.split()
            words.append(w)
            freqs.append(int(f))
    cum = np.cumsum(np.asarray(freqs, dtype=np.float64))
    picks = np.searchsorted(cum, np.random.default_rng(seed).random(n * 40) * cum[-1])
    out = []
    for i in range(n):
        filler = "".join(words[j] for j in picks[i * 40 : i * 40 + rng.randint(20, 40)])
        out.append(f"{rng.choice(sentences)}{filler}。{rng.choice(sentences)}")
    return out


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _write(store, texts: list[str], vectors: np.ndarray, prefix: str = "synthetic") -> float:
    """Chunks as ingest writes them (same nodes, same ChromaVectorStore), one registered document per 1000."""
    from index.chunker import Chunk
    from index.ingest import chunk_node
    from rag.store import DocumentInfo, now

    started = time.perf_counter()
    for d in range(0, len(texts), DOC_CHUNKS):
        doc_id, pos, nodes = f"{prefix}-{d // DOC_CHUNKS:04d}", 0, []
        for i in range(d, min(d + DOC_CHUNKS, len(texts))):
            chunk = Chunk(pos, pos + len(texts[i]), texts[i], "", ())
            pos = chunk.end
            nodes.append(chunk_node(doc_id, doc_id, f"{doc_id}:{i - d:05d}", None, chunk, vectors[i].tolist()))
        store.add_chunks(nodes)
        store.commit_document(DocumentInfo(doc_id, doc_id, doc_id, len(nodes), pos, now()),
                              vectors[d].tolist())
    return time.perf_counter() - started


def _times(fn, queries) -> dict[str, float]:
    fn(queries[0])  # warm
    ms = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - t) * 1000)
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}


def measure(n: int, chroma_url: str | None = None) -> dict:
    """One size, in this process. Returns the figures as a dict."""
    from llama_index.core.schema import QueryBundle

    from evals.dataset import single_turn_questions
    from rag.config import Settings
    from rag.embedding import get_embedder
    from rag.retrieval import CorpusCache, HybridRetriever
    from rag.store import Store

    questions = [q for q, _ in single_turn_questions(REPO_ROOT / "evals" / "datasets" / "dev.jsonl")]
    embedder = get_embedder()
    queries = [(q, np.asarray(embedder.get_query_embedding(q), dtype=np.float32)) for q in questions]
    texts = synthetic_chunks(n)
    vectors = _unit(np.random.default_rng(1), n)
    with tempfile.TemporaryDirectory(prefix="rag-growth-") as tmp:
        settings = Settings(data_dir=Path(tmp), chroma_url=chroma_url, collection=f"growth{n}", _env_file=None)
        store = Store(settings)
        base_rss = rss_mb()
        write_s = _write(store, texts, vectors)
        fig: dict = {"n": n, "store": "server" if chroma_url else "embedded", "write_chunks_per_s": n / write_s}

        def dense(item):  # as the retriever asks: ids and distances only
            store.chunks.query(query_embeddings=[item[1].tolist()], n_results=28, include=["distances"])

        fig["dense_chroma"] = _times(dense, queries)
        fig["rss_after_chroma_mb"] = rss_mb() - base_rss

        t = time.perf_counter()
        cache = CorpusCache(store)
        corpus = cache.get()
        fig["bm25_build_s"] = time.perf_counter() - t
        fig["rss_after_bm25_mb"] = rss_mb() - base_rss
        fig["bm25_cache_mb"] = cache.path.stat().st_size / 2**20
        t = time.perf_counter()
        CorpusCache(store).get()  # what a restarted worker does: load the pickle
        fig["bm25_load_s"] = time.perf_counter() - t
        fig["bm25"] = _times(lambda item: corpus.bm25.top(item[0], 20), queries)
        _write(store, synthetic_chunks(50, seed=2), _unit(np.random.default_rng(2), 50), prefix="added")
        t = time.perf_counter()
        cache.get()  # what the writer does after a new 50-chunk document: an incremental refresh
        fig["bm25_refresh_s"] = time.perf_counter() - t

        retriever = HybridRetriever(store, embedder, settings, mode="hybrid", top_k=5, corpus=cache)
        fig["hybrid"] = _times(lambda item: retriever.retrieve(QueryBundle(item[0], embedding=item[1].tolist())),
                               queries)
        del corpus
        if chroma_url is None:
            matrix = np.array(vectors, dtype=np.float32)  # what an exact search holds in memory

            def exact(item):
                scores = matrix @ item[1]
                top = np.argpartition(-scores, 28)[:28]
                top[np.argsort(-scores[top])]

            fig["dense_exact"] = _times(exact, queries)
            fig["exact_matrix_mb"] = matrix.nbytes / 2**20
        fig["rss_total_mb"] = rss_mb()
    return fig


def run_sizes(sizes: list[int], chroma_url: str | None = None) -> list[dict]:
    """Each size in its own process, for clean memory figures."""
    results = []
    for n in sizes:
        cmd = [sys.executable, "-m", "evals.growth", str(n)] + (["--chroma-url", chroma_url] if chroma_url else [])
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ})
        if out.returncode != 0:
            raise RuntimeError(f"growth run at {n} chunks failed:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  {n} chunks ({results[-1]['store']}): hybrid p50 {results[-1]['hybrid']['p50']:.1f} ms", file=sys.stderr)
    return results


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m evals.growth")
    parser.add_argument("n", type=int)
    parser.add_argument("--chroma-url")
    args = parser.parse_args(argv)
    from rag.config import prepare_process

    prepare_process()
    print(json.dumps(measure(args.n, args.chroma_url)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
