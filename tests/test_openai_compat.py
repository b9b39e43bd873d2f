"""The OpenAI-compatible endpoint, through the real `openai` SDK against a running server."""

import re

import httpx
import pytest
from openai import OpenAI


@pytest.fixture(scope="module")
def client(live_server):
    return OpenAI(base_url=live_server + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_models_lists_the_backends(client):
    assert {m.id for m in client.models.list()} == {"extractive", "local", "openai"}


def test_chat_completion_with_citations(client, corpus_text):
    r = client.chat.completions.create(model="extractive",
                                       messages=[{"role": "user", "content": "英国哪一年正式加入CPTPP？"}])
    text = r.choices[0].message.content
    assert "2024" in text and "[1]" in text and r.choices[0].finish_reason == "stop"
    citations = r.model_extra["citations"]
    assert {int(n) for n in re.findall(r"\[(\d+)\]", text)} == {c["n"] for c in citations}
    assert all(corpus_text[c["start"]:c["end"]] == c["text"] for c in citations)


def test_streaming_ends_with_citations_and_done(client):
    stream = client.chat.completions.create(model="extractive", stream=True,
                                            messages=[{"role": "user", "content": "日本外务大臣是谁？"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "岩屋毅" in text
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].model_extra["citations"]


def test_history_comes_from_earlier_messages(client):
    r = client.chat.completions.create(model="extractive", messages=[
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": "2020年日英两国签署了什么经贸协定？"},
        {"role": "assistant", "content": "《全面经济伙伴协定》"},
        {"role": "user", "content": "它延续了哪些条款？"}])
    assert "欧盟的自由贸易条款" in r.choices[0].message.content


def test_refusal_is_marked(client):
    r = client.chat.completions.create(model="extractive",
                                       messages=[{"role": "user", "content": "英国的国内生产总值是多少？"}])
    assert r.model_extra["refused"] is True and "文档中没有找到相关信息" in r.choices[0].message.content


def test_bad_requests_are_4xx(live_server):
    url = live_server + "/v1/chat/completions"
    assert httpx.post(url, json={"model": "x", "messages": []}).status_code == 422
    assert httpx.post(url, json={"model": "x", "messages": [{"role": "assistant", "content": "hi"}]}).status_code == 422
    assert httpx.post(url, json={"messages": [{"role": "wizard", "content": "hi"}]}).status_code == 422
    assert httpx.post(url, content=b"{oops", headers={"content-type": "application/json"}).status_code == 422


def test_question_empty_after_cleaning_is_422_not_500(live_server):
    r = httpx.post(live_server + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "\u0004"}]})
    assert r.status_code == 422 and "question" in r.json()["detail"]
