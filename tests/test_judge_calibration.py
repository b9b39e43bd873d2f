"""Calibration of the span check: `evals.calibrate.outcome` refuses as rag/grounding.py does."""

from evals.calibrate import Case, outcome


def _case(unanswerable, judged, none, absent=False):
    return Case("d", "zh-zh", unanswerable, 0.9, 0.9, 0.9, 0.9, False, True, not unanswerable, "q", judged, none,
                absent)


def test_the_span_check_refuses_only_below_a_sure_judge_and_only_when_asked():
    cases = [_case(False, 0.95, 0.7), _case(True, 0.8, 0.7), _case(True, 0.8, 0.1, absent=True),
             _case(False, 0.8, 0.1)]
    assert outcome(cases, 0.5, 0.5, True, True, 0.75)["refusal"] == 0.0  # no span check: the judge passes all
    got = outcome(cases, 0.5, 0.5, True, True, 0.75, max_none=0.6, sure_judge=0.9)
    assert got == {"refusal": 1.0, "false_refusal": 0.0, "correct": 1.0, "right": 1.0}  # the sure one is not asked
    got = outcome(cases, 0.5, 0.5, True, True, 0.75, max_none=0.6, sure_judge=1.0)
    assert got["false_refusal"] == 0.5  # asked of the sure answerable one too, its P(none) refuses it
