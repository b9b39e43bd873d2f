"""A sentence about something else is demoted, not refused (session 10); but when it was the one that matched the
question, the free sentence left first is about another part of the topic, and quoting it answers something else
(#12): the policy refuses when a demoted sentence covers more of the key terms than the best free one."""

from __future__ import annotations

from conftest import evidence_of

from rag.config import GroundingSettings, PairThresholds
from rag.evidence import EvidenceSet
from rag.grounding import GroundingPolicy

LOOSE = PairThresholds(min_score=0.3, min_coverage=0.3, strong=0.8)
DOC = ("Harlow Ferry Service: 2025 Summary\n"
       "The ferry's deputy operations manager is Priya Nandakumar. "
       "The service carried 212,000 passengers in 2025. "
       "Two new vessels entered service in June.")
QUESTION = "Who is the ferry's deputy finance manager?"


def _ev(sentence: str, score: float, coverage: float, about_else: str = ""):
    ev = evidence_of(DOC, sentence, score)
    ev.coverage, ev.about_else = coverage, about_else
    return ev


def _decide(ranked, margin: float | None = 0.0):
    policy = GroundingPolicy(GroundingSettings(pairs={"en-en": LOOSE}, else_margin=margin, anchor_pairs=[]))
    verdict = policy.decide(QUESTION, EvidenceSet(QUESTION, "en", ranked))
    return "answer" if verdict.answer else verdict.reason


SIBLING = "The ferry's deputy operations manager is Priya Nandakumar."
FIGURES = "The service carried 212,000 passengers in 2025."


def test_a_weaker_free_sentence_does_not_stand_in_for_the_sibling_that_matched():
    ranked = [_ev(FIGURES, 0.5, 0.4), _ev(SIBLING, 0.45, 0.8, "the evidence is about operations manager, not finance "
                                                          "manager")]
    assert _decide(ranked) == "contradiction"
    assert _decide(ranked, margin=None) == "answer"  # off: the weaker sentence is quoted (session 10)
    assert _decide(ranked, margin=0.5) == "answer"  # a wider margin than the gap


def test_a_free_sentence_that_matches_as_well_is_kept():
    ranked = [_ev(FIGURES, 0.5, 0.8), _ev(SIBLING, 0.45, 0.8, "the evidence is about another thing")]
    assert _decide(ranked) == "answer"


def test_without_a_demoted_sentence_nothing_changes():
    assert _decide([_ev(FIGURES, 0.5, 0.4), _ev(SIBLING, 0.45, 0.8)]) == "answer"
