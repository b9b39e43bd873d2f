"""Calibrate the grounding policy's thresholds on calibration splits (`python -m evals.calibrate`).

Each question of the given datasets is retrieved and scored once; the policy's checks that do not depend on a
threshold (contradiction, asked type) are evaluated once; then a grid over each language pair's `min_score` and
`min_coverage` is searched for the most questions handled right (answerable: not refused and the extractive quote
holds the answer; unanswerable: refused), with false refusals kept at or below `--max-false-refusal`. The result is
what `rag/config.py` ships; the test splits are never read here. With `--corpus PATH ...` every question is asked
again in one index of those documents (all corpora plus evals/corpora/distractors_*: a large index of unrelated
topics), and a setting must keep the false-refusal budget in both indexes; both indexes' rates count.

`--support DIR` calibrates the check made after an LLM has answered (`min_support`): DIR is the output of
`rag eval --config local` on a calibration split; every answer it gave is shown to the judge with its evidence, and
the threshold that refuses the most unanswerable questions while losing at most `--max-correct-loss` of the right
answers is searched per language pair (refusing a wrong answer costs nothing: it was not right either). Each
answer is also shown to the quick form of the check (rag/judge.py), and `sure_support` is set one grid step above
the highest quick P(yes) among the answers the full check refuses, so the quick form lets through only answers the
full check would keep: every decision stays the same.
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
    judged: float | None = None  # the answerability judge's probability (with --judge)
    none: float | None = None  # with --judge: P(the model, asked to copy the answer, says there is none)
    absent: bool = False  # with --judge: the span it copies is not in the evidence
    index: str = "own"  # "own": the dataset's own corpus; "large": the --corpus index


def collect(paths: list[Path], settings, judge=None, cache: dict | None = None,
            corpus_override: list[Path] | None = None, span: bool = True) -> list[Case]:
    """`span`: with a judge, also ask it to copy the answer's span (a second, longer prompt per question)."""
    from evals.harness import eval_index
    from rag.evidence import asked_types, contradicted, fills
    from rag.pipeline import Pipeline

    cases: list[Case] = []
    for path in paths:
        rows, _ = load_dataset(path)
        corpus = corpus_override or corpus_for(path)
        index = "large" if corpus_override else "own"
        pipeline = Pipeline(eval_index(corpus, settings) if corpus else settings)
        snapshot = pipeline.corpus.get()
        for row in rows:
            if row.multi_turn:
                continue
            turn = row.turns[0]
            q = turn.question
            ev = pipeline.scorer.score(q, pipeline.retriever(snapshot=snapshot).retrieve(q), snapshot.bm25)
            if not ev.ranked:
                cases.append(Case(str(path), ev.pair, row.unanswerable, 0.0, 0.0, 0.0, 0.0, False, False, False, q,
                                  index=index))
                continue
            best = ev.ranked[0]
            kinds = asked_types(q)
            chosen = ev.selected()
            type_ok = not kinds or any(all(fills(k, e.text, q) for k in kinds) for e in chosen)
            quote = "".join(e.text for e in chosen)
            correct = not row.unanswerable and answer_correct(quote, turn.answers, turn.any)
            judged = none = None
            absent = False
            if judge is not None:
                from rag.grounding import judged_view, span_fails
                from rag.judge import Extraction

                sentences, sources = judged_view(ev, settings.grounding.judge_sources, settings.grounding.spare_terms)
                key = json.dumps([q, sentences] + ([sources] if sources else []), ensure_ascii=False)
                if cache is None:
                    cache = {}
                if cache.get(key) is None:  # a judge that timed out is asked again next run
                    cache[key] = judge.probability(q, sentences, ev.lang, sources=sources)
                judged = cache[key]
                if span and "extract " + key not in cache:
                    got = judge.extract(q, sentences, ev.lang, sources=sources)
                    cache["extract " + key] = None if got is None else [got.span, got.none]
                if cache.get("extract " + key) is not None:
                    got = Extraction(*cache["extract " + key])
                    none, absent = got.none, bool(span_fails(Extraction(got.span), sentences, 1.0))
            cases.append(Case(str(path), ev.pair, row.unanswerable, best.score, best.coverage, best.lexical, best.dense,
                              contradicted(q, best), type_ok, correct, q, judged, none, absent, index))
    return cases


def outcome(cases: list[Case], min_score: float, min_coverage: float, types: bool, contradiction: bool,
            min_judge: float = 0.0, max_none: float = 0.0, sure_judge: float = 1.0, strong: float = 2.0,
            strong_judge: float = 0.0) -> dict:
    """Refused by the evidence gate as rag/grounding.py decides it; `max_none` > 0 adds the span check for a judge
    below `sure_judge`; `strong_judge` > 0 is the judge's bar where the best score is at least `strong`."""
    def bar(c: Case) -> float:
        return strong_judge if strong_judge > 0 and c.score >= strong else min_judge

    def span_refuses(c: Case) -> bool:
        unsure = c.judged is None or c.judged < sure_judge
        return max_none > 0 and unsure and (c.none is not None and c.none >= max_none or c.absent)

    refused = np.array([c.score < min_score or c.coverage < min_coverage or (contradiction and c.contradicted)
                        or (types and not c.type_ok) or (c.judged is not None and c.judged < bar(c))
                        or span_refuses(c) for c in cases])
    unans = np.array([c.unanswerable for c in cases])
    correct = np.array([c.correct for c in cases])
    n_ans, n_un = max((~unans).sum(), 1), max(unans.sum(), 1)
    return {
        "refusal": float((refused & unans).sum() / n_un),
        "false_refusal": float((refused & ~unans).sum() / n_ans),
        "correct": float((~refused & ~unans & correct).sum() / n_ans),
        "right": float(((refused & unans) | (~refused & ~unans & correct)).sum() / len(cases)),
    }


def search(cases: list[Case], max_false_refusal: float, types: bool, contradiction: bool,
           judge_grid=(0.0,), span: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float, float, dict] | None:
    """The thresholds that handle the most questions right within the false-refusal budget (ties: the lowest);
    None when no setting keeps false refusals within it (the checks without a threshold already refuse too many).
    Cases collected in several indexes (`--corpus`) must each keep the budget, and each index's rates count."""
    best = None
    indexes = [[c for c in cases if c.index == i] for i in sorted({c.index for c in cases})]
    for min_score in np.arange(0.2, 1.0, 0.025):
        for min_coverage in np.arange(0.0, 0.95, 0.05):
            for min_judge in judge_grid:
                each = [outcome(sub, min_score, min_coverage, types, contradiction, min_judge, *span) for sub in indexes]
                if any(o["false_refusal"] > max_false_refusal for o in each):
                    continue
                got = outcome(cases, min_score, min_coverage, types, contradiction, min_judge, *span)
                key = (sum(o["refusal"] + o["correct"] for o in each), -min_judge, -min_coverage, -min_score)
                if best is None or key > best[0]:
                    best = (key, round(float(min_score), 3), round(float(min_coverage), 2), round(float(min_judge), 2), got)
    return None if best is None else (best[1], best[2], best[3], best[4])


STRONG_JUDGE_GRID = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def search_strong_judge(cases: list[Case], types: bool, contradiction: bool, th, max_false_refusal: float
                        ) -> tuple[float, list[tuple[float, list[tuple[str, dict]]]]]:
    """`strong_judge` with the other thresholds as shipped (`th`, in force with the judge): the value below
    min_judge that handles the most questions right while every index keeps the false-refusal budget (ties: the
    highest, i.e. the least change; 0 = off); and each value's rates per index."""
    indexes = sorted({c.index for c in cases})
    rows, best = [], None
    for value in (v for v in STRONG_JUDGE_GRID if v < th.min_judge):
        rates = [(i, outcome([c for c in cases if c.index == i], th.min_score, th.min_coverage, types, contradiction,
                             th.min_judge, th.max_none, th.sure_judge, th.strong, value)) for i in indexes]
        rows.append((value, rates))
        if any(got["false_refusal"] > max_false_refusal for _, got in rates):
            continue
        key = (round(sum(got["refusal"] + got["correct"] for _, got in rates), 9), value or th.min_judge)
        if best is None or key > best[0]:
            best = (key, value)
    return (0.0 if best is None else best[1]), rows


def report_shipped(cases: list[Case], grounding, judged: bool) -> int:
    """The shipped thresholds applied to each dataset (per pair), as the pipeline's evidence gate would."""
    for dataset, index in sorted({(c.dataset, c.index) for c in cases}):
        for pair in sorted({c.pair for c in cases if c.dataset == dataset and c.index == index}):
            sub = [c for c in cases if c.dataset == dataset and c.pair == pair and c.index == index]
            th = grounding.thresholds(pair)
            if judged and th.min_judge > 0:
                th = th.with_judge()
            got = outcome(sub, th.min_score, th.min_coverage, grounding.check_types, grounding.check_contradiction,
                          th.min_judge if judged else 0.0, th.max_none if judged else 0.0, th.sure_judge,
                          th.strong, th.strong_judge if judged else 0.0)
            print(f"{dataset}{' (large index)' if index == 'large' else ''} {pair} ({len(sub)} questions, {sum(c.unanswerable for c in sub)} unanswerable, "
                  f"{'with' if judged else 'without'} judge): " + " ".join(f"{k}={v:.3f}" for k, v in got.items()))
    return 0


@dataclass
class Answered:
    """One question of a local eval run: what the model did, and the judge's P(the evidence supports its answer)."""
    pair: str
    unanswerable: bool
    refused: bool
    correct: bool
    supported: float | None = None
    quick: float | None = None  # P(yes) of the quick form of the check


def support_cases(results_dirs: list[Path], settings, judge, cache: dict) -> list[Answered]:
    from evals.harness import eval_index
    from rag.grounding import judged_view
    from rag.pipeline import Pipeline
    from rag.verify import strip_markers

    cases: list[Answered] = []
    for folder in results_dirs:
        rows = [json.loads(line) for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()]
        rows = [r for r in rows if not r["multi_turn"] and r["kind"] == "single"]
        dataset = Path(__file__).parent / "datasets" / f"{rows[0]['dataset']}.jsonl"
        corpus = corpus_for(dataset)
        pipeline = Pipeline(eval_index(corpus, settings) if corpus else settings)
        snapshot = pipeline.corpus.get()
        for r in rows:
            q = r["question"]
            ev = pipeline.scorer.score(q, pipeline.retriever(snapshot=snapshot).retrieve(q), snapshot.bm25)
            case = Answered(ev.pair, r["unanswerable"], r["refused"], bool(r["correct"]))
            if not r["refused"] and ev.ranked:
                sentences, sources = judged_view(ev, settings.grounding.judge_sources, settings.grounding.spare_terms)
                answer = strip_markers(r["answer"])
                key = json.dumps([q, sentences, answer] + ([sources] if sources else []), ensure_ascii=False)
                if key not in cache:
                    cache[key] = judge.support(q, sentences, answer, ev.lang, sources=sources)
                case.supported = cache[key]
                if "quick " + key not in cache:
                    cache["quick " + key] = judge.quick_support(q, sentences, answer, ev.lang, sources=sources)
                case.quick = cache["quick " + key]
            cases.append(case)
    return cases


def support_outcome(cases: list[Answered], min_support: float) -> dict:
    refused = np.array([c.refused or (c.supported is not None and c.supported < min_support) for c in cases])
    unans = np.array([c.unanswerable for c in cases])
    correct = np.array([c.correct for c in cases])
    n_ans, n_un = max((~unans).sum(), 1), max(unans.sum(), 1)
    return {"refusal": float((refused & unans).sum() / n_un),
            "false_refusal": float((refused & ~unans).sum() / n_ans),
            "correct": float((~refused & ~unans & correct).sum() / n_ans)}


def search_support(cases: list[Answered], max_correct_loss: float) -> tuple[float, dict]:
    """The min_support that handles the most questions right (unanswerable refused, answerable answered right) while
    losing at most `max_correct_loss` of the right answers (ties: the lowest). Refusing a wrong answer is no loss."""
    base = support_outcome(cases, 0.0)["correct"]
    best = None
    for t in (round(float(x), 3) for x in np.arange(0.0, 1.0, 0.025)):
        got = support_outcome(cases, t)
        if base - got["correct"] > max_correct_loss + 1e-9:
            continue
        key = (got["refusal"] + got["correct"], -t)
        if best is None or key > best[0]:
            best = (key, t, got)
    return best[1], best[2]


SURE_STEP = 0.05


def search_sure_support(cases: list[Answered], min_support: float) -> tuple[float, float]:
    """The quick check's `sure_support`: one grid step above the highest quick P(yes) among the answers the full
    check refuses (0: the check refuses none, nothing to guard), and the share of answers the full check is then
    still asked for."""
    refused = [c.quick for c in cases if c.supported is not None and c.supported < min_support and c.quick is not None]
    if not refused or min_support <= 0:
        return 0.0, 0.0
    sure = min(round(float(np.ceil((max(refused) + SURE_STEP) / SURE_STEP) * SURE_STEP), 3), 1.0)
    asked = [c for c in cases if c.supported is not None]
    still = sum(c.quick is None or c.quick < sure for c in asked)
    return sure, still / max(len(asked), 1)


# --- The judge's thresholds from recorded runs (`--runs`) ------------------------------------------------------
#
# The answerability judge's bars decide after retrieval and scoring, and `fallback_judge` after the model has
# answered, so their effect cannot be computed from the evidence alone: it depends on what the model would have
# written. A run made with the bars open (`--open-judge-env`: every pair's min_judge at OPEN_BAR, strong_judge and
# fallback_judge off, everything else as shipped) records, for every question, the judge's P(yes), whether the evidence
# was strong, whether the answer was a fallback quote and why, and whether the answer was right: the outcome of any
# bar is then read off that one run, without asking the model again (`simulate`).

OPEN_BAR = 0.001  # a judge bar that refuses nothing but keeps the judge asked (0 would not ask it)
JUDGE_GRID = tuple(round(x * 0.025, 3) for x in range(0, 39))  # 0 … 0.95
WRONG_COST = 1.0  # a wrong answer costs as much as a false refusal unless --wrong-cost says otherwise


def open_judge_pairs(grounding) -> dict:
    """The pairs' thresholds as shipped, with the judge's bars open: the settings of a recording run."""
    out = {}
    for pair, th in grounding.pairs.items():
        out[pair] = th.model_copy(update={"min_judge": OPEN_BAR if th.min_judge > 0 else 0.0, "strong_judge": 0.0,
                                          "fallback_judge": 0.0}).model_dump()
    return out


@dataclass
class Run:
    """One question of a recording run."""
    dataset: str
    row: str
    pair: str
    unanswerable: bool
    refused: bool  # refused in the recording run (by a check other than the judge's bars)
    correct: bool  # answered right in the recording run (answerable rows)
    judged: float | None
    strong: bool
    fallback: bool  # the answer stood as a quote after the generated answer failed for a policy reason
    reason: str = ""
    question: str = ""


def run_cases(results_dirs: list[Path]) -> list[Run]:
    """The rows of recording runs (`rag eval --config local --out DIR` with `--open-judge-env`)."""
    from rag.grounding import REASONS

    cases = []
    for folder in results_dirs:
        for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            policy = r.get("policy")
            if policy is None and "policy" not in r:
                raise SystemExit(f"{folder}: no policy trace in its rows (run with this code's `rag eval`)")
            policy = policy or {}
            cases.append(Run(r["dataset"], r["row"], policy.get("pair", "?"), r["unanswerable"], r["refused"],
                             bool(r["correct"]) and not r["unanswerable"], policy.get("judged"),
                             bool(policy.get("strong")),
                             r.get("grounding") == "fallback" and policy.get("failure") in REASONS,
                             r.get("reason") or "", r["question"]))
    return cases


def simulate(cases: list[Run], min_judge: float, strong_judge: float, fallback_judge: float) -> np.ndarray:
    """Refused or not under these bars, as rag/grounding.py decides: before the answer the judge's P(yes) below the
    bar (`strong_judge` on strong evidence when set) refuses; after it, a fallback quote over evidence the judge
    gave less than `fallback_judge` is refused; every other refusal of the recording run stands."""
    out = []
    for c in cases:
        p = c.judged
        bar = strong_judge if c.strong and strong_judge > 0 else min_judge
        out.append(c.refused or (p is not None and p < bar)
                   or (c.fallback and p is not None and p < fallback_judge))
    return np.array(out, dtype=bool)


def tally(cases: list[Run], refused: np.ndarray) -> dict:
    """Counts: unanswerable refused, answerable refused (false refusals), answered right, wrong answers (answerable
    answered wrong, unanswerable answered)."""
    unans = np.array([c.unanswerable for c in cases], dtype=bool)
    right = np.array([c.correct for c in cases], dtype=bool)
    return {"n": len(cases), "unanswerable": int(unans.sum()), "refused": int((refused & unans).sum()),
            "false_refusals": int((refused & ~unans).sum()), "correct": int((~refused & ~unans & right).sum()),
            "wrong": int((~refused & ((~unans & ~right) | unans)).sum())}


def cost(t: dict, wrong_cost: float) -> float:
    """The objective: a false refusal costs 1, a wrong answer `wrong_cost` (a right refusal and a right answer 0)."""
    return t["false_refusals"] + wrong_cost * t["wrong"]


P_NOISE = 0.03  # scale of the logistic noise a recorded P(yes) is read with (sd ≈ 0.054; see `expected_costs`)


def expected_costs(cases: list[Run], mj: np.ndarray, sj: np.ndarray, fj: np.ndarray, wrong_cost: float,
                   noise: float = P_NOISE) -> np.ndarray:
    """The expected cost of every combination of the three bars (an array indexed [min_judge, strong_judge,
    fallback_judge]), each question decided as `simulate` does. A recorded P(yes) is not exact: the same question
    over the same evidence moves by a few hundredths when the view changes a little (another sentence order, a
    heading), so each P is read as P + logistic noise of scale `noise`, and a bar a hair above or below a question
    costs part of that question. The cheapest bar then lies in the middle of a gap between questions, not at its
    edge (the thin margin of a bar picked by hand); `noise` 0 is the plain count."""
    p = np.array([np.nan if c.judged is None else c.judged for c in cases])
    strong = np.array([c.strong for c in cases])
    fallback = np.array([c.fallback for c in cases])
    ran = np.array([c.refused for c in cases])
    unans = np.array([c.unanswerable for c in cases])
    right = np.array([c.correct for c in cases])
    # what each question costs refused and answered (as recorded when the run already refused it)
    if_refused = np.where(unans, 0.0, 1.0)
    if_answered = np.where(ran, if_refused, np.where(unans | ~right, wrong_cost, 0.0))
    m, s_, f = mj[:, None, None, None], sj[None, :, None, None], fj[None, None, :, None]
    bar = np.where(strong & (s_ > 0), s_, m)
    bar = np.where(fallback, np.maximum(bar, f), bar)
    judged = ~np.isnan(p) & ~ran
    gap = bar - np.where(judged, p, 0.0)
    if noise > 0:
        refused = 1.0 / (1.0 + np.exp(-gap / noise))
    else:
        refused = (gap > 0).astype(float)
    refused = np.where(judged, refused, ran.astype(float))
    return (refused * if_refused + (1 - refused) * if_answered).sum(-1)


def search_judge(cases: list[Run], start: tuple[float, float, float], wrong_cost: float,
                 strong_used: bool = True, noise: float = P_NOISE) -> tuple[float, float, float]:
    """(min_judge, strong_judge, fallback_judge) at the lowest expected cost over JUDGE_GRID, searched together (ties:
    the combination nearest the shipped values, `start`). `strong_used`: the pair has a `strong` score, so
    strong_judge is searched (0 = min_judge on strong evidence too)."""
    grid = np.array(JUDGE_GRID)
    axes = [grid, grid if strong_used else np.array([0.0]), grid]
    costs = expected_costs(cases, *axes, wrong_cost, noise)
    at = np.argwhere(costs <= costs.min() + 1e-9)
    dist = [sum(abs(axes[k][j[k]] - start[k]) for k in range(3)) for j in at]
    pos = at[int(np.argmin(dist))]
    return tuple(float(axes[k][pos[k]]) for k in range(3))  # type: ignore[return-value]


def report_runs(cases: list[Run], grounding, wrong_cost: float, search: bool = True, noise: float = P_NOISE) -> dict:
    """Per pair: the shipped bars' outcome, the searched ones', and both per dataset."""
    chosen = {}
    for pair in sorted({c.pair for c in cases if c.judged is not None}):
        sub = [c for c in cases if c.pair == pair]
        th = grounding.thresholds(pair)
        shipped = (th.min_judge, th.strong_judge, th.fallback_judge)
        found = search_judge(sub, shipped, wrong_cost, strong_used=th.strong > 0, noise=noise) if search else shipped
        chosen[pair] = found
        print(f"{pair}: {len(sub)} questions, {sum(c.judged is not None for c in sub)} judged")
        for label, bars in (("shipped", shipped), ("searched", found)):
            t = tally(sub, simulate(sub, *bars))
            expected = float(expected_costs(sub, *(np.array([b]) for b in bars), wrong_cost, noise).ravel()[0])
            print(f"  {label:8} min_judge={bars[0]} strong_judge={bars[1]} fallback_judge={bars[2]}: "
                  + " ".join(f"{k}={v}" for k, v in t.items()) + f" cost={cost(t, wrong_cost):g}"
                  + f" expected={expected:.2f}")
        for dataset in sorted({c.dataset for c in sub}):
            part = [c for c in sub if c.dataset == dataset]
            a, b = (tally(part, simulate(part, *bars)) for bars in (shipped, found))
            print(f"    {dataset}: " + " ".join(f"{k} {a[k]}→{b[k]}" for k in ("refused", "false_refusals", "correct",
                                                                              "wrong")))
    return chosen


def main(argv: list[str] | None = None) -> int:
    from rag.config import get_settings, prepare_process

    prepare_process()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", type=Path, default=[], help="a calibration split")
    parser.add_argument("--support", action="append", type=Path, default=[],
                        help="a `rag eval --config local` output on a calibration split: calibrate min_support")
    parser.add_argument("--corpus", action="append", type=Path, default=[],
                        help="also ask every dataset's questions in one index of these files or folders (e.g. all "
                             "corpora and the distractors): thresholds must then hold in both indexes")
    parser.add_argument("--max-false-refusal", type=float, default=0.08)
    parser.add_argument("--max-correct-loss", type=float, default=0.02,
                        help="with --support: share of right answers the check may turn into refusals")
    parser.add_argument("--out", type=Path, help="write the cases and the chosen thresholds as JSON")
    parser.add_argument("--judge", action="store_true", help="also ask the local model's answerability judge")
    parser.add_argument("--judge-cache", type=Path, help="JSON file of judge answers, read and updated")
    parser.add_argument("--no-span", action="store_true",
                        help="with --judge: do not ask the model to copy the answer's span (half the model time; "
                             "the span check is then not searched)")
    parser.add_argument("--runs", action="append", type=Path, default=[],
                        help="a recording run's output (`rag eval --config local` under --open-judge-env): search the "
                             "judge's bars (min_judge, strong_judge, fallback_judge) per pair from its P(yes) values")
    parser.add_argument("--wrong-cost", type=float, default=WRONG_COST,
                        help="with --runs: the cost of a wrong answer, a false refusal costing 1")
    parser.add_argument("--p-noise", type=float, default=P_NOISE,
                        help="with --runs: scale of the logistic noise each recorded P(yes) is read with (0: exact)")
    parser.add_argument("--open-judge-env", action="store_true",
                        help="print the RAG_GROUNDING__PAIRS value of a recording run (the judge's bars open)")
    parser.add_argument("--report", action="store_true",
                        help="no search: the shipped thresholds' outcome per dataset (for test splits)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.open_judge_env:
        print(json.dumps(open_judge_pairs(settings.grounding), separators=(",", ":")))
        return 0
    if args.runs:
        report_runs(run_cases(args.runs), settings.grounding, args.wrong_cost, search=not args.report,
                    noise=args.p_noise)
        return 0
    judge = cache = None
    if args.judge:
        from rag.judge import judge_for

        judge = judge_for(settings, "local")
        cache = json.loads(args.judge_cache.read_text()) if args.judge_cache and args.judge_cache.exists() else {}
    if args.support:
        from rag.judge import judge_for

        judge = judge or judge_for(settings, "local")
        cache = cache if cache is not None else {}
        answered = support_cases(args.support, settings, judge, cache)
        if args.judge_cache:
            args.judge_cache.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
        for pair in sorted({c.pair for c in answered}):
            sub = [c for c in answered if c.pair == pair]
            if args.report:  # a test split: the shipped threshold, no search
                t = settings.grounding.thresholds(pair).min_support
                got = support_outcome(sub, t)
            else:
                t, got = search_support(sub, args.max_correct_loss)
            as_run = support_outcome(sub, 0.0)
            sure, still = search_sure_support(sub, t)
            print(f"{pair}: {len(sub)} questions; as run: " + " ".join(f"{k}={v:.3f}" for k, v in as_run.items())
                  + f"; min_support={t}: " + " ".join(f"{k}={v:.3f}" for k, v in got.items())
                  + f"; sure_support={sure} (full check still asked for {still:.0%} of the answers)")
        return 0
    if not args.dataset:
        parser.error("--dataset or --support is required")
    cases = collect(args.dataset, settings, judge, cache, span=not args.no_span)
    if args.corpus:
        cases += collect(args.dataset, settings, judge, cache, corpus_override=args.corpus, span=not args.no_span)
    if args.judge_cache and cache is not None:
        args.judge_cache.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
    current = settings.grounding
    if args.report:
        return report_shipped(cases, current, judge is not None)
    report: dict = {"pairs": {}}
    for pair in sorted({c.pair for c in cases}):
        sub = [c for c in cases if c.pair == pair]
        th = current.thresholds(pair)
        now = outcome(sub, th.min_score, th.min_coverage, current.check_types, current.check_contradiction)
        print(f"{pair}: {len(sub)} questions ({sum(c.unanswerable for c in sub)} unanswerable)")
        print(f"  shipped  min_score={th.min_score} min_coverage={th.min_coverage}: {now}")
        judge_grid = tuple(np.arange(0.0, 0.85, 0.05))
        grids = [("no judge", (0.0,), (0.0, 1.0))] + ([("judge", judge_grid, (0.0, 1.0))] + [
            (f"judge+span max_none={n} sure_judge={sj}", judge_grid, (n, sj))
            for n in (0.5, 0.6, 0.7, 0.8) for sj in (0.9, 0.95, 1.0) if not args.no_span] if judge else [])
        for label, judge_grid, span in grids:
            for types in (False, True):
                for contradiction in (False, True):
                    if label.startswith("judge+span") and not (types and contradiction):
                        continue  # the span check is searched with the shipped checks only
                    found = search(sub, args.max_false_refusal, types, contradiction, judge_grid, span)
                    if found is None:
                        print(f"  {label}: types={types!s:5} contradiction={contradiction!s:5} → no setting keeps "
                              f"false refusals ≤ {args.max_false_refusal}")
                        continue
                    s, cov, mj, got = found
                    print(f"  {label}: types={types!s:5} contradiction={contradiction!s:5} → min_score={s} "
                          f"min_coverage={cov} min_judge={mj}: " + " ".join(f"{k}={v:.3f}" for k, v in got.items()))
                    report["pairs"].setdefault(pair, []).append(
                        {"judge": label, "types": types, "contradiction": contradiction, "min_score": s,
                         "min_coverage": cov, "min_judge": mj, **got})
        if judge:
            sj, each = search_strong_judge(sub, current.check_types, current.check_contradiction,
                                           th.with_judge(), args.max_false_refusal)
            for value, rates in each:
                print(f"  strong_judge={value} (shipped min_judge={th.min_judge}, strong={th.strong}): " + "; ".join(
                    f"{index} " + " ".join(f"{k}={v:.3f}" for k, v in got.items()) for index, got in rates))
            print(f"  → strong_judge={sj}")
            report["pairs"].setdefault(pair, []).append({"strong_judge": sj})
    if args.out:
        args.out.write_text(json.dumps({"report": report, "cases": [vars(c) for c in cases]}, ensure_ascii=False,
                                       indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
