import re

import pytest

from rag.backends.generative import GroundedLLMBackend, MarkerFilter, build_messages
from rag.llm import FakeLLM, chatml
from rag.schema import AskRequest
from rag.verify import Verifier, looks_like_refusal, split_sentences, strip_markers

CPTPP_Q = "英国哪一年正式加入CPTPP？"


@pytest.fixture
def fake(pipeline):
    llm = FakeLLM()
    pipeline._backends["fake"] = GroundedLLMBackend("fake", llm, Verifier(pipeline.embedder))
    yield llm
    pipeline._backends.pop("fake")


def _ask(pipeline, question, **kw):
    return pipeline.ask(AskRequest(question=question, **kw), backend="fake")


def _valid(r, corpus_text):
    assert {int(m) for m in re.findall(r"\[(\d+)\]", r.answer)} == {c.n for c in r.citations}
    assert all(corpus_text[c.start:c.end] == c.text for c in r.citations)


def test_invented_sentence_is_dropped_and_citation_reassigned(pipeline, fake, corpus_text):
    fake.enqueue("英国于2024年正式加入CPTPP[4]。英国还在2030年加入了北约[1]。")
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "verified" and r.backend == "fake"
    assert r.answer == "英国于2024年正式加入CPTPP[1]"[:-3] + "。[1]" or r.answer.startswith("英国于2024年正式加入CPTPP")
    assert "2030" not in r.answer and "北约" not in r.answer
    assert len(r.citations) == 1 and "英国于2024年正式加入CPTPP" in r.citations[0].text
    _valid(r, corpus_text)


def test_two_sentences_cite_two_different_sources(pipeline, fake, corpus_text):
    fake.enqueue("日本是英国第三大外资来源国[2]。英国于2024年正式加入CPTPP[2]。")
    r = _ask(pipeline, "日本和英国的经贸关系如何？英国何时加入CPTPP？")
    assert r.grounding == "verified" and len(r.citations) == 2
    assert "[1]" in r.answer and "[2]" in r.answer
    _valid(r, corpus_text)


def test_unsupported_answer_falls_back_to_quotes(pipeline, fake, corpus_text):
    fake.enqueue("The sky is red, according to the sources [1].")
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "fallback" and not r.refused and r.notice
    assert "2024" in r.answer and "sky" not in r.answer
    _valid(r, corpus_text)


def test_model_refusal_is_a_refusal(pipeline, fake):
    fake.enqueue("文档中没有找到相关信息，无法回答该问题。")
    r = _ask(pipeline, CPTPP_Q)
    assert r.refused and r.grounding == "refused" and r.citations == []


def test_model_error_falls_back_with_notice(pipeline, fake):
    fake.enqueue(TimeoutError("slow"))
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "fallback" and "TimeoutError" in r.notice and "2024" in r.answer


def test_weak_evidence_never_calls_the_model(pipeline, fake):
    r = _ask(pipeline, "日英经济版“2+2”第二次会议将于何时举行？")
    assert r.refused and fake.prompts == []


def test_english_answer_is_verified_against_chinese_evidence(pipeline, fake, corpus_text):
    fake.enqueue("The UK formally joined the CPTPP in 2024 [1].")
    r = _ask(pipeline, "Which year did the UK formally join the CPTPP?")
    assert r.grounding == "verified", r.notice
    assert r.answer == "The UK formally joined the CPTPP in 2024.[1]" or r.answer.startswith("The UK formally joined")
    _valid(r, corpus_text)


def test_stream_hides_model_markers_and_ends_with_done(pipeline, fake):
    fake.enqueue("英国于2024年正式加入CPTPP[12]。")
    events = list(pipeline.events(AskRequest(question=CPTPP_Q), backend="fake"))
    deltas = "".join(p for k, p in events if k == "delta")
    assert [k for k, _ in events][-1] == "done" and "[12]" not in deltas and "2024" in deltas


def test_prompt_numbers_evidence_and_uses_chatml(pipeline, fake):
    fake.enqueue("英国于2024年正式加入CPTPP[1]。")
    _ask(pipeline, CPTPP_Q)
    prompt = fake.prompts[0]
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    assert "[1] " in prompt and "【问题】" + CPTPP_Q in prompt and "文档中没有找到相关信息" in prompt


def test_follow_up_prompt_carries_the_previous_question(pipeline, fake):
    fake.enqueue("延续英国脱欧前日本与欧盟的自由贸易条款[1]。")
    history = [{"role": "user", "content": "2020年日英两国签署了什么经贸协定？"},
               {"role": "assistant", "content": "《全面经济伙伴协定》"}]
    r = _ask(pipeline, "它延续了哪些条款？", history=history)
    assert "上一个问题：2020年日英两国签署了什么经贸协定？" in fake.prompts[0]
    assert r.grounding == "verified" and "欧盟" in r.answer


def test_marker_filter_handles_split_markers():
    f = MarkerFilter()
    assert f.feed("abc[") == "abc" and f.feed("1") == "" and f.feed("]def") == "def"
    assert f.feed("x[y") == "x[y" and f.flush() == ""
    assert f.feed("end【2") == "end" and f.flush() == "【2"


def test_verify_helpers():
    assert strip_markers("甲[1]。乙[2, 3]") == "甲。乙"
    assert split_sentences("甲乙[1]。丙丁！") == ["甲乙。", "丙丁！"]
    assert split_sentences("It was 1.5 degrees. Then 2050.") == ["It was 1.5 degrees.", "Then 2050."]
    assert looks_like_refusal("资料中没有提到这个信息。")
    assert chatml([]) == "<|im_start|>assistant\n"
    assert build_messages("Q?", [], "en")[1].content.endswith("Question:Q?")
