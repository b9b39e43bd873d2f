"""Calibration of the span check: `evals.calibrate.outcome` refuses as rag/grounding.py does."""

from evals.calibrate import Case, outcome, search_strong_judge
from rag.config import PairThresholds


def _case(unanswerable, judged, none, absent=False, score=0.9, index="own"):
    return Case("d", "zh-zh", unanswerable, score, 0.9, 0.9, 0.9, False, True, not unanswerable, "q", judged, none,
                absent, index)


def test_the_span_check_refuses_only_below_a_sure_judge_and_only_when_asked():
    cases = [_case(False, 0.95, 0.7), _case(True, 0.8, 0.7), _case(True, 0.8, 0.1, absent=True),
             _case(False, 0.8, 0.1)]
    assert outcome(cases, 0.5, 0.5, True, True, 0.75)["refusal"] == 0.0  # no span check: the judge passes all
    got = outcome(cases, 0.5, 0.5, True, True, 0.75, max_none=0.6, sure_judge=0.9)
    assert got == {"refusal": 1.0, "false_refusal": 0.0, "correct": 1.0, "right": 1.0}  # the sure one is not asked
    got = outcome(cases, 0.5, 0.5, True, True, 0.75, max_none=0.6, sure_judge=1.0)
    assert got["false_refusal"] == 0.5  # asked of the sure answerable one too, its P(none) refuses it


def test_the_strong_judge_bar_counts_only_where_the_best_score_is_strong():
    cases = [_case(False, 0.65, None, score=0.9), _case(False, 0.65, None, score=0.6), _case(True, 0.5, None)]
    assert outcome(cases, 0.2, 0.5, True, True, 0.75)["false_refusal"] == 1.0
    got = outcome(cases, 0.2, 0.5, True, True, 0.75, strong=0.75, strong_judge=0.6)
    assert got == {"refusal": 1.0, "false_refusal": 0.5, "correct": 0.5, "right": 2 / 3}


def test_the_strong_judge_search_keeps_the_budget_in_every_index():
    th = PairThresholds(min_score=0.2, min_coverage=0.5, strong=0.75, min_judge=0.75)
    own = [_case(False, 0.65, None), _case(False, 0.9, None), _case(True, 0.2, None)]
    large = [_case(False, 0.9, None, index="large"), _case(True, 0.62, None, index="large")]
    value, rows = search_strong_judge(own + large, True, True, th, max_false_refusal=0.5)
    assert value == 0.65  # recovers the own index's answerable one, still refuses the large index's 0.62
    assert [v for v, _ in rows] == [0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
    closer = [_case(False, 0.63, None, index="large"), _case(True, 0.62, None, index="large")]
    assert search_strong_judge(own + closer, True, True, th, max_false_refusal=0.0)[0] == 0.6  # no false refusal left
