"""The web UI in a real browser (Debian chromium driven by playwright) against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    page.goto(live_server + "/")
    page.wait_for_selector("#question textarea")
    yield page
    assert outside == [], f"the page made requests outside the server: {outside[:3]}"
    context.close()


def ask(page, question: str):
    page.fill("#question textarea", question)
    page.click("#send")


def last_bot_text(page) -> str:
    return page.locator("#chat .message.bot, #chat [data-testid='bot']").last.inner_text()


def test_answer_shows_marker_and_highlighted_span(page):
    ask(page, "英国哪一年正式加入CPTPP？")
    page.wait_for_selector("#sources mark", timeout=60_000)
    assert "2024" in page.inner_text("#chat") and "[1]" in page.inner_text("#chat")
    mark = page.inner_text("#sources #src-1 mark")
    assert "英国于2024年正式加入CPTPP" in mark
    assert "字符" in page.inner_text("#sources #src-1")
    page.screenshot(path=str(ARTIFACTS / "ui-answer.png"), full_page=True)


def test_clicking_a_citation_brings_its_source_into_view(page):
    ask(page, "日英经济版“2+2”首次会议由哪些人主持？")
    page.wait_for_selector("#sources #src-1", timeout=60_000)
    page.locator("#chat a.cite").first.click()
    page.wait_for_selector("#sources .src.active", timeout=5_000)
    assert page.eval_on_selector("#sources .src.active", "e => e.id") == "src-1"
    page.screenshot(path=str(ARTIFACTS / "ui-citation-click.png"), full_page=True)


def test_unanswerable_question_shows_refusal_state(page):
    ask(page, "日英经济版“2+2”第二次会议将于何时举行？")
    page.wait_for_selector("#sources .refused", timeout=60_000)
    chat = page.inner_text("#chat")
    assert "未在文档中找到答案" in chat and "文档中没有找到相关信息" in chat
    assert page.locator("#sources .src").count() == 0
    page.screenshot(path=str(ARTIFACTS / "ui-refused.png"), full_page=True)


def test_follow_up_uses_the_conversation_and_new_conversation_clears_it(page):
    ask(page, "2020年日英两国签署了什么经贸协定？")
    page.wait_for_selector("#sources mark", timeout=60_000)
    ask(page, "它延续了哪些条款？")
    page.wait_for_function("document.querySelector('#chat').innerText.includes('欧盟的自由贸易条款')", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "ui-follow-up.png"), full_page=True)
    page.click("#new-conversation")
    page.wait_for_function("!document.querySelector('#chat').innerText.includes('欧盟')", timeout=10_000)
    assert "来源会显示在这里" in page.inner_text("#sources")


def test_api_docs_page_renders_offline(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
    page.goto(live_server + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    text = page.inner_text("#swagger-ui")
    assert "/api/ask" in text and "/v1/chat/completions" in text and "/api/documents" in text
    assert page.locator(".opblock").count() >= 7 and outside == []
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    context.close()
