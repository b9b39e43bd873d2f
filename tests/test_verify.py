"""Sentence-by-sentence verification on hand-built evidence: what survives, and which source it is cited to."""

from __future__ import annotations

import numpy as np
import pytest

from rag.evidence import Evidence
from rag.text import REFUSAL
from rag.verify import Verifier, cited_sentences, clean_sentence, looks_like_refusal, split_sentences, strip_markers


def ev(text: str, start: int = 0, vector=None, doc_id: str = "d") -> Evidence:
    return Evidence(doc_id, f"{doc_id}:0", start, start + len(text), text, "", 0.9, 0.5, 0.8, 0, vector=vector)


JOINED = ev("英国于2024年正式加入CPTPP，成为首个域外成员。")
INVEST = ev("日本是英国第三大外资来源国。", start=100)


class FixedEmbedder:
    """Embeds every sentence as the same vector: the cross-language check then rests on the evidence's vector."""

    def __init__(self, vector):
        self.vector = vector
        self.calls = 0

    def get_query_embedding(self, text):
        self.calls += 1
        return self.vector


def test_markers_are_stripped_and_attached_to_their_sentence():
    assert strip_markers("英国于2024年加入[1]【2】(3)[编号4][source 5]。") == "英国于2024年加入。"
    assert cited_sentences("英国于2024年加入[1]。它是首个域外成员【2】。[3]") == [
        ("英国于2024年加入。", {1}), ("它是首个域外成员。", {2, 3})]
    assert split_sentences("The UK joined in 2024 [1]. It was the first [2].") == [
        "The UK joined in 2024.", "It was the first."]


def test_boilerplate_openers_and_refusals_are_recognised():
    assert clean_sentence("根据资料，英国于2024年加入。") == "英国于2024年加入。"
    assert clean_sentence("according to the documents, the UK joined.") == "The UK joined."
    assert looks_like_refusal("文档中没有找到相关信息，无法回答该问题。[1]")
    assert looks_like_refusal("The sources do not contain the answer.")
    assert not looks_like_refusal("英国于2024年加入。")


@pytest.mark.parametrize("text", [
    REFUSAL["zh"], REFUSAL["en"],
    "The documents do not mention who chaired the meeting.",
    "The sources don't say when the programme starts [1].",
    "The provided context does not contain this information.",
    "The documents do not explicitly mention the budget.",
    "The date is not mentioned in the sources.",
    "There is no information about the budget in the documents.",
    "I cannot answer this question from the sources.",
    "资料中没有提到举行会议的城市。",
    "文档中并未提及该协议的期限。",
    "根据提供的资料，无法确定会议地点。",
    "未找到相关信息。",
    "无法回答该问题。",
])
def test_common_refusal_phrasings_are_recognised(text):
    assert looks_like_refusal(text)


@pytest.mark.parametrize("text", [
    "The agreement does not contain a sunset clause [1].",
    "The UK did not join the EU customs union; it joined the CPTPP in 2024 [1].",
    "This is not a trade agreement but a security dialogue.",
    "英国没有加入欧盟关税同盟，而是于2024年加入CPTPP[1]。",
    "日本没有提供军事援助。",
])
def test_an_answer_with_a_negation_is_not_a_refusal(text):
    assert not looks_like_refusal(text)


def test_a_supported_sentence_is_kept_and_an_invented_one_dropped():
    verifier = Verifier(embedder=None)  # within one language no embedding is needed
    kept = verifier.verify("英国于2024年正式加入CPTPP[2]。英国于2030年加入了北约[1]。", [JOINED, INVEST],
                           "英国哪一年加入CPTPP？")
    assert [(s.text, s.evidence) for s in kept] == [("英国于2024年正式加入CPTPP。", JOINED)]


def test_a_number_must_appear_in_the_supporting_sentence():
    verifier = Verifier(embedder=None)
    assert verifier.verify("英国于2025年正式加入CPTPP，成为首个域外成员。", [JOINED], "英国哪一年加入CPTPP？") == []


def test_a_sentence_that_only_repeats_the_question_is_not_an_answer():
    assert Verifier(embedder=None).support("英国加入CPTPP", [JOINED], "英国哪一年加入CPTPP？") is None


def test_the_cited_source_wins_when_both_support_the_sentence():
    twin = ev("英国于2024年正式加入CPTPP，成为首个域外成员。", start=200, doc_id="e")
    verifier = Verifier(embedder=None)
    assert verifier.verify("英国于2024年正式加入CPTPP[2]。", [JOINED, twin], "哪一年？")[0].evidence is twin
    assert verifier.verify("英国于2024年正式加入CPTPP[1]。", [JOINED, twin], "哪一年？")[0].evidence is JOINED


def test_across_languages_the_embedding_vouches_only_above_its_threshold():
    unit = np.ones(4, dtype=np.float32) / 2.0  # norm 1
    near = ev(JOINED.text, vector=unit)
    far = ev(JOINED.text, vector=np.array([1, 0, 0, 0], dtype=np.float32))  # cosine 0.5 with `unit`
    sentence = "The UK formally joined the CPTPP in 2024."
    embedder = FixedEmbedder(unit)
    assert Verifier(embedder).support(sentence, [near], "When did the UK join?").evidence is near
    assert Verifier(embedder).support(sentence, [far], "When did the UK join?") is None
    assert embedder.calls == 2
