"""Run datasets through configurations and score them (`rag eval`).

A configuration is `backend:mode:top_k` (e.g. `extractive:hybrid:5`). Runs go
in-process through the same Pipeline the server uses, or against a running
server through the public HTTP API (`--url`), where the server's own
configuration applies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from evals.dataset import Row, load_dataset
from evals.metrics import (answer_correct, citation_support, evidence_span, faithfulness, first_hit_rank, mean,
                           percentile)

DEFAULT_CONFIGS = ["extractive:hybrid:5", "extractive:dense:5", "extractive:bm25:5", "local:hybrid:5"]
METRICS = [
    "hit@1", "hit@3", "hit@k", "mrr",
    "accuracy", "accuracy_zh", "accuracy_en", "accuracy_multi_turn",
    "refusal_accuracy", "false_refusal_rate",
    "offset_validity", "citation_recall", "citation_precision", "faithfulness",
    "p50_retrieve_ms", "p95_retrieve_ms", "p50_generate_ms", "p95_generate_ms", "p50_total_ms", "p95_total_ms",
]
HIGHER_IS_WORSE = {"false_refusal_rate"} | {m for m in METRICS if m.endswith("_ms")}


@dataclass(frozen=True)
class Config:
    backend: str
    mode: str
    top_k: int

    @classmethod
    def parse(cls, text: str) -> "Config":
        parts = text.split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            raise ValueError(f"config {text!r} is not backend:mode:top_k (e.g. extractive:hybrid:5)")
        return cls(parts[0], parts[1], int(parts[2]))

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
    ev_doc, ev_span = None, None
    for doc_id, text in docs.items():
        if turn.evidence and (span := evidence_span(text, turn.evidence)):
            ev_doc, ev_span = doc_id, span
            break
    support = citation_support(citations, ev_span, ev_doc)
    retrieved = [c["text"] for c in response.get("retrieved", [])]
    refused = bool(response.get("refused"))
    answered = answerable and not refused
    return {
        "row": row.id, "turn": turn_index, "lang": row.lang, "multi_turn": row.multi_turn,
        "unanswerable": row.unanswerable, "question": turn.question, "answer": response.get("answer", ""),
        "refused": refused, "grounding": response.get("grounding"),
        "correct": (refused if row.unanswerable else (not refused and answer_correct(response.get("answer", ""), turn.answers, turn.any))),
        "hit_rank": first_hit_rank(retrieved, turn.evidence) if answerable and turn.evidence else None,
        "retrieved_n": len(retrieved),
        "offsets_valid": [docs.get(c["doc_id"], "")[c["start"]:c["end"]] == c["text"] for c in citations] if docs else [],
        "citation_supported": support if answered else [],
        "faithfulness": faithfulness(response.get("answer", ""), [c["text"] for c in citations]) if answered and citations else None,
        "timings_ms": response.get("timings_ms", {}),
    }


def aggregate(results: list[dict]) -> dict[str, float | None]:
    ok = [r for r in results if "error" not in r]
    ans = [r for r in ok if not r["unanswerable"]]
    ranked = [r for r in ans if r["hit_rank"] is not None or r["retrieved_n"]]
    ranks = [r["hit_rank"] for r in ranked]

    def share(items, pred):
        return sum(1 for i in items if pred(i)) / len(items) if items else None

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
        "refusal_accuracy": share([r for r in ok if r["unanswerable"]], lambda r: r["refused"]),
        "false_refusal_rate": share(ans, lambda r: r["refused"]),
        "offset_validity": share(offsets, bool),
        "citation_recall": share([r for r in ans if not r["refused"]], lambda r: any(r["citation_supported"])),
        "citation_precision": share(all_support, bool),
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


def write_outputs(out: Path, summary: dict[str, dict], by_config: dict[str, list[dict]], meta: dict) -> None:
    from evals.report import write_report

    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as fh:
        for results in by_config.values():
            for r in results:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    write_report(out, summary, by_config, meta)


def timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")
