"""The web UI in a real browser (Debian chromium driven by playwright) against a real server."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import CHROMA_URL, make_settings, store_env
from evals.live_server import start_server, stop_server

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


@contextmanager
def open_page(browser, url: str, ready: str = "#question textarea"):
    """A fresh browser context on `url`; fails if the page asked anything of another host."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1300, "height": 950})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    page.goto(url + "/")
    page.wait_for_selector(ready)
    yield page
    assert outside == [], f"the page made requests outside the server: {outside[:3]}"
    context.close()


@pytest.fixture
def page(browser, live_server):
    with open_page(browser, live_server) as page:
        yield page


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


# -- the documents panel, on a private copy of the store (these tests add and delete documents) --------------

UPLOAD_LIMIT_MB = 0.05
# Our own test documents (not about any library). The northern garden's text is long enough that its
# whole-text view has to scroll to show the cited span, which sits near the end.
PLOTS = "".join(f"第{i}号地块今年种植了{crop}，由{i % 7 + 1}户居民轮流照看。\n"
                for i, crop in enumerate(["番茄", "黄瓜", "茄子", "辣椒", "豆角", "南瓜", "菠菜", "韭菜"] * 5, 1))
NORTH = ("北湖社区花园\n北湖社区花园于2019年由附近居民自发建成，占地约1200平方米。\n地块安排\n" + PLOTS +
         "认领菜地\n居民可以认领一块菜地，每块菜地面积为6平方米，认领菜地的年费为120元。"
         "北湖社区花园的大门位于青禾路88号，工具房在大门左侧。\n")
SOUTH = ("南湖社区花园\n南湖社区花园于2021年由街道办事处建成，占地约800平方米，以果树和花卉为主。\n认领菜地\n"
         "居民可以认领一块菜地，每块菜地面积为10平方米，认领菜地的年费为200元。认领申请每年九月统一受理。\n")
FEE_QUESTION = "认领菜地的年费是多少元？"


@pytest.fixture(scope="module")
def own_server(indexed_settings, tmp_path_factory):
    from rag.store import Store

    settings = make_settings(tmp_path_factory.mktemp("ui") / "data")
    if CHROMA_URL:
        Store(indexed_settings).copy_into(Store(settings))
    else:
        shutil.copytree(indexed_settings.data_dir, settings.data_dir)
    proc, url = start_server(settings.data_dir, **store_env(settings), RAG_MAX_UPLOAD_MB=str(UPLOAD_LIMIT_MB))
    yield url
    stop_server(proc)


@pytest.fixture
def own_page(browser, own_server):
    with open_page(browser, own_server, ready="#doc-table .doc") as page:
        yield page


@pytest.fixture
def files(tmp_path):
    def write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return str(path)
    return write


def upload(page, paths: list[str]) -> str:
    page.set_input_files("#upload input[type=file]", paths)
    page.wait_for_function(f"document.querySelectorAll('#upload-status .up-ok, #upload-status .up-no').length"
                           f" == {len(paths)}", timeout=120_000)
    return page.inner_text("#upload-status")


def listed(page) -> list[str]:
    return page.locator("#doc-table .doc-name").all_inner_texts()


def wait_listed(page, name: str, present: bool = True) -> None:
    page.wait_for_function(
        f"{'' if present else '!'}[...document.querySelectorAll('#doc-table .doc-name')].some(e => e.innerText === {name!r})",
        timeout=30_000)


def choose(page, *names: str) -> None:
    """Tick exactly these documents in the scope / delete picker."""
    for box in page.locator("#doc-select label").all():
        want = box.inner_text().strip() in names
        if box.locator("input").is_checked() != want:
            box.click()


def delete_chosen(page) -> None:
    page.click("#delete")
    page.wait_for_selector("#confirm-delete", state="visible", timeout=10_000)
    page.click("#confirm-delete")


def test_upload_ask_read_the_whole_source_delete_then_refused(own_page, files):
    page = own_page
    status = upload(page, [files("北湖社区花园.txt", NORTH)])
    assert "北湖社区花园.txt" in status and "added" in status
    wait_listed(page, "北湖社区花园.txt")
    assert "chunks" in page.inner_text("#doc-table")

    ask(page, "北湖社区花园的大门位于哪条路？")
    page.wait_for_selector("#sources #src-1 mark", timeout=60_000)
    assert "青禾路88号" in last_bot_text(page)
    assert page.inner_text("#sources #src-1 .src-head").startswith("[1]北湖社区花园")
    cited = page.inner_text("#sources #src-1 mark")

    page.locator("#chat a.cite").first.click()  # a citation opens the whole document at the span
    page.wait_for_selector("#fulltext mark", timeout=15_000)
    assert page.inner_text("#fulltext mark") == cited and "青禾路88号" in cited
    assert page.inner_text("#fulltext .ft-body").strip() == NORTH.strip()
    page.wait_for_function("""() => {
        const body = document.querySelector('#fulltext .ft-body'), mark = document.querySelector('#fulltext mark');
        const b = body.getBoundingClientRect(), m = mark.getBoundingClientRect();
        return body.scrollTop > 0 && m.top >= b.top && m.bottom <= b.bottom;
    }""", timeout=5_000)
    page.screenshot(path=str(ARTIFACTS / "ui-fulltext.png"), full_page=True)

    choose(page, "北湖社区花园.txt")
    delete_chosen(page)
    wait_listed(page, "北湖社区花园.txt", present=False)
    ask(page, "北湖社区花园的大门位于哪条路？")
    page.wait_for_selector("#sources .refused", timeout=60_000)
    assert "未在文档中找到答案" in last_bot_text(page)


def test_a_rejected_file_shows_the_servers_reason_and_the_list_is_unchanged(own_page, files):
    page = own_page
    before = listed(page)
    status = upload(page, [files("empty.txt", ""), files("notes.doc", b"\xd0\xcf\x11\xe0 not ours"),
                           files("big.txt", "长" * int(UPLOAD_LIMIT_MB * 1024 * 1024))])
    lines = {line.split(":")[0].strip("✗ "): line for line in status.splitlines()}
    assert "empty" in lines["empty.txt"] and "422" in lines["empty.txt"]
    assert "unsupported file type" in lines["notes.doc"] and "415" in lines["notes.doc"]
    assert f"larger than {UPLOAD_LIMIT_MB:g} MB" in lines["big.txt"] and "413" in lines["big.txt"]
    assert page.locator("#upload-status .up-no").count() == 3
    assert listed(page) == before


def test_a_scoped_question_cites_only_the_chosen_document(own_page, files):
    page = own_page
    upload(page, [files("北湖社区花园.txt", NORTH), files("南湖社区花园.txt", SOUTH)])
    wait_listed(page, "南湖社区花园.txt")
    for i, (chosen, fee, other) in enumerate((("南湖社区花园.txt", "200", "120"), ("北湖社区花园.txt", "120", "200")), 1):
        choose(page, chosen)
        ask(page, FEE_QUESTION)
        page.wait_for_function(f"[...document.querySelectorAll('#chat [data-testid=bot]')]"
                               f".filter(m => m.querySelector('a.cite')).length === {i}", timeout=60_000)
        answer = last_bot_text(page)
        assert fee in answer and other not in answer
        heads = page.locator("#sources .src-head").all_inner_texts()
        assert heads and all(h.split("·")[0].strip().endswith(chosen.removesuffix(".txt")) for h in heads), heads
    page.screenshot(path=str(ARTIFACTS / "ui-scoped.png"), full_page=True)
    examples = page.locator("#examples button").all_inner_texts()  # built from what is indexed now
    assert any("花园" in e or "菜地" in e for e in examples), examples


def test_with_every_document_deleted_the_page_says_how_to_add_one(own_page):
    page = own_page
    choose(page, *[name for name in listed(page)])
    delete_chosen(page)
    page.wait_for_selector("#doc-table #no-docs", timeout=30_000)
    assert "No documents yet" in page.inner_text("#examples-empty")
    assert not page.locator("#examples").is_visible()


# -- sign-in ---------------------------------------------------------------------------------------------------

API_KEY, ADMIN_KEY = "ui-test-key-7Yq2", "ui-admin-key-Pw9c"


def sign_in(page, key: str) -> None:
    page.fill("#key", key)
    page.click("#sign-in")


def test_with_keys_set_the_page_asks_for_sign_in_answers_and_only_the_admin_adds(browser, tmp_path, files):
    settings = make_settings(tmp_path / "fresh")  # a fresh data dir: this is also a first start
    proc, url = start_server(settings.data_dir, **store_env(settings), RAG_API_KEY=API_KEY, RAG_ADMIN_KEY=ADMIN_KEY)
    try:
        r = httpx.get(url + "/", headers={"accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert httpx.get(url + "/config").status_code == 401
        with open_page(browser, url, ready="#login") as page:
            assert page.url.endswith("/login")
            sign_in(page, "wrong")
            page.wait_for_selector(".err")
            sign_in(page, API_KEY)
            page.wait_for_selector("#question textarea", timeout=30_000)
            assert API_KEY not in page.content() and API_KEY not in page.url
            page.wait_for_selector("#doc-table .doc", timeout=30_000)  # the sample, indexed on this first start
            ask(page, "英国哪一年正式加入CPTPP？")
            page.wait_for_selector("#sources mark", timeout=60_000)
            assert "2024" in last_bot_text(page)
            page.wait_for_function("document.querySelector('#documents').innerText.includes('needs the admin')")
            assert page.locator("#upload input[type=file]").count() == 0  # a reader cannot add documents
            page.screenshot(path=str(ARTIFACTS / "ui-signed-in.png"), full_page=True)

            page.click("#whoami a[href='/logout']")
            page.wait_for_selector("#login")
            sign_in(page, ADMIN_KEY)
            page.wait_for_selector("#doc-table .doc", timeout=30_000)
            status = upload(page, [files("南湖社区花园.txt", SOUTH)])
            assert "added" in status
            wait_listed(page, "南湖社区花园.txt")
            assert ADMIN_KEY not in page.content()
    finally:
        stop_server(proc)
    log = Path(proc.log_path).read_text(errors="replace")
    assert API_KEY not in log and ADMIN_KEY not in log
