"""`rag` command line: index, ask, serve, docs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from index.setup import ensure_index
from rag.backends.names import BACKENDS
from rag.config import Settings, get_settings, prepare_process


def _settings(args) -> Settings:
    settings = get_settings()
    overrides = {k: v for k, v in {"backend": getattr(args, "backend", None), "top_k": getattr(args, "top_k", None)}.items() if v}
    return settings.model_copy(update=overrides) if overrides else settings


def cmd_index(args) -> int:
    from index.ingest import index_paths
    from rag.store import Store

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] + ([settings.corpus_dir] if args.sample else [])
    paths = paths or [settings.corpus_dir]
    store = Store(settings)
    store.repair()
    report = index_paths(paths, settings, store=store, rebuild=args.rebuild)
    from rag.retrieval import CorpusCache

    CorpusCache(store).get()  # write the BM25 cache now, so a server's first question does not wait for it
    print(report.summary())
    return 0


def cmd_ask(args) -> int:
    from rag.pipeline import Pipeline
    from rag.schema import AskRequest

    settings = _settings(args)
    ensure_index(settings)
    try:
        request = AskRequest(question=args.question, top_k=args.top_k)
    except ValueError as exc:
        print(f"error: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}", file=sys.stderr)
        return 2
    response = Pipeline(settings).ask(request)
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    print(response.answer)
    for c in response.citations:
        print(f"  [{c.n}] {c.doc_id} {c.start}-{c.end}: {c.text}")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    settings = _settings(args)
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    if args.workers > 1 and not settings.chroma_url:
        raise ValueError("several workers need a Chroma server (set RAG_CHROMA_URL, see README 'Scaling out'): "
                         "the embedded store is one process's database")
    ensure_index(settings)
    if settings.backend == "local" and not settings.llm_model_path:
        from rag.model_files import ModelUnavailable, ensure_model

        try:
            ensure_model(settings.models_path)
        except ModelUnavailable as exc:
            print(f"warning: {exc}; answers will quote the sources instead", file=sys.stderr)
    host, port = args.host or settings.host, args.port or settings.port
    logging.getLogger("rag.access").setLevel(logging.INFO)
    print(f"serving on http://{host}:{port} (UI at /, API at /api, health at /healthz)", file=sys.stderr)
    if args.workers > 1:
        # each worker imports the app itself, configured by the same RAG_* environment
        os.environ.update({"RAG_BACKEND": settings.backend, "RAG_SERVE_UI": "0" if args.no_ui else "1"})
        if settings.backend == "local":
            print(f"note: each of the {args.workers} workers loads its own copy of the model (~1.9 GB)", file=sys.stderr)
        uvicorn.run("rag.api:app_from_env", factory=True, host=host, port=port, workers=args.workers,
                    log_level="warning")
        return 0
    from rag.api import create_app

    app = create_app(settings, with_ui=not args.no_ui, warm_up=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def cmd_docs(args) -> int:
    from rag.store import Store

    store = Store(_settings(args))
    if args.docs_cmd == "rm":
        if not store.delete_document(args.doc_id):
            print(f"error: no document {args.doc_id!r}", file=sys.stderr)
            return 1
        print(f"removed {args.doc_id}")
        return 0
    for d in store.list_documents():
        print(f"{d.doc_id}\t{d.name}\t{d.chunks} chunks\t{d.sha256[:12]}")
    return 0


def cmd_migrate(args) -> int:
    """Copy the current store (vectors included, no re-embedding) into a Chroma server."""
    from rag.store import Store

    settings = _settings(args)
    source = Store(settings)
    source.repair()
    target = Store(settings.model_copy(update={"chroma_url": args.to}))
    source.copy_into(target)
    counts = target.counts()
    print(f"copied to {args.to}: {counts['documents']} documents, {counts['chunks']} chunks; "
          f"now serve with RAG_CHROMA_URL={args.to}")
    return 0


def cmd_eval(args) -> int:
    from evals.harness import (DEFAULT_CONFIGS, Config, HttpTarget, InProcessTarget, aggregate, check_thresholds,
                               eval_index, run_datasets, timestamp, write_outputs)
    from evals.report import CONSOLE_METRICS, table
    from rag.config import REPO_ROOT

    fail_under = {}
    for item in args.fail_under or []:
        metric, _, value = item.partition("=")
        try:
            fail_under[metric] = float(value)
        except ValueError:
            print(f"error: --fail-under wants metric=value, got {item!r}", file=sys.stderr)
            return 2
    datasets = [Path(p) for p in (args.dataset or [REPO_ROOT / "evals" / "datasets" / "dev.jsonl"])]
    settings = _settings(args)
    configs = [Config.parse(c, settings.retrieval_mode, settings.top_k) for c in (args.config or DEFAULT_CONFIGS)]

    override = [Path(p).resolve() for p in args.corpus] if args.corpus else None
    for path in override or []:
        if not path.exists():
            raise FileNotFoundError(f"--corpus: no such file or folder: {path}")

    def target_for(corpus):
        """A dataset with a corpus (manifest.json, or --corpus for all) gets an index of its own; otherwise the
        user's index."""
        corpus = override or corpus
        if args.url:
            if corpus:
                print(f"warning: --url: the server's documents are used, not {', '.join(map(str, corpus))}",
                      file=sys.stderr)
            return HttpTarget(args.url, settings.api_key)
        if corpus:
            return InProcessTarget(eval_index(corpus, settings))
        ensure_index(settings)
        return InProcessTarget(settings)

    problems: list[str] = []
    by_dataset = run_datasets(datasets, configs, target_for, problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    summary = {name: {config: aggregate(results) for config, results in by_config.items()}
               for name, by_config in by_dataset.items()}
    out = Path(args.out)
    write_outputs(out, summary, by_dataset, {"when": timestamp(), "datasets": [str(d) for d in datasets],
                                             "target": args.url or "in-process"})
    failures = []
    for name, configs_summary in summary.items():
        print(f"\n{name}\n" + table(configs_summary, CONSOLE_METRICS))
        failures += [f"{name}: {f}" for f in check_thresholds(configs_summary, fail_under)]
    print(f"report: {out / 'report.md'}")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Grounded question answering over your documents.")
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("index", help="index files or folders (default: the bundled corpus)")
    p.add_argument("paths", nargs="*")
    p.add_argument("--rebuild", action="store_true", help="drop every document first")
    p.add_argument("--sample", action="store_true", help="also index the sample corpus (RAG_CORPUS_DIR)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer one question")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the full JSON response")
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--top-k", type=int, dest="top_k")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API (and UI)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--backend", choices=BACKENDS)
    p.add_argument("--no-ui", action="store_true", help="serve only the API")
    p.add_argument("--workers", type=int, default=1, help="worker processes (more than 1 needs RAG_CHROMA_URL)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("eval", help="score datasets × configurations and write a report")
    p.add_argument("--dataset", action="append", help="JSON-lines dataset (repeatable; default: the dev set)")
    p.add_argument("--config", action="append", help="backend[:mode[:top_k]] (repeatable; mode and top_k default to the settings)")
    p.add_argument("--url", help="evaluate a running server through its HTTP API")
    p.add_argument("--corpus", action="append", metavar="PATH",
                   help="index these files or folders for every dataset instead of their manifests' (repeatable)")
    p.add_argument("--out", default="evals/out", help="output folder")
    p.add_argument("--fail-under", action="append", metavar="METRIC=VALUE",
                   help="exit 1 when a metric misses this value (latency and false-refusal: above it)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("migrate", help="copy the store into a Chroma server (see README 'Scaling out')")
    p.add_argument("--to", required=True, metavar="URL", help="the Chroma server, e.g. http://127.0.0.1:8001")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("docs", help="list or remove documents")
    dsub = p.add_subparsers(dest="docs_cmd", required=True)
    dsub.add_parser("list")
    rm = dsub.add_parser("rm")
    rm.add_argument("doc_id")
    p.set_defaults(func=cmd_docs)
    return parser


def main(argv: list[str] | None = None) -> int:
    from rag.store import StoreUnreachable

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    prepare_process()
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, StoreUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
