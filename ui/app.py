"""Gradio page, mounted at `/` on the same FastAPI app as the API.

A documents panel (upload, list, delete, pick the documents a question may
search), the chat (answers stream in; `[n]` markers link to the sources panel,
which shows each cited span inside its paragraph), and the whole text of a
cited document with the span highlighted.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from rag.schema import AskRequest, AskResponse, UnknownDocuments
from ui import documents as docs_ui
from ui.examples import CorpusExamples
from ui.signin import ADMIN, USER, Sessions

log = logging.getLogger(__name__)

UPLOAD_LABEL = "拖入或点击上传（可多个） · Drop or click to add files (.txt .md .html .pdf .docx, several at once)"
REFUSED_BADGE = "**未在文档中找到答案 · Not in the documents**"

CSS = """
#sources .src { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin: 0 0 10px; }
#sources .src.active { border-color: #d4a72c; box-shadow: 0 0 0 2px #f5d76e; }
#sources .src-head { font-size: 0.85em; color: #57606a; margin-bottom: 4px; }
#sources .src-n { font-weight: 700; color: #0969da; margin-right: 6px; }
#sources mark { background: #fff3a0; padding: 0 1px; }
#sources .ctx { line-height: 1.6; }
#sources .empty { color: #57606a; font-style: italic; }
#sources .refused { color: #9a3412; font-style: normal; font-weight: 600; }
#retrieved table { font-size: 0.8em; }
a.cite { text-decoration: none; font-weight: 700; }
#sources a.open-source { font-size: 0.85em; margin-left: 8px; }
#fulltext .ft-head { font-size: 0.85em; color: #57606a; margin: 4px 0; }
#fulltext .ft-body { position: relative; max-height: 420px; overflow: auto; white-space: pre-wrap; line-height: 1.6;
  border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; }
#fulltext mark { background: #ffd33d; padding: 0 1px; }
#doc-table .doc { border-bottom: 1px solid #eaeef2; padding: 5px 2px; }
#doc-table .doc-name { font-weight: 600; word-break: break-all; }
#doc-table .doc-meta, #doc-table .doc-count { font-size: 0.8em; color: #57606a; }
#doc-table .empty, #examples-empty { color: #57606a; }
#upload-status .up { font-size: 0.85em; margin: 2px 0; }
#upload-status .up-no { color: #b42318; }
#upload-status .up-ok { color: #1a7f37; }
#whoami { font-size: 0.85em; color: #57606a; text-align: right; }
"""

# Clicking a [n] marker scrolls its source into view and highlights it.
JS = """
() => {
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest('a.cite, a[href^="#src-"]');
    if (!a) return;
    ev.preventDefault();
    const id = a.getAttribute('href').slice(1);
    document.querySelectorAll('#sources .src.active').forEach(e => e.classList.remove('active'));
    const el = document.getElementById(id);
    if (el) {
      el.classList.add('active');
      el.scrollIntoView({behavior: 'smooth', block: 'center'});
      const open = el.querySelector('a.open-source');  // and show it in the whole document
      if (open) open.click();
    }
  }, true);
}
"""

# The sources panel: "full text" links ask the server for the whole document.
SOURCES_JS = """
element.addEventListener('click', (ev) => {
  const a = ev.target.closest('a.open-source');
  if (!a) return;
  ev.preventDefault();
  trigger('click', {doc_id: a.dataset.doc, start: Number(a.dataset.start), end: Number(a.dataset.end)});
});
"""

# The full-text viewer scrolls its highlighted span into view whenever it changes.
FULLTEXT_JS = """
const show = () => {
  const body = element.querySelector('.ft-body'), mark = element.querySelector('mark');
  if (!body || !mark) return;
  body.scrollTop = Math.max(0, mark.offsetTop - body.clientHeight / 3);
  element.scrollIntoView({block: 'nearest'});
};
watch('value', show);
show();
"""


def link_markers(answer: str) -> str:
    return re.sub(r"\[(\d+)\]", r'<a class="cite" href="#src-\1">[\1]</a>', html.escape(answer, quote=False))


def paragraph_around(text: str, start: int, end: int) -> tuple[str, str, str]:
    para_start = text.rfind("\n", 0, start) + 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end < 0 else para_end
    return text[para_start:start], text[start:end], text[end:para_end]


def sources_html(response: AskResponse | None, document_text: Callable[[str], str | None]) -> str:
    if response is None:
        return '<div class="empty">来源会显示在这里 · Sources appear here</div>'
    if response.refused:
        return '<div class="empty refused">没有来源：文档中没有找到相关信息。 · No sources: the documents do not contain the answer.</div>'
    cards = []
    for c in response.citations:
        text = document_text(c.doc_id) or c.text
        before, span, after = paragraph_around(text, c.start, c.end) if text[c.start:c.end] == c.text else ("", c.text, "")
        section = f" · {html.escape(c.section)}" if c.section else ""
        cards.append(
            f'<div class="src" id="src-{c.n}"><div class="src-head"><span class="src-n">[{c.n}]</span>'
            f"{html.escape(c.doc_id)}{section} · 字符 {c.start}–{c.end}"
            f'<a class="open-source" href="#fulltext" data-doc="{html.escape(c.doc_id)}" data-start="{c.start}" '
            f'data-end="{c.end}">全文 · Full text</a></div>'
            f'<div class="ctx">{html.escape(before)}<mark>{html.escape(span)}</mark>{html.escape(after)}</div></div>'
        )
    return "\n".join(cards) or '<div class="empty">没有引用 · No citations</div>'


def retrieved_html(response: AskResponse | None) -> str:
    if response is None or not response.retrieved:
        return ""
    rows = "".join(
        f"<tr><td>{i}</td><td>{r.score:.4f}</td><td>{'' if r.dense_score is None else f'{r.dense_score:.3f}'}</td>"
        f"<td>{'' if r.bm25_score is None else f'{r.bm25_score:.2f}'}</td><td>{html.escape(r.chunk_id)}</td>"
        f"<td>{html.escape(r.text[:80])}…</td></tr>"
        for i, r in enumerate(response.retrieved, 1)
    )
    return ("<table><tr><th>#</th><th>fused</th><th>dense</th><th>BM25</th><th>chunk</th><th>text</th></tr>"
            f"{rows}</table>")


def render_answer(response: AskResponse) -> str:
    if response.refused:
        return f"{REFUSED_BADGE}\n\n{html.escape(response.answer)}"
    body = link_markers(response.answer)
    if response.grounding == "fallback":
        return f"*提示 · Note: {html.escape(response.notice or 'quoted from the sources')}*\n\n{body}"
    return body


NO_DOCS_HINT = ("还没有文档：在左侧「文档」面板拖入 .txt .md .html .pdf .docx 文件即可提问。  \n"
                "No documents yet: drop .txt, .md, .html, .pdf or .docx files on the Documents panel, then ask.")
NO_EXAMPLES_HINT = "可以问任何关于已添加文档的问题。 · Ask anything about the documents you added."


def whoami_html(sessions: Sessions, role: str | None) -> str:
    if not sessions.enabled:
        return ""
    if role in (ADMIN, USER):
        who = "管理员 · admin" if role == ADMIN else "已登录 · signed in"
        return f'{who} · <a href="/logout">退出 · Sign out</a>'
    return '<a href="/login">管理员登录 · Sign in with the admin key</a> 以添加或删除文档 · to add or delete documents'


def build_ui(get_pipeline: Callable[[], Any], backends: list[str], default_backend: str, default_top_k: int,
             documents: docs_ui.DocumentsApi, sessions: Sessions, examples: CorpusExamples) -> gr.Blocks:
    texts: dict[str, str | None] = {}

    def document_text(doc_id: str) -> str | None:
        if doc_id not in texts:
            texts[doc_id] = get_pipeline().store.document_text(doc_id)
        return texts[doc_id]

    def respond(message: str, chat: list[dict], conversation: list[dict], backend: str, top_k: float, show: bool,
                scope: list[str] | None):
        chat = list(chat or [])
        message = (message or "").strip()
        if not message:
            gr.Warning("请输入问题 · Please type a question")
            yield chat, gr.update(), gr.update(), conversation, ""
            return
        try:
            request = AskRequest(question=message, history=conversation[-20:], top_k=int(top_k),
                                 doc_ids=list(scope or []) or None)
        except ValueError as exc:
            gr.Warning(f"无效的问题 · Invalid question: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}")
            yield chat, gr.update(), gr.update(), conversation, message
            return
        chat += [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        yield chat, gr.update(), gr.update(), conversation, ""
        pipeline = get_pipeline()
        try:
            if backend != "extractive":
                chat[-1]["content"] = "正在加载模型… · Loading the model…"
                yield chat, gr.update(), gr.update(), conversation, ""
                pipeline.backend(backend)
            streamed = ""
            response = None
            for kind, payload in pipeline.events(request, backend=backend):
                if kind == "delta":
                    streamed += payload
                    chat[-1]["content"] = html.escape(streamed) + " ▌"
                    yield chat, gr.update(), gr.update(), conversation, ""
                else:
                    response = payload
        except UnknownDocuments as exc:
            chat[-1]["content"] = ("所选文档已不存在，请重新选择 · A selected document no longer exists "
                                   f"({html.escape(', '.join(exc.doc_ids))}); pick again")
            yield chat, sources_html(None, document_text), "", conversation, ""
            return
        except Exception as exc:  # keep the UI usable whatever the backend does
            log.exception("UI answer failed")
            chat[-1]["content"] = f"出错了，请重试 · Something went wrong: {html.escape(type(exc).__name__)}: {html.escape(str(exc))[:200]}"
            yield chat, sources_html(None, document_text), "", conversation, ""
            return
        texts.clear()  # documents may have changed between questions
        chat[-1]["content"] = render_answer(response)
        conversation = conversation + [{"role": "user", "content": message},
                                       {"role": "assistant", "content": response.answer}]
        yield (chat, sources_html(response, document_text), retrieved_html(response) if show else "",
               conversation, "")

    def reset():
        return [], sources_html(None, document_text), "", [], "", ""

    async def panel(selected: list[str] | None = None) -> tuple:
        """The documents list, the scope picker and the examples, from what is indexed now."""
        listed = await documents.list()
        ids = {d["doc_id"] for d in listed}
        questions = await asyncio.to_thread(examples.get) if listed else []
        hint = NO_EXAMPLES_HINT if listed else NO_DOCS_HINT
        return (docs_ui.table_html(listed),
                gr.update(choices=docs_ui.choices(listed), value=[i for i in selected or [] if i in ids]),
                gr.Dataset(samples=[[q] for q in questions], visible=bool(questions)),
                gr.update(value=hint, visible=not questions))

    async def on_load(request: gr.Request):
        role = request.username
        can = sessions.can_change(role)
        upload_label = UPLOAD_LABEL if can else "添加文档需要管理员登录 · Adding documents needs the admin sign-in"
        return (*await panel(), gr.update(interactive=can, label=upload_label), gr.update(interactive=can),
                whoami_html(sessions, role))

    async def upload(files, selected, request: gr.Request):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files or []]
        if not paths:
            return
        names = [docs_ui.file_name(p) for p in paths]
        if not sessions.can_change(request.username):
            rows = [(n, "no", "添加文档需要管理员密钥 · Adding documents needs the admin key: sign in with it")
                    for n in names]
            yield docs_ui.upload_rows(rows), gr.skip(), gr.skip(), gr.skip(), gr.skip(), None
            return
        rows = [(n, "wait", "等待 · waiting") for n in names]
        for i, (name, path) in enumerate(zip(names, paths)):
            rows[i] = (name, "work", "正在索引 · indexing…")
            yield docs_ui.upload_rows(rows), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            try:
                ok, result = await documents.upload(name, Path(path).read_bytes())
            except Exception as exc:  # the API turns bad input into 4xx; anything else is reported, not raised
                log.exception("upload of %s failed", name)
                ok, result = False, f"{type(exc).__name__}: {exc}"
            rows[i] = (name, "ok", docs_ui.uploaded_message(result)) if ok else (name, "no", str(result))
        yield (docs_ui.upload_rows(rows), *await panel(selected), None)

    def ask_delete(selected, request: gr.Request):
        if not sessions.can_change(request.username):
            gr.Warning("删除文档需要管理员密钥 · Deleting documents needs the admin key: sign in with it")
            return gr.update(visible=False), gr.skip()
        if not selected:
            gr.Warning("请先勾选要删除的文档 · Select the documents to delete first")
            return gr.update(visible=False), gr.skip()
        return (gr.update(visible=True),
                f"确定删除 {len(selected)} 个文档？ · Delete {len(selected)} document(s): **{', '.join(selected)}**? "
                "This cannot be undone.")

    async def confirm_delete(selected, request: gr.Request):
        rows = []
        if sessions.can_change(request.username):
            for doc_id in selected or []:
                ok, message = await documents.delete(doc_id)
                rows.append((doc_id, "ok" if ok else "no", "已删除 · deleted" if ok else message))
        texts.clear()
        return (gr.update(visible=False), docs_ui.upload_rows(rows), *await panel([]))

    async def open_source(evt: gr.EventData):
        doc = await documents.get(str(evt.doc_id))
        return docs_ui.fulltext_html(doc, int(evt.start), int(evt.end))

    with gr.Blocks(title="文档问答 · Grounded QA") as demo:
        with gr.Row():
            gr.Markdown("## 文档问答 · Grounded answers with exact citations\n"
                        "只根据已索引的文档回答；点击答案中的 [n] 查看原文出处。 "
                        "Answers come only from the indexed documents; click [n] to see the source span.")
            whoami = gr.HTML(elem_id="whoami")
        conversation = gr.State([])
        with gr.Row():
            with gr.Column(scale=2, min_width=280, elem_id="documents"):
                gr.Markdown("### 文档 · Documents")
                upload_file = gr.File(file_count="multiple", label=UPLOAD_LABEL, elem_id="upload", height=110)
                upload_status = gr.HTML(elem_id="upload-status")
                doc_select = gr.CheckboxGroup([], label="只在所选文档中搜索 · Ask only the selected (none: all)",
                                              elem_id="doc-select")
                delete = gr.Button("删除所选 · Delete selected", size="sm", elem_id="delete")
                with gr.Column(visible=False, elem_id="confirm-box") as confirm_box:
                    confirm_text = gr.Markdown(elem_id="confirm-text")
                    with gr.Row():
                        confirm = gr.Button("确认删除 · Delete", variant="stop", size="sm", elem_id="confirm-delete")
                        cancel = gr.Button("取消 · Cancel", size="sm", elem_id="cancel-delete")
                doc_table = gr.HTML(elem_id="doc-table")
            with gr.Column(scale=4):
                chatbot = gr.Chatbot(label="对话 · Chat", height=460, elem_id="chat", sanitize_html=False)
                with gr.Row():
                    box = gr.Textbox(placeholder="输入问题，回车发送 · Ask a question", show_label=False,
                                     scale=5, elem_id="question", max_length=2000)
                    send = gr.Button("发送 · Send", variant="primary", scale=1, elem_id="send")
                new = gr.Button("新对话 · New conversation", elem_id="new-conversation")
                examples_hint = gr.Markdown(NO_DOCS_HINT, elem_id="examples-empty")
                example_list = gr.Dataset(components=[box], samples=[], label="示例问题 · Examples",
                                          elem_id="examples", visible=False)
                with gr.Accordion("高级 · Advanced", open=False):
                    backend = gr.Dropdown(backends, value=default_backend, label="回答方式 · Answer backend")
                    top_k = gr.Slider(1, 20, value=default_top_k, step=1, label="检索块数 · top_k")
                    show = gr.Checkbox(False, label="显示检索结果 · Show retrieved chunks with scores")
                    retrieved = gr.HTML(elem_id="retrieved")
            with gr.Column(scale=3):
                gr.Markdown("### 来源 · Sources")
                sources = gr.HTML(sources_html(None, document_text), elem_id="sources", js_on_load=SOURCES_JS)
                fulltext = gr.HTML("", elem_id="fulltext", js_on_load=FULLTEXT_JS)
        panel_outputs = [doc_table, doc_select, example_list, examples_hint]
        inputs = [box, chatbot, conversation, backend, top_k, show, doc_select]
        outputs = [chatbot, sources, retrieved, conversation, box]
        box.submit(respond, inputs, outputs)
        send.click(respond, inputs, outputs)
        new.click(reset, None, [*outputs, fulltext])
        example_list.click(lambda sample: sample[0], example_list, box)
        demo.load(on_load, None, [*panel_outputs, upload_file, delete, whoami])
        upload_file.upload(upload, [upload_file, doc_select], [upload_status, *panel_outputs, upload_file])
        delete.click(ask_delete, doc_select, [confirm_box, confirm_text])
        cancel.click(lambda: gr.update(visible=False), None, confirm_box)
        confirm.click(confirm_delete, doc_select, [confirm_box, upload_status, *panel_outputs])
        sources.click(open_source, None, fulltext)
    return demo
