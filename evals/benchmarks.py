"""Benchmarks that write their figures to BENCHMARKS.md (one section per benchmark, replaced in place)."""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import numpy as np

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
            if payload.refused and payload.grounding == "refused" and not payload.citations and first is not None and total < 1:
                stats["gated"].append(total)
                continue
            stats["ttft"].append(first or total)
            stats["total"].append(total)
            stats[payload.grounding if payload.grounding in ("verified", "fallback") else "gated"].append(total)
    lines = [
        f"## LLM generation ({backend} backend)\n",
        f"{len(questions)} single-turn dev-set questions, streamed in-process (`python -m evals.bench llm`). "
        f"Model load (join parts if needed + start llama.cpp): **{load_s:.1f} s**; peak RSS "
        f"{peak_rss_mb():.0f} MB (before loading the model: {rss_before:.0f} MB).\n",
        "| backend | questions sent to generation | TTFT p50 (s) | TTFT p95 (s) | total p50 (s) | total p95 (s) | refused by the gate | verified | fallback |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in figures.items():
        lines.append(f"| {name} | {len(s['total'])} | {pct(s['ttft'], 50)} | {pct(s['ttft'], 95)} | "
                     f"{pct(s['total'], 50)} | {pct(s['total'], 95)} | {len(s['gated'])} | "
                     f"{len(s['verified'])} | {len(s['fallback'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from rag.cli import ensure_index
    from rag.config import get_settings

    parser = argparse.ArgumentParser(prog="python -m evals.benchmarks")
    parser.add_argument("which", choices=["llm"])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--dataset", default=str(REPO_ROOT / "evals" / "datasets" / "dev.jsonl"))
    args = parser.parse_args(argv)
    settings = get_settings()
    ensure_index(settings)
    if args.which == "llm":
        body = bench_llm(settings, Path(args.dataset), limit=args.limit)
        write_section("llm", body)
        print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
