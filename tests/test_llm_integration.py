"""The real local model and a real OpenAI-compatible server (slow: ~1 min on 2 cores)."""

import re

import pytest

from rag.schema import AskRequest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_pipeline(indexed_settings):
    from rag.pipeline import Pipeline

    pipeline = Pipeline(indexed_settings.model_copy(update={"backend": "local"}))
    pipeline.backend("local")  # joins the model parts once and starts the in-process server
    return pipeline


def _valid(r, corpus_text):
    assert {int(m) for m in re.findall(r"\[(\d+)\]", r.answer)} == {c.n for c in r.citations}
    assert all(corpus_text[c.start:c.end] == c.text for c in r.citations)


def test_local_model_answers_with_verified_citations(local_pipeline, corpus_text):
    r = local_pipeline.ask(AskRequest(question="英国哪一年正式加入CPTPP？"))
    # the model answers this one in its own words every time (greedy decoding): the answer must be its own,
    # verified sentence by sentence, not the quote that stands in when verification fails
    assert r.backend == "local" and r.grounding == "verified", r.notice
    assert "2024" in r.answer and "CPTPP" in r.answer and r.notice is None
    _valid(r, corpus_text)
    r = local_pipeline.ask(AskRequest(question="日英经济版“2+2”首次会议在哪座城市召开？"))
    assert not r.refused and "东京" in r.answer
    _valid(r, corpus_text)


def test_local_model_streams_before_the_final_answer(local_pipeline):
    events = list(local_pipeline.events(AskRequest(question="Which year did the UK formally join the CPTPP?")))
    kinds = [k for k, _ in events]
    assert kinds.count("delta") > 1 and kinds[-1] == "done"
    assert "2024" in events[-1][1].answer


def test_the_check_after_the_answer_reuses_the_judges_prompt_from_llama_cpps_cache(local_pipeline):
    """The quick support check starts as the judge's prompt does: llama.cpp evaluates only the answer and what follows."""
    import httpx

    from rag.judge import judge_prompt, quick_support_prompt

    judge = local_pipeline.backend("local").judge
    sentences = ["3月7日，日本与英国正式启动经济版“2+2”机制，日本外务大臣岩屋毅、经济产业大臣武藤容治和英国外交大臣拉米、"
                 "商业和贸易大臣雷诺兹在东京主持召开首次会议。", "英国于2024年12月正式加入CPTPP，成为首个加入该协定的欧洲国家。"]
    question = "日英首次经济版“2+2”会议在哪里召开？"

    def timings(prompt):
        body = {"model": "local", "prompt": prompt, "max_tokens": 1, "temperature": 0.0, "logprobs": 10}
        return httpx.post(judge.url, json=body, timeout=120).json()["timings"]

    asked = timings(judge_prompt(question, sentences, "zh"))
    checked = timings(quick_support_prompt(question, sentences, "会议在东京召开。", "zh"))
    judge_tokens = asked["prompt_n"] + asked["cache_n"]
    assert checked["cache_n"] >= judge_tokens - 12  # all but the judge's own last line ("资料是否直接给出了答案？")
    assert checked["prompt_n"] < judge_tokens / 2


def test_openai_backend_against_a_real_openai_compatible_server(local_pipeline, indexed_settings, corpus_text):
    """llama.cpp's own OpenAI-compatible server (the local model's) on loopback, through OpenAILike."""
    from rag.llm import LocalServer
    from rag.pipeline import Pipeline

    server = next(iter(LocalServer._instances.values()))
    settings = indexed_settings.model_copy(update={"backend": "openai", "llm_base_url": server.base_url})
    pipeline = Pipeline(settings)
    r = pipeline.ask(AskRequest(question="日本外务大臣是谁？"))
    assert r.backend == "openai" and "岩屋毅" in r.answer and r.grounding in ("verified", "fallback")
    _valid(r, corpus_text)


def test_openai_backend_down_falls_back_to_quotes(indexed_settings):
    from rag.pipeline import Pipeline

    settings = indexed_settings.model_copy(update={
        "backend": "openai", "llm_base_url": "http://127.0.0.1:9/v1", "llm_timeout": 2.0, "llm_retries": 0})
    r = Pipeline(settings).ask(AskRequest(question="英国哪一年正式加入CPTPP？"))
    assert r.grounding == "fallback" and "2024" in r.answer and r.notice
