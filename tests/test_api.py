import json

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app


@pytest.fixture(scope="module")
def client(indexed_settings, pipeline):
    return TestClient(create_app(indexed_settings, pipeline=pipeline))


def test_ask_contract(client, corpus_text):
    r = client.post("/api/ask", json={"question": "英国哪一年正式加入CPTPP？"})
    assert r.status_code == 200
    body = r.json()
    assert {"answer", "refused", "citations", "backend", "timings_ms"} <= body.keys()
    assert "2024" in body["answer"] and body["refused"] is False and body["backend"] == "extractive"
    c = body["citations"][0]
    assert {"n", "doc_id", "chunk_id", "text", "start", "end", "score"} <= c.keys()
    assert corpus_text[c["start"]:c["end"]] == c["text"]
    assert set(body["timings_ms"]) == {"retrieve", "generate", "total"}


def test_top_k_and_history_are_accepted(client):
    r = client.post("/api/ask", json={"question": "那次会议由谁主持？", "top_k": 3,
                                      "history": [{"role": "user", "content": "首次美日经济版2+2会议在哪里举行？"}]})
    assert r.status_code == 200 and len(r.json()["retrieved"]) == 3


@pytest.mark.parametrize("payload", [
    {"question": ""},
    {"question": "   \n"},
    {"question": "问" * 2001},
    {"question": 42},
    {"question": ["a"]},
    {},
    {"question": "谁？", "history": [{"role": "system", "content": "x"}]},
    {"question": "谁？", "history": "not a list"},
    {"question": "谁？", "top_k": 0},
    {"question": "谁？", "top_k": -3},
    {"question": "谁？", "top_k": 10_000},
])
def test_invalid_input_is_a_clear_422(client, payload):
    r = client.post("/api/ask", json=payload)
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


def test_malformed_json_is_422(client):
    r = client.post("/api/ask", content=b"{bad json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


def test_stream_sends_deltas_then_done(client):
    with client.stream("POST", "/api/ask", json={"question": "日本外务大臣是谁？", "stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [block for block in r.read().decode().split("\n\n") if block.strip()]
    kinds = [e.split("\n")[0].removeprefix("event: ") for e in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"}
    done = json.loads(events[-1].split("data: ", 1)[1])
    assert "岩屋毅" in done["answer"] and done["citations"]


def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["documents"] == 1 and body["chunks"] > 5
    assert body["backend"] == "extractive" and body["backend_status"] in ("ready", "not loaded")


def test_documents_endpoints_serve_the_text_citations_index(client, corpus_text):
    docs = client.get("/api/documents").json()
    assert [d["doc_id"] for d in docs] == ["japan-uk-economic-2plus2"]
    doc = client.get("/api/documents/japan-uk-economic-2plus2").json()
    assert doc["text"] == corpus_text and doc["chars"] == len(corpus_text)
    assert client.get("/api/documents/nope").status_code == 404


@pytest.mark.parametrize("payload", [
    {"question": "问" * 1_000_000},
    {"question": "\x00\x01\x02"},
    {"question": "谁？", "history": [{"role": "user", "content": "x"}] * 1000},
    {"question": "谁？", "history": [{"role": "user"}]},
    {"question": "谁？", "top_k": "five"},
    {"question": None},
])
def test_more_bad_input_is_422(client, payload):
    r = client.post("/api/ask", json=payload)
    assert r.status_code == 422 and r.json()["detail"]


def test_lone_surrogate_is_422(client):
    r = client.post("/api/ask", content='{"question": "\\ud800 谁"}'.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422 and "surrogate" in r.json()["detail"]


def test_unknown_fields_are_ignored_and_control_characters_dropped(client):
    r = client.post("/api/ask", json={"question": "英国哪一年\x07正式加入CPTPP？", "id": "q1", "extra": {"a": 1}})
    assert r.status_code == 200 and "2024" in r.json()["answer"]


def test_one_structured_log_line_per_request_without_text(client, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="rag.access")
    client.post("/api/ask", json={"question": "英国哪一年正式加入CPTPP？"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "rag.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["route"] == "/api/ask" and line["status"] == 200 and line["backend"] == "extractive"
    assert line["grounding"] == "verified" and line["ms"] > 0 and line["id"]
    assert "CPTPP" not in caplog.text and "2024" not in caplog.text
