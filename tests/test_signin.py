"""The page behind a sign-in when keys are set (HTTP level; tests/test_ui_browser.py drives it in a browser)."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from ui.signin import COOKIE, SESSION_SECONDS, Sessions

API_KEY, ADMIN_KEY = "k3y-for-readers", "k3y-for-admins"


@pytest.fixture(scope="module")
def client(indexed_settings, pipeline):
    settings = indexed_settings.model_copy(update={"api_key": API_KEY, "admin_key": ADMIN_KEY})
    return TestClient(create_app(settings, pipeline=pipeline, with_ui=True), follow_redirects=False)


def _signed_in(client, key: str) -> TestClient:
    client.cookies.clear()
    r = client.post("/login", data={"key": key})
    assert r.status_code == 303 and r.headers["location"] == "/"
    return client


def test_without_a_sign_in_nothing_of_the_page_is_served(client):
    client.cookies.clear()
    r = client.get("/", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    for path in ("/", "/config", "/gradio_api/info", "/theme.css"):
        assert client.get(path).status_code == 401, path
    assert client.post("/gradio_api/queue/join", json={}).status_code == 401
    page = client.get("/login")
    assert page.status_code == 200 and 'type="password"' in page.text
    assert API_KEY not in page.text and ADMIN_KEY not in page.text


def test_a_wrong_key_is_refused_and_a_forged_cookie_is_ignored(client):
    client.cookies.clear()
    r = client.post("/login", data={"key": "guess"})
    assert r.status_code == 401 and "Wrong key" in r.text and COOKIE not in r.headers.get("set-cookie", "")
    client.cookies.set(COOKIE, "admin.9999999999.deadbeef")
    assert client.get("/config").status_code == 401


def test_after_sign_in_the_page_is_served_and_the_key_is_nowhere(client, caplog):
    caplog.set_level(logging.INFO)
    _signed_in(client, API_KEY)
    cookie = client.cookies.get(COOKIE)
    assert cookie and API_KEY not in cookie
    page = client.get("/", headers={"accept": "text/html"})
    config = client.get("/config")
    assert page.status_code == 200 and config.status_code == 200
    for text in (page.text, config.text, caplog.text):
        assert API_KEY not in text and ADMIN_KEY not in text
    # the API still wants its bearer key: a page session is not an API credential
    assert client.post("/api/ask", json={"question": "英国哪一年正式加入CPTPP？"}).status_code == 401


def test_logout_ends_the_session(client):
    _signed_in(client, API_KEY)
    r = client.get("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert COOKIE not in client.cookies or not client.cookies.get(COOKIE)
    assert client.get("/config").status_code == 401


def test_roles_follow_the_api_rules():
    both = Sessions(_keys(api=API_KEY, admin=ADMIN_KEY))
    assert both.role_for_key(ADMIN_KEY) == "admin" and both.role_for_key(API_KEY) == "user"
    assert both.role_for_key("nope") is None and both.role_for_key("") is None
    assert both.can_change("admin") and not both.can_change("user") and not both.can_change("guest")
    reader_key_only = Sessions(_keys(api=API_KEY))
    assert reader_key_only.can_change("user") and not reader_key_only.can_change("guest")
    admin_only = Sessions(_keys(admin=ADMIN_KEY))
    assert not admin_only.required and admin_only.can_change("admin") and not admin_only.can_change("guest")
    assert Sessions(_keys()).can_change(None) and not Sessions(_keys()).enabled


def test_sessions_expire_and_a_changed_key_signs_everyone_out():
    sessions = Sessions(_keys(api=API_KEY))
    old = sessions.issue("user", now=time.time() - SESSION_SECONDS - 1)
    fresh = sessions.issue("user")
    assert sessions.role(_request(old)) is None and sessions.role(_request(fresh)) == "user"
    assert Sessions(_keys(api="another")).role(_request(fresh)) is None


def _keys(api: str | None = None, admin: str | None = None):
    from rag.config import Settings

    return Settings(_env_file=None, api_key=api, admin_key=admin)


def _request(cookie: str):
    from starlette.requests import Request

    return Request({"type": "http", "headers": [(b"cookie", f"{COOKIE}={cookie}".encode())]})


def test_with_only_an_admin_key_the_page_is_open_and_the_sign_in_is_for_changes(indexed_settings, pipeline):
    settings = indexed_settings.model_copy(update={"admin_key": ADMIN_KEY})
    client = TestClient(create_app(settings, pipeline=pipeline, with_ui=True), follow_redirects=False)
    assert client.get("/", headers={"accept": "text/html"}).status_code == 200
    assert client.get("/config").status_code == 200
    assert "admin key" in client.get("/login").text
    r = client.post("/login", data={"key": ADMIN_KEY})
    assert r.status_code == 303 and client.cookies.get(COOKIE, "").startswith("admin.")
