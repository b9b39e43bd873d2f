"""Gradio chat UI, mounted at `/` on the same FastAPI app as the API.

Answers stream in; `[n]` markers link to a sources panel that shows each
cited span highlighted inside its paragraph, with its offsets.
"""

from __future__ import annotations

import html
import logging
import os
import re
from typing import Any, Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from rag.schema import AskRequest, AskResponse  # noqa: E402

log = logging.getLogger(__name__)

EXAMPLES = [
    "英国哪一年正式加入CPTPP？",
    "日英经济版“2+2”首次会议讨论了哪四大领域？",
    "日本外务大臣是谁？",
    "Which year did the UK formally join the CPTPP?",
    "日英经济版“2+2”第二次会议将于何时举行？",
]
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
    if (el) { el.classList.add('active'); el.scrollIntoView({behavior: 'smooth', block: 'center'}); }
  }, true);
}
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
            f"{html.escape(c.doc_id)}{section} · 字符 {c.start}–{c.end}</div>"
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


def build_ui(get_pipeline: Callable[[], Any], backends: list[str], default_backend: str, default_top_k: int) -> gr.Blocks:
    texts: dict[str, str | None] = {}

    def document_text(doc_id: str) -> str | None:
        if doc_id not in texts:
            texts[doc_id] = get_pipeline().store.document_text(doc_id)
        return texts[doc_id]

    def respond(message: str, chat: list[dict], conversation: list[dict], backend: str, top_k: float, show: bool):
        chat = list(chat or [])
        message = (message or "").strip()
        if not message:
            gr.Warning("请输入问题 · Please type a question")
            yield chat, gr.update(), gr.update(), conversation, ""
            return
        try:
            request = AskRequest(question=message, history=conversation[-20:], top_k=int(top_k))
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
        return [], sources_html(None, document_text), "", [], ""

    with gr.Blocks(title="文档问答 · Grounded QA") as demo:
        gr.Markdown("## 文档问答 · Grounded answers with exact citations\n"
                    "只根据已索引的文档回答；点击答案中的 [n] 查看原文出处。 "
                    "Answers come only from the indexed documents; click [n] to see the source span.")
        conversation = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="对话 · Chat", height=460, elem_id="chat", sanitize_html=False)
                with gr.Row():
                    box = gr.Textbox(placeholder="输入问题，回车发送 · Ask a question", show_label=False,
                                     scale=5, elem_id="question", max_length=2000)
                    send = gr.Button("发送 · Send", variant="primary", scale=1, elem_id="send")
                new = gr.Button("新对话 · New conversation", elem_id="new-conversation")
                gr.Examples(EXAMPLES, inputs=box, label="示例问题 · Examples")
                with gr.Accordion("高级 · Advanced", open=False):
                    backend = gr.Dropdown(backends, value=default_backend, label="回答方式 · Answer backend")
                    top_k = gr.Slider(1, 20, value=default_top_k, step=1, label="检索块数 · top_k")
                    show = gr.Checkbox(False, label="显示检索结果 · Show retrieved chunks with scores")
                    retrieved = gr.HTML(elem_id="retrieved")
            with gr.Column(scale=2):
                gr.Markdown("### 来源 · Sources")
                sources = gr.HTML(sources_html(None, document_text), elem_id="sources")
        inputs = [box, chatbot, conversation, backend, top_k, show]
        outputs = [chatbot, sources, retrieved, conversation, box]
        box.submit(respond, inputs, outputs)
        send.click(respond, inputs, outputs)
        new.click(reset, None, outputs)
    return demo
