"""Run datasets through configurations and score them (`rag eval`).

A configuration is `backend[:mode[:top_k]]` (e.g. `extractive:hybrid:5`, or `extractive` with the
settings' mode and top_k). Runs go
in-process through the same Pipeline the server uses, or against a running
server through the public HTTP API (`--url`), where the server's own
configuration applies.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from evals.dataset import Row, corpus_for, load_dataset
from evals.metrics import (answer_correct, covers_all, faithfulness, first_hit_rank, locate, mean, percentile,
                           repeated_citation, spans_support)

DEFAULT_CONFIGS = ["extractive:hybrid:5", "extractive:dense:5", "extractive:bm25:5", "local:hybrid:5"]
METRICS = [
    "hit@1", "hit@3", "hit@k", "mrr",
    "accuracy", "accuracy_zh", "accuracy_en", "accuracy_multi_turn",
    "accuracy_single", "accuracy_multi", "accuracy_list", "item_recall", "all_items",
    "refusal_accuracy", "false_refusal_rate",
    "offset_validity", "citation_recall", "citation_precision", "parts_cited", "repeated_citation_rate",
    "faithfulness",
    "p50_retrieve_ms", "p95_retrieve_ms", "p50_generate_ms", "p95_generate_ms", "p50_total_ms", "p95_total_ms",
]
HIGHER_IS_WORSE = {"false_refusal_rate", "repeated_citation_rate"} | {m for m in METRICS if m.endswith("_ms")}


@dataclass(frozen=True)
class Config:
    backend: str
    mode: str
    top_k: int

    @classmethod
    def parse(cls, text: str, mode: str = "hybrid", top_k: int = 5) -> "Config":
        """`backend[:mode[:top_k]]`; a part left out (or empty) takes the default given (the user's settings)."""
        from typing import get_args

        from rag.backends.names import BACKENDS
        from rag.config import RetrievalMode

        modes = get_args(RetrievalMode)
        parts = text.split(":")
        backend, given_mode, given_k = (parts + ["", ""])[:3]
        if len(parts) > 3 or backend not in BACKENDS or (given_mode and given_mode not in modes) \
                or (given_k and not given_k.isdigit()):
            raise ValueError(f"config {text!r} is not backend[:mode[:top_k]] (e.g. extractive or extractive:hybrid:5;"
                             f" backends: {', '.join(BACKENDS)}; modes: {', '.join(modes)})")
        return cls(backend, given_mode or mode, int(given_k) if given_k else top_k)

    @property
    def name(self) -> str:
        return f"{self.backend}:{self.mode}:{self.top_k}"


class InProcessTarget:
    def __init__(self, settings):
        from rag.pipeline import Pipeline

        self.pipeline = Pipeline(settings)
        self._texts: dict[str, str | None] = {}

    def ask(self, config: Config, question: str, history: list[dict]) -> dict:
        from rag.schema import AskRequest

        request = AskRequest(question=question, history=history, top_k=config.top_k)
        return self.pipeline.ask(request, backend=config.backend, mode=config.mode).model_dump()

    def reset(self) -> None:
        """Start each configuration cold so latency comparisons are fair."""
        self.pipeline.embedder.clear_cache()

    def documents(self) -> dict[str, str]:
        return {d.doc_id: self.pipeline.store.document_text(d.doc_id) for d in self.pipeline.store.list_documents()}


class HttpTarget:
    def __init__(self, url: str, api_key: str | None = None):
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), timeout=300, headers=headers)

    def ask(self, config: Config, question: str, history: list[dict]) -> dict:
        r = self.client.post("/api/ask", json={"question": question, "history": history, "top_k": config.top_k})
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        pass

    def documents(self) -> dict[str, str]:
        r = self.client.get("/api/documents")
        if r.status_code != 200:
            return {}
        return {d["doc_id"]: self.client.get(f"/api/documents/{d['doc_id']}").json()["text"] for d in r.json()}


def score_turn(row: Row, turn_index: int, response: dict, docs: dict[str, str]) -> dict[str, Any]:
    turn = row.turns[turn_index]
    answerable = not row.unanswerable
    citations = response.get("citations", [])
    answer = response.get("answer", "")
    evidence = [locate(docs, turn.evidence)] if turn.evidence else []
    part_spans = [locate(docs, p.evidence) for p in row.required_parts if p.evidence] if not row.multi_turn else []
    support = spans_support(citations, evidence + part_spans)  # a citation of any required part supports
    retrieved = [c["text"] for c in response.get("retrieved", [])]
    refused = bool(response.get("refused"))
    answered = answerable and not refused
    itemised = answerable and row.kind in ("multi", "list") and not row.multi_turn
    items = None
    parts_cited = None
    if itemised:
        required = row.required_parts
        items = ([answer_correct(answer, p.answers, p.any) for p in required] if row.parts
                 else [answer_correct(answer, [k], []) for k in turn.answers])
        spans = part_spans if row.parts else evidence
        if answered and spans:
            parts_cited = covers_all(citations, spans)
    return {
        "row": row.id, "turn": turn_index, "lang": row.lang, "multi_turn": row.multi_turn, "kind": row.kind,
        "unanswerable": row.unanswerable, "question": turn.question, "answer": answer,
        "refused": refused, "grounding": response.get("grounding"), "reason": response.get("reason"),
        "policy": response.get("policy"),
        "correct": (refused if row.unanswerable else
                    (not refused and answer_correct(answer, turn.answers, turn.any) and all(items or []))),
        "hit_rank": first_hit_rank(retrieved, turn.evidence) if answerable and turn.evidence else None,
        "retrieved_n": len(retrieved),
        "offsets_valid": [docs.get(c["doc_id"], "")[c["start"]:c["end"]] == c["text"] for c in citations] if docs else [],
        "citation_supported": support if answered else [],
        "items": items,
        "parts_cited": parts_cited,
        "repeated_citation": repeated_citation(citations) if not refused and citations else None,
        "faithfulness": faithfulness(answer, [c["text"] for c in citations]) if answered and citations else None,
        "timings_ms": response.get("timings_ms", {}),
    }


def aggregate(results: list[dict]) -> dict[str, float | None]:
    ok = [r for r in results if "error" not in r]
    ans = [r for r in ok if not r["unanswerable"]]
    ranked = [r for r in ans if r["hit_rank"] is not None or r["retrieved_n"]]
    ranks = [r["hit_rank"] for r in ranked]

    def share(items, pred):
        return sum(1 for i in items if pred(i)) / len(items) if items else None

    itemised = [r for r in ans if r.get("items") is not None]
    cited = [r for r in ans if r["citation_supported"]]
    all_support = [s for r in cited for s in r["citation_supported"]]
    offsets = [v for r in ok for v in r["offsets_valid"]]
    timing = {k: [r["timings_ms"].get(k) for r in ok if r["timings_ms"].get(k) is not None]
              for k in ("retrieve", "generate", "total")}
    out = {
        "hit@1": share(ranks, lambda k: k is not None and k <= 1),
        "hit@3": share(ranks, lambda k: k is not None and k <= 3),
        "hit@k": share(ranks, lambda k: k is not None),
        "mrr": mean([1 / k if k else 0.0 for k in ranks]) if ranks else None,
        "accuracy": share(ans, lambda r: r["correct"]),
        "accuracy_zh": share([r for r in ans if r["lang"] == "zh" and not r["multi_turn"]], lambda r: r["correct"]),
        "accuracy_en": share([r for r in ans if r["lang"] == "en" and not r["multi_turn"]], lambda r: r["correct"]),
        "accuracy_multi_turn": share([r for r in ans if r["multi_turn"]], lambda r: r["correct"]),
        **{f"accuracy_{kind}": share([r for r in ans if r.get("kind", "single") == kind and not r["multi_turn"]],
                                     lambda r: r["correct"]) for kind in ("single", "multi", "list")},
        "item_recall": mean([sum(r["items"]) / len(r["items"]) for r in itemised if r["items"]]),
        "all_items": share(itemised, lambda r: not r["refused"] and all(r["items"])),
        "refusal_accuracy": share([r for r in ok if r["unanswerable"]], lambda r: r["refused"]),
        "false_refusal_rate": share(ans, lambda r: r["refused"]),
        "offset_validity": share(offsets, bool),
        "citation_recall": share([r for r in ans if not r["refused"]], lambda r: any(r["citation_supported"])),
        "citation_precision": share(all_support, bool),
        "parts_cited": share([r for r in itemised if r.get("parts_cited") is not None], lambda r: r["parts_cited"]),
        "repeated_citation_rate": share([r for r in ok if r.get("repeated_citation") is not None],
                                        lambda r: r["repeated_citation"]),
        "faithfulness": mean([r["faithfulness"] for r in ans]),
    }
    for k, values in timing.items():
        out[f"p50_{k}_ms"] = percentile(values, 50)
        out[f"p95_{k}_ms"] = percentile(values, 95)
    out["errors"] = len(results) - len(ok)
    return out


def run(rows: list[Row], configs: list[Config], target, progress: bool = True,
        on_result: Callable[[dict], None] | None = None) -> dict[str, list[dict]]:
    docs = target.documents()
    total = sum(len(r.turns) for r in rows) * len(configs)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="evaluating", unit="q")
    by_config: dict[str, list[dict]] = {}
    for config in configs:
        results = by_config.setdefault(config.name, [])
        target.reset()
        for row in rows:
            history: list[dict] = []
            for i, turn in enumerate(row.turns):
                try:
                    response = target.ask(config, turn.question, history)
                    result = score_turn(row, i, response, docs)
                except Exception as exc:  # one failing question must not end the run
                    response = {"answer": ""}
                    result = {"row": row.id, "turn": i, "error": f"{type(exc).__name__}: {exc}"}
                result["config"] = config.name
                results.append(result)
                if on_result:
                    on_result(result)
                history += [{"role": "user", "content": turn.question},
                            {"role": "assistant", "content": response.get("answer", "")}]
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return by_config


def check_thresholds(summary: dict[str, dict], fail_under: dict[str, float]) -> list[str]:
    """Messages for every (config, metric) that misses its threshold."""
    failures = []
    for config, metrics in summary.items():
        for metric, floor in fail_under.items():
            value = metrics.get(metric)
            worse = value is None or (value > floor if metric in HIGHER_IS_WORSE else value < floor)
            if worse:
                failures.append(f"{config}: {metric}={value} misses {floor}")
    return failures


def load_rows(paths: list[Path]) -> tuple[list[Row], list[str]]:
    rows, problems = [], []
    for path in paths:
        got, bad = load_dataset(path)
        rows += got
        problems += bad
    return rows, problems


# Code whose change alters what an index holds (chunks, sentences, vectors): part of the eval index's key.
INDEX_CODE = ("index/chunker.py", "index/loader.py", "index/ingest.py", "rag/text.py", "rag/embedding.py")


def corpus_key(paths: list[Path], settings) -> str:
    """Hash of the corpus files, the chunking and dense-unit settings and the indexing code: same key → same index."""
    from index.ingest import expand_paths
    from rag.config import REPO_ROOT

    digest = hashlib.sha256(f"{settings.chunk_min_chars}:{settings.chunk_max_chars}:{settings.dense_unit}".encode())
    for f in sorted(expand_paths(paths), key=lambda f: f.name):
        digest.update(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest())
    for name in INDEX_CODE:
        source = REPO_ROOT / name
        digest.update(source.read_bytes() if source.is_file() else name.encode())
    return digest.hexdigest()[:16]


def eval_index(paths: list[Path], settings, progress: bool = True):
    """Settings for a private index of exactly these documents, built once per corpus key and reused.

    It lives in `<data_dir>/eval-index/<key>/` (embedded Chroma, even when the user's store is a
    server); `models` links to the user's model folder so the local model is joined only once.
    """
    import shutil

    from index.ingest import index_paths
    from rag.retrieval import CorpusCache
    from rag.store import Store

    folder = settings.data_dir / "eval-index" / corpus_key(paths, settings)
    eval_settings = settings.model_copy(update={"data_dir": folder, "chroma_url": None, "collection": "rag_chunks"})
    done = folder / "complete"
    if done.is_file():
        return eval_settings
    if folder.exists():  # an interrupted build: start again
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings.models_path.mkdir(parents=True, exist_ok=True)
    (folder / "models").symlink_to(settings.models_path.resolve(), target_is_directory=True)
    store = Store(eval_settings)
    report = index_paths(paths, eval_settings, store=store, progress=progress)
    CorpusCache(store).get()
    done.write_text(json.dumps({"corpus": [str(p) for p in paths], "index": report.summary()}), encoding="utf-8")
    return eval_settings


def dataset_name(path: Path) -> str:
    """`cmrc_zh/test` for evals/datasets/cmrc_zh/test.jsonl; the file name elsewhere."""
    from rag.config import REPO_ROOT

    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT / "evals" / "datasets").with_suffix(""))
    except ValueError:
        return path.stem


def run_datasets(paths: list[Path], configs: list[Config], target_for: Callable[[list[Path] | None], Any],
                 problems: list[str] | None = None, progress: bool = True) -> dict[str, dict[str, list[dict]]]:
    """Each dataset against a target for its own corpus (None: the user's index); {dataset: {config: results}}."""
    by_dataset: dict[str, dict[str, list[dict]]] = {}
    current_key, target = object(), None
    for path in paths:
        rows, bad = load_dataset(path)
        if problems is not None:
            problems += bad
        corpus = corpus_for(path)
        key = tuple(corpus) if corpus else None
        if key != current_key:  # one target at a time: a pipeline per corpus, built when first needed
            target, current_key = target_for(corpus), key
        name = dataset_name(path)
        by_config = run(rows, configs, target, progress=progress)
        for results in by_config.values():
            for r in results:
                r["dataset"] = name
        by_dataset[name] = by_config
    return by_dataset


def write_outputs(out: Path, summary: dict[str, dict[str, dict]], by_dataset: dict[str, dict[str, list[dict]]],
                  meta: dict) -> None:
    """summary and results are keyed by dataset, then by config."""
    from evals.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as fh:
        for by_config in by_dataset.values():
            for results in by_config.values():
                for r in results:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    write_report(out, summary, by_dataset, meta)


def timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")
