"""Calibration of the judge's bars from a recording run (`evals.calibrate --runs`): the outcome of any bar is read off
the recorded P(yes) values as rag/grounding.py would decide it, and the search picks the middle of the cheapest range."""

import json

import numpy as np
import pytest

from evals.calibrate import (OPEN_BAR, Run, cost, expected_costs, open_judge_pairs, run_cases, search_judge, simulate,
                             tally)
from rag.config import GroundingSettings, PairThresholds


def _run(unanswerable, judged, correct=True, refused=False, strong=False, fallback=False, dataset="d"):
    return Run(dataset, "r", "en-en", unanswerable, refused, correct and not unanswerable, judged, strong, fallback)


def test_the_judge_bar_refuses_below_it_and_the_strong_bar_only_on_strong_evidence():
    cases = [_run(False, 0.6), _run(False, 0.6, strong=True), _run(True, 0.3), _run(True, None)]
    assert simulate(cases, 0.5, 0.0, 0.0).tolist() == [False, False, True, False]  # no P: no judgement
    assert simulate(cases, 0.7, 0.0, 0.0).tolist() == [True, True, True, False]  # strong_judge 0: min_judge everywhere
    assert simulate(cases, 0.7, 0.55, 0.0).tolist() == [True, False, True, False]


def test_fallback_judge_refuses_only_fallback_quotes_and_a_refusal_of_the_run_stands():
    cases = [_run(False, 0.6, fallback=True), _run(False, 0.6), _run(False, 0.9, refused=True)]
    assert simulate(cases, 0.5, 0.0, 0.7).tolist() == [True, False, True]
    assert simulate(cases, 0.5, 0.0, 0.6).tolist() == [False, False, True]  # at the bar: not below it


def test_the_tally_counts_a_refused_wrong_answer_as_a_false_refusal_and_not_as_a_wrong_answer():
    cases = [_run(False, 0.2, correct=False), _run(False, 0.9, correct=False), _run(True, 0.9), _run(True, 0.1)]
    got = tally(cases, simulate(cases, 0.5, 0.0, 0.0))
    assert got == {"n": 4, "unanswerable": 2, "refused": 1, "false_refusals": 1, "correct": 0, "wrong": 2}
    assert cost(got, 1.0) == 3 and cost(got, 2.0) == 5


def test_without_noise_the_expected_cost_is_the_count_of_the_simulated_outcome():
    cases = [_run(False, 0.5), _run(True, 0.55, fallback=True), _run(False, 0.75, fallback=True), _run(True, 0.2),
             _run(False, 0.9, correct=False), _run(False, None, refused=True)]
    for bars in [(0.0, 0.0, 0.0), (0.6, 0.0, 0.0), (0.4, 0.0, 0.7), (0.95, 0.0, 0.95)]:
        got = expected_costs(cases, *(np.array([b]) for b in bars), 2.0, noise=0.0).ravel()[0]
        assert got == cost(tally(cases, simulate(cases, *bars)), 2.0)


def test_read_with_noise_a_bar_keeps_away_from_the_questions_on_either_side():
    # any bar in (0.3, 0.5] handles all three: counted exactly, the one nearest the shipped bar is taken, a hair above
    # the unanswerable question; read with noise, the middle of the gap
    cases = [_run(True, 0.3), _run(False, 0.5), _run(False, 0.9)]
    assert search_judge(cases, (0.3, 0.0, 0.0), 1.0, strong_used=False, noise=0.0)[0] == 0.325
    assert search_judge(cases, (0.3, 0.0, 0.0), 1.0, strong_used=False)[0] == 0.4


def test_the_search_sets_a_bar_in_the_middle_of_the_gap_it_must_fall_in():
    # answerable questions the model answers right at P 0.8 and 0.9, unanswerable ones at 0.2 and 0.3: any bar in
    # (0.3, 0.8] handles all four; the middle of that range is chosen, not its edge
    cases = [_run(False, 0.8), _run(False, 0.9), _run(True, 0.2), _run(True, 0.3)]
    bars = search_judge(cases, (0.0, 0.0, 0.0), wrong_cost=1.0, strong_used=False)
    assert 0.5 <= bars[0] <= 0.6
    assert tally(cases, simulate(cases, *bars))["refused"] == 2


def test_the_cost_of_a_wrong_answer_decides_where_an_overlap_is_cut():
    # one unanswerable question above two right answers: refusing it costs two false refusals
    cases = [_run(False, 0.5), _run(False, 0.55), _run(True, 0.6), _run(False, 0.9)]
    cheap = search_judge(cases, (0.0, 0.0, 0.0), wrong_cost=1.0, strong_used=False)
    assert tally(cases, simulate(cases, *cheap))["false_refusals"] == 0
    dear = search_judge(cases, (0.0, 0.0, 0.0), wrong_cost=3.0, strong_used=False)
    assert tally(cases, simulate(cases, *dear)) == {"n": 4, "unanswerable": 1, "refused": 1, "false_refusals": 2,
                                                   "correct": 1, "wrong": 0}


def test_fallback_judge_is_searched_from_the_fallback_quotes_alone():
    # right answers at 0.5 let through by min_judge; wrong fallback quotes at 0.55-0.6, right ones at 0.75-0.8
    cases = [_run(False, 0.5), _run(True, 0.55, fallback=True), _run(True, 0.6, fallback=True),
             _run(False, 0.75, fallback=True), _run(False, 0.8, fallback=True)]
    bars = search_judge(cases, (0.0, 0.0, 0.0), wrong_cost=1.0, strong_used=False)
    assert bars[0] <= 0.5 and 0.6 < bars[2] <= 0.75
    assert tally(cases, simulate(cases, *bars)) == {"n": 5, "unanswerable": 2, "refused": 2, "false_refusals": 0,
                                                    "correct": 3, "wrong": 0}


def test_a_recording_run_opens_every_judge_bar_and_keeps_the_judge_asked():
    shipped = GroundingSettings(pairs={"zh-zh": PairThresholds(min_score=0.2, min_coverage=0.5, strong=0.75,
                                                               min_judge=0.75, strong_judge=0.7, fallback_judge=0.6,
                                                               min_support=0.8),
                                       "en-en": PairThresholds(min_score=0.8, min_coverage=0.3, strong=0.75)})
    pairs = open_judge_pairs(shipped)
    assert (pairs["zh-zh"]["min_judge"], pairs["zh-zh"]["strong_judge"], pairs["zh-zh"]["fallback_judge"]) == \
        (OPEN_BAR, 0.0, 0.0)
    assert pairs["zh-zh"]["min_support"] == 0.8 and pairs["zh-zh"]["min_score"] == 0.2  # the rest as shipped
    assert pairs["en-en"]["min_judge"] == 0.0  # a pair without the judge stays without it
    assert GroundingSettings(pairs=pairs).thresholds("zh-zh").min_judge == OPEN_BAR


def test_run_rows_are_read_with_their_policy_trace(tmp_path):
    rows = [{"dataset": "nearmiss/calibration", "row": "a", "unanswerable": False, "refused": False, "correct": True,
             "grounding": "fallback", "reason": "grounded", "question": "q",
             "policy": {"pair": "zh-zh", "judged": 0.4, "strong": True, "failure": "unsupported"}},
            {"dataset": "nearmiss/calibration", "row": "b", "unanswerable": True, "refused": True, "correct": True,
             "grounding": "refused", "reason": "no_evidence", "question": "q", "policy": None},
            {"dataset": "nearmiss/calibration", "row": "c", "unanswerable": False, "refused": False, "correct": True,
             "grounding": "fallback", "reason": "grounded", "question": "q",
             "policy": {"pair": "en-en", "judged": 0.4, "strong": False, "failure": "list_cut_short"}}]
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    a, b, c = run_cases([tmp_path])
    assert (a.pair, a.judged, a.strong, a.fallback, a.correct) == ("zh-zh", 0.4, True, True, True)
    assert b.refused and b.judged is None and not b.correct
    assert not c.fallback  # a list cut short is no policy failure: fallback_judge does not apply to it
    (tmp_path / "results.jsonl").write_text(json.dumps({k: v for k, v in rows[0].items() if k != "policy"}))
    with pytest.raises(SystemExit):
        run_cases([tmp_path])  # an older run without the trace cannot be calibrated from
