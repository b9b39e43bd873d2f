"""The key-term coverage check means the same in a small index and in a large one of unrelated topics (#12)."""

from __future__ import annotations

import random

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from conftest import NoSentenceVectors, ZeroEmbedder
from rag.bm25 import BM25
from rag.config import GroundingSettings
from rag.evidence import EvidenceScorer, key_terms, term_weights, weighted_coverage
from rag.grounding import GroundingPolicy


TOPIC = [
    "AquaPure 300 pitcher\n\nThank you for choosing the AquaPure 300 pitcher. Fill the AquaPure 300 pitcher with "
    "cold tap water only.",
    "Replace the AquaPure 300 cartridge every two months. The AquaPure 300 pitcher holds 2.4 litres.",
    "Clean the AquaPure 300 pitcher lid by hand. Do not put the AquaPure 300 pitcher in a dishwasher.",
]
WORDS = ("river harbour museum election tariff orchestra glacier vaccine railway senate novel bridge festival "
         "telescope monastery cotton satellite parliament volcano league").split()


def _unrelated(n: int) -> list[str]:
    """n short passages on other topics (words of their own, none of the question's)."""
    rng = random.Random(7)
    return [" ".join(rng.sample(WORDS, 6)).capitalize() + f" were discussed in report {i}." for i in range(n)]


def _chunks(texts: list[str]) -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(text=t, metadata={"doc_id": f"d{i}", "chunk_id": f"d{i}:0", "start": 0}),
                          score=1.0) for i, t in enumerate(texts)]


def _best(question: str, index_texts: list[str]):
    bm25 = BM25.build([f"d{i}:0" for i in range(len(index_texts))], index_texts)
    scorer = EvidenceScorer(NoSentenceVectors(), ZeroEmbedder())
    return scorer.score(question, _chunks(TOPIC), bm25)  # the same retrieved chunks in both indexes


def test_coverage_does_not_change_when_unrelated_documents_join_the_index():
    question = "What is the recommended retail price of the AquaPure 300 pitcher?"
    small, large = _best(question, TOPIC), _best(question, TOPIC + _unrelated(400))
    assert small.ranked[0].text == large.ranked[0].text
    assert large.ranked[0].coverage == pytest.approx(small.ranked[0].coverage)
    assert small.ranked[0].coverage < 0.5  # price, retail, recommended: none is stated


def test_one_threshold_decides_alike_in_a_small_and_a_large_index():
    question = "What is the recommended retail price of the AquaPure 300 pitcher?"
    th = GroundingSettings().thresholds("en-en").model_copy(update={"min_score": 0.0, "min_coverage": 0.5})
    policy = GroundingPolicy(GroundingSettings(pairs={"en-en": th}))
    for texts in (TOPIC, TOPIC + _unrelated(400)):
        evidence = _best(question, texts)
        assert policy.decide(question, evidence).reason == "key_term_missing", len(texts)
        assert evidence.ranked[0].missing[:3] == ["recommended", "retail", "price"]
    answered = "How much water does the AquaPure 300 pitcher hold?"
    for texts in (TOPIC, TOPIC + _unrelated(400)):
        assert policy.decide(answered, _best(answered, texts)).answer, len(texts)


def test_a_word_that_names_a_thing_counts_whole_and_any_other_word_half():
    question = "彭皓锋凭借哪部作品被内地观众认识？"
    weights = term_weights(question, key_terms(question))
    assert weights["作品"] == weights["观众"] == weights["彭皓锋"] == 1.0
    assert weights["凭借"] == weights["认识"] == 0.5
    english = "Who founded the Duchy of Normandy?"
    assert set(term_weights(english, key_terms(english)).values()) == {1.0}


def test_coverage_weighs_the_missing_noun_more_than_a_missing_verb():
    question = "彭皓锋凭借哪部作品被内地观众认识？"
    terms = key_terms(question)
    weights = term_weights(question, terms)
    without_verb, missing_verb = weighted_coverage(terms, "内地观众通过作品认识了彭皓锋。", weights)
    without_noun, missing_noun = weighted_coverage(terms, "彭皓锋凭借此事被内地观众认识。", weights)
    assert missing_verb == ["凭借"] and missing_noun == ["作品"]
    assert without_verb > without_noun


def test_a_year_is_a_key_term_and_a_count_is_not():
    assert "2023" in key_terms("2023年的冠军是谁？")
    assert "2019" in key_terms("Who won the cup in 2019?")
    assert "3" not in key_terms("哪3个目标最重要？")
