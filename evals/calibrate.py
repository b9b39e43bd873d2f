"""Calibrate the grounding policy's thresholds on calibration splits (`python -m evals.calibrate`).

Each question of the given datasets is retrieved and scored once; the policy's checks that do not depend on a
threshold (contradiction, asked type) are evaluated once; then a grid over each language pair's `min_score` and
`min_coverage` is searched for the most questions handled right (answerable: not refused and the extractive quote
holds the answer; unanswerable: refused), with false refusals kept at or below `--max-false-refusal`. The result is
what `rag/config.py` ships; the test splits are never read here.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evals.dataset import corpus_for, load_dataset
from evals.metrics import answer_correct


@dataclass
class Case:
    dataset: str
    pair: str
    unanswerable: bool
    score: float
    coverage: float
    lexical: float  # the best sentence's own key-term coverage
    dense: float
    contradicted: bool
    type_ok: bool
    correct: bool  # the extractive quote holds the answer
    question: str = ""


def collect(paths: list[Path], settings) -> list[Case]:
    from evals.harness import eval_index
    from rag.evidence import asked_types, contradicted, fills
    from rag.pipeline import Pipeline

    cases: list[Case] = []
    for path in paths:
        rows, _ = load_dataset(path)
        corpus = corpus_for(path)
        pipeline = Pipeline(eval_index(corpus, settings) if corpus else settings)
        snapshot = pipeline.corpus.get()
        for row in rows:
            if row.multi_turn:
                continue
            turn = row.turns[0]
            q = turn.question
            ev = pipeline.scorer.score(q, pipeline.retriever(snapshot=snapshot).retrieve(q), snapshot.bm25)
            if not ev.ranked:
                cases.append(Case(str(path), ev.pair, row.unanswerable, 0.0, 0.0, 0.0, 0.0, False, False, False, q))
                continue
            best = ev.ranked[0]
            kinds = asked_types(q)
            chosen = ev.selected()
            type_ok = not kinds or any(all(fills(k, e.text, q) for k in kinds) for e in chosen)
            quote = "".join(e.text for e in chosen)
            correct = not row.unanswerable and answer_correct(quote, turn.answers, turn.any)
            cases.append(Case(str(path), ev.pair, row.unanswerable, best.score, best.coverage, best.lexical, best.dense,
                              contradicted(q, best), type_ok, correct, q))
    return cases


def outcome(cases: list[Case], min_score: float, min_coverage: float, types: bool, contradiction: bool) -> dict:
    refused = np.array([c.score < min_score or c.coverage < min_coverage or (contradiction and c.contradicted)
                        or (types and not c.type_ok) for c in cases])
    unans = np.array([c.unanswerable for c in cases])
    correct = np.array([c.correct for c in cases])
    n_ans, n_un = max((~unans).sum(), 1), max(unans.sum(), 1)
    return {
        "refusal": float((refused & unans).sum() / n_un),
        "false_refusal": float((refused & ~unans).sum() / n_ans),
        "correct": float((~refused & ~unans & correct).sum() / n_ans),
        "right": float(((refused & unans) | (~refused & ~unans & correct)).sum() / len(cases)),
    }


def search(cases: list[Case], max_false_refusal: float, types: bool, contradiction: bool) -> tuple[float, float, dict]:
    best = None
    for min_score in np.arange(0.2, 1.0, 0.025):
        for min_coverage in np.arange(0.0, 0.95, 0.05):
            got = outcome(cases, min_score, min_coverage, types, contradiction)
            if got["false_refusal"] > max_false_refusal:
                continue
            key = (got["refusal"] + got["correct"], -min_coverage, -min_score)
            if best is None or key > best[0]:
                best = (key, round(float(min_score), 3), round(float(min_coverage), 2), got)
    assert best is not None
    return best[1], best[2], best[3]


def main(argv: list[str] | None = None) -> int:
    from rag.config import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", type=Path, required=True, help="a calibration split")
    parser.add_argument("--max-false-refusal", type=float, default=0.08)
    parser.add_argument("--out", type=Path, help="write the cases and the chosen thresholds as JSON")
    args = parser.parse_args(argv)
    settings = get_settings()
    cases = collect(args.dataset, settings)
    current = settings.grounding
    report: dict = {"pairs": {}}
    for pair in sorted({c.pair for c in cases}):
        sub = [c for c in cases if c.pair == pair]
        th = current.thresholds(pair)
        now = outcome(sub, th.min_score, th.min_coverage, current.check_types, current.check_contradiction)
        print(f"{pair}: {len(sub)} questions ({sum(c.unanswerable for c in sub)} unanswerable)")
        print(f"  shipped  min_score={th.min_score} min_coverage={th.min_coverage}: {now}")
        for types in (False, True):
            for contradiction in (False, True):
                s, cov, got = search(sub, args.max_false_refusal, types, contradiction)
                print(f"  types={types!s:5} contradiction={contradiction!s:5} → min_score={s} min_coverage={cov}: {got}")
                report["pairs"].setdefault(pair, []).append(
                    {"types": types, "contradiction": contradiction, "min_score": s, "min_coverage": cov, **got})
    if args.out:
        args.out.write_text(json.dumps({"report": report, "cases": [vars(c) for c in cases]}, ensure_ascii=False,
                                       indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
