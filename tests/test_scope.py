"""Questions scoped to chosen documents (`doc_ids`): retrieval, /api/ask, and /v1 through the openai SDK."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from index.ingest import add_document
from rag.api import create_app
from rag.pipeline import Pipeline
from rag.schema import AskRequest, UnknownDocuments

# Two documents that answer the same question differently: only scoping tells which one is meant.
NORTH = ("北湖社区花园\n北湖社区花园位于青禾路88号，占地约1200平方米。居民可以认领一块菜地，"
         "每块菜地面积为6平方米，认领菜地的年费为120元。认领申请每年三月统一受理。\n")
SOUTH = ("南湖社区花园\n南湖社区花园位于柳岸街17号，占地约800平方米。居民可以认领一块菜地，"
         "每块菜地面积为10平方米，认领菜地的年费为200元。认领申请每年九月统一受理。\n")
QUESTION = "认领菜地的年费是多少元？"


@pytest.fixture(scope="module")
def two_gardens(tmp_path_factory):
    from conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("scope"))
    pipeline = Pipeline(settings)
    for name, text in (("north.txt", NORTH), ("south.txt", SOUTH)):
        add_document(pipeline.store, pipeline.embedder, settings, name, text)
    return settings, pipeline


def test_retrieval_searches_only_the_chosen_documents(two_gardens):
    _, pipeline = two_gardens
    for mode in ("hybrid", "dense", "bm25"):
        for doc_id in ("north", "south"):
            nodes = pipeline.retriever(10, mode, doc_ids=[doc_id]).retrieve(QUESTION)
            assert nodes and {n.node.metadata["doc_id"] for n in nodes} == {doc_id}, mode
        both = pipeline.retriever(10, mode).retrieve(QUESTION)
        assert {n.node.metadata["doc_id"] for n in both} == {"north", "south"}, mode


def test_scoped_answers_cite_only_the_chosen_document(two_gardens):
    _, pipeline = two_gardens
    for doc_id, fee, other in (("north", "120", "200"), ("south", "200", "120")):
        answer = pipeline.ask(AskRequest(question=QUESTION, doc_ids=[doc_id]))
        assert not answer.refused and fee in answer.answer and other not in answer.answer
        assert answer.citations and {c.doc_id for c in answer.citations} == {doc_id}
        assert {r.doc_id for r in answer.retrieved} == {doc_id}


def test_unknown_document_is_an_error_not_a_silent_search_of_everything(two_gardens):
    _, pipeline = two_gardens
    with pytest.raises(UnknownDocuments) as err:
        pipeline.ask(AskRequest(question=QUESTION, doc_ids=["north", "no-such-doc"]))
    assert err.value.doc_ids == ["no-such-doc"]


@pytest.fixture(scope="module")
def client(two_gardens):
    settings, pipeline = two_gardens
    return TestClient(create_app(settings, pipeline=pipeline))


def test_api_ask_accepts_doc_ids(client):
    body = client.post("/api/ask", json={"question": QUESTION, "doc_ids": ["south"]}).json()
    assert "200" in body["answer"] and {c["doc_id"] for c in body["citations"]} == {"south"}
    unscoped = client.post("/api/ask", json={"question": QUESTION, "doc_ids": []}).json()
    assert {r["doc_id"] for r in unscoped["retrieved"]} == {"north", "south"}


@pytest.mark.parametrize("doc_ids, where", [
    (["south", "gone"], "gone"),
    ("south", "doc_ids"),
    ([1], "doc_ids"),
    ([""], "doc_ids"),
])
def test_api_bad_doc_ids_are_a_clear_422(client, doc_ids, where):
    r = client.post("/api/ask", json={"question": QUESTION, "doc_ids": doc_ids})
    assert r.status_code == 422 and where in r.json()["detail"]


def test_streaming_with_an_unknown_document_is_422(client):
    r = client.post("/api/ask", json={"question": QUESTION, "doc_ids": ["gone"], "stream": True})
    assert r.status_code == 422 and "gone" in r.json()["detail"]


def test_openai_sdk_sends_doc_ids_as_an_extra_field(two_gardens, server_factory):
    settings, _ = two_gardens
    _, url = server_factory(settings)
    client = OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0, timeout=60)
    for doc_id, fee in (("north", "120"), ("south", "200")):
        r = client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": QUESTION}],
                                           extra_body={"doc_ids": [doc_id]})
        assert fee in r.choices[0].message.content
        assert {c["doc_id"] for c in r.model_extra["citations"]} == {doc_id}
    r = httpx.post(url + "/v1/chat/completions", timeout=60,
                   json={"messages": [{"role": "user", "content": QUESTION}], "doc_ids": ["gone"]})
    assert r.status_code == 422 and "gone" in r.json()["detail"]
