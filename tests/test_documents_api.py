"""Document management over HTTP (and the CLI): add, list, read, delete, limits, keys."""

import re

import pytest
from conftest import word_document
from fastapi.testclient import TestClient

from index.ingest import index_paths
from rag.api import create_app
from rag.pipeline import Pipeline

EXTRA = ("青禾科技年假制度\n员工入职满一年后享有10天带薪年假，入职满五年后增加到15天。"
         "未使用的年假最多可顺延5天至次年3月31日。\n")


@pytest.fixture
def app_settings(fresh_settings):
    index_paths([fresh_settings.corpus_dir], fresh_settings, progress=False)
    return fresh_settings


@pytest.fixture
def client(app_settings):
    return TestClient(create_app(app_settings, pipeline=Pipeline(app_settings)))


def _upload(client, name, data, **kw):
    return client.post("/api/documents", files={"file": (name, data, "application/octet-stream")}, **kw)


def test_upload_makes_questions_answerable_and_delete_refuses_them_again(client, app_settings):
    question = {"question": "员工入职满五年后有多少天带薪年假？"}
    assert client.post("/api/ask", json=question).json()["refused"] is True
    r = _upload(client, "leave-policy.txt", EXTRA.encode("utf-8"))
    assert r.status_code == 201 and r.json()["status"] == "added"
    doc_id = r.json()["doc_id"]
    assert doc_id == "leave-policy"
    body = client.post("/api/ask", json=question).json()
    assert not body["refused"] and "15" in body["answer"]
    text = client.get(f"/api/documents/{doc_id}").json()["text"]
    assert text == EXTRA
    for c in body["citations"]:
        assert c["doc_id"] == doc_id and text[c["start"]:c["end"]] == c["text"]
    assert {d["doc_id"] for d in client.get("/api/documents").json()} == {"japan-uk-economic-2plus2", doc_id}
    assert client.delete(f"/api/documents/{doc_id}").status_code == 204
    assert client.post("/api/ask", json=question).json()["refused"] is True
    assert client.delete(f"/api/documents/{doc_id}").status_code == 404


def test_same_content_twice_is_not_duplicated_and_gb18030_is_decoded(client):
    first = _upload(client, "a.txt", EXTRA.encode("gb18030"))
    assert first.status_code == 201 and first.json()["status"] == "added"
    again = _upload(client, "b.txt", EXTRA.encode("utf-8"))
    assert again.json()["status"] == "unchanged" and again.json()["doc_id"] == "a"
    assert len(client.get("/api/documents").json()) == 2


def test_html_upload(client):
    r = _upload(client, "page.html", "<html><body><h1>标题</h1><p>东京塔高333米。</p><script>x()</script></body></html>".encode())
    assert r.status_code == 201
    assert client.get(f"/api/documents/{r.json()['doc_id']}").json()["text"] == "标题\n东京塔高333米。\n"


def test_word_upload_is_answered_from_its_table(client):
    r = _upload(client, "leave.docx", word_document())
    assert r.status_code == 201
    text = client.get(f"/api/documents/{r.json()['doc_id']}").json()["text"]
    assert "Branch: Westside | Visits: 41,200" in text
    body = client.post("/api/ask", json={"question": "员工入职满五年后有多少天带薪年假？", "backend": "extractive"}).json()
    assert not body["refused"] and "15" in body["answer"]
    assert all(text[c["start"]:c["end"]] == c["text"] for c in body["citations"] if c["doc_id"] == r.json()["doc_id"])


@pytest.mark.parametrize("name,data,status", [
    ("empty.txt", b"", 422),
    ("binary.txt", bytes(range(256)) * 4, 422),
    ("bad-utf8.txt", b"\xff\xfe\xfa\x80\x81 abc \xc3\x28", 422),
    ("../../etc/passwd", b"root:x:0:0", 400),
    ("dir/file.txt", b"text", 400),
    ("tool.exe", b"MZ....", 415),
    ("fake.pdf", b"this is not a pdf", 422),
    ("fake.docx", b"PK\x03\x04 not a zip", 422),
    ("spaces.txt", b"   \n\t ", 422),
])
def test_bad_uploads_get_clear_4xx_and_change_nothing(client, name, data, status):
    before = client.get("/api/documents").json()
    r = _upload(client, name, data)
    assert r.status_code == status and isinstance(r.json()["detail"], str)
    assert client.get("/api/documents").json() == before


def test_upload_size_limit(app_settings):
    settings = app_settings.model_copy(update={"max_upload_mb": 0.001})
    client = TestClient(create_app(settings, pipeline=Pipeline(settings)))
    r = _upload(client, "big.txt", "长" .encode() * 2000)
    assert r.status_code == 413 and "MB" in r.json()["detail"]


def test_api_key_protects_everything_but_healthz(app_settings):
    settings = app_settings.model_copy(update={"api_key": "s3cret", "admin_key": "adm1n"})
    client = TestClient(create_app(settings, pipeline=Pipeline(settings)))
    assert client.get("/healthz").status_code == 200
    ask = {"question": "英国哪一年正式加入CPTPP？"}
    assert client.post("/api/ask", json=ask).status_code == 401
    assert client.post("/api/ask", json=ask, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/api/ask", json=ask, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/api/documents").status_code == 401
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    user = {"Authorization": "Bearer s3cret"}
    assert _upload(client, "x.txt", EXTRA.encode(), headers=user).status_code == 401
    assert _upload(client, "x.txt", EXTRA.encode(), headers={"Authorization": "Bearer adm1n"}).status_code == 201


def test_several_files_in_one_upload_are_indexed_together_with_a_summary(client, app_settings):
    from rag.store import Store

    other = "东京塔位于东京都港区，高333米，1958年建成。\n"
    generation = Store(app_settings).generation()
    files = [("file", ("leave-policy.txt", EXTRA.encode(), "text/plain")),
             ("file", ("tool.exe", b"MZ....", "application/octet-stream")),
             ("file", ("tower.md", other.encode(), "text/markdown")),
             ("file", ("empty.txt", b"", "text/plain"))]
    r = client.post("/api/documents", files=files)
    assert r.status_code == 201
    body = r.json()
    assert [(d["doc_id"], d["status"]) for d in body["documents"]] == [("leave-policy", "added"), ("tower", "added")]
    assert [(x["name"], x["status_code"]) for x in body["rejected"]] == [("tool.exe", 415), ("empty.txt", 422)]
    assert (body["added"], body["replaced"], body["unchanged"]) == (2, 0, 0)
    assert body["chars"] == len(EXTRA) + len(other) and body["chunks"] == sum(d["chunks"] for d in body["documents"])
    assert client.get("/api/documents/tower").json()["text"] == other
    assert not client.post("/api/ask", json={"question": "员工入职满五年后有多少天带薪年假？"}).json()["refused"]
    store = Store(app_settings)
    assert store.generation() != generation and len(store.list_documents()) == 3
    # the same files again: nothing new; a new version of one replaces it
    again = client.post("/api/documents", files=[("file", ("leave-policy.txt", EXTRA.encode(), "text/plain")),
                                                 ("file", ("tower.md", ("更新：" + other).encode(), "text/plain"))])
    assert [d["status"] for d in again.json()["documents"]] == ["unchanged", "replaced"]
    assert client.get("/api/documents/tower").json()["text"] == "更新：" + other


def test_an_upload_of_only_bad_files_is_refused_and_changes_nothing(client):
    before = client.get("/api/documents").json()
    r = client.post("/api/documents", files=[("file", ("a.exe", b"MZ", "application/octet-stream")),
                                             ("file", ("b.exe", b"MZ", "application/octet-stream"))])
    assert r.status_code == 415 and "a.exe" in r.json()["detail"] and "b.exe" in r.json()["detail"]
    assert client.get("/api/documents").json() == before
