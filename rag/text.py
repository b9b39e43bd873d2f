"""Chinese-aware text primitives shared by indexing, retrieval and answering.

Everything works on (start, end) spans into the original string so that
offsets survive every later stage unchanged.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

# A sentence ends at one of these, plus any closing quotes/brackets after it.
_SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’」』）)\]]*|\n+")
_WORD = re.compile(r"\w", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")

REFUSAL = {
    "zh": "文档中没有找到相关信息，无法回答该问题。",
    "en": "The documents do not contain the answer to this question.",
}

STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 等 将 也 都 而 或 就 对 于 以 为 由 从 被 把 让 向 到 这 那 其 之 中 上 下 有 还 并 又 该 此 个 些
    吗 呢 吧 啊 呀 么 什么 哪 哪个 哪些 哪里 哪儿 哪一年 哪年 哪一 哪位 哪两位 哪几 谁 多少 几 如何 怎么 怎样 怎么样 为什么 为何 是否 是不是
    请问 请 一下 文章 文中 本文 提到 提及 根据 说 讲 方面 分别 主要 哪方 一个 一年 一天 年 月 日 时候 时 什么样 哪种 哪方面 何时 何地 何 多 大 能 会 要 可以
    the a an of to in on at for by with from and or is are was were be been being what which who whom whose when where why how
    did do does that this these those it its as about into than then there their they he she his her i you we our your
    according article say says said mention mentioned name named two three four""".split()
)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split text[start:end] into contiguous spans that together cover it exactly.

    Each span runs up to and including its terminator (and trailing newlines),
    so the spans partition the range: nothing is lost between sentences.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        stop = m.end()
        # keep a newline run attached to the sentence before it
        while stop < end and text[stop] == "\n":
            stop += 1
        if stop > pos:
            spans.append((pos, stop))
            pos = stop
    if pos < end:
        spans.append((pos, end))
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def detect_lang(text: str) -> str:
    """'zh' when the text has any CJK characters and more CJK than Latin letters, else 'en'."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk and cjk >= latin / 4 else "en"


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens, lower-cased, without stop words and punctuation."""
    tokens = []
    for tok in _jieba().lcut_for_search(text.lower()):
        tok = tok.strip()
        if tok and _WORD.search(tok) and tok not in STOPWORDS:
            tokens.append(tok)
    return tokens


@lru_cache(maxsize=1)
def tokens_key() -> str:
    """The chunk-metadata key under which ingest stores `tokenize(text)`, versioned by the tokenizer's inputs:
    a change of stop words or jieba makes old stored tokens invisible (they are recomputed) instead of wrong."""
    import hashlib

    import jieba

    spec = f"{jieba.__version__}|{' '.join(sorted(STOPWORDS))}|{_WORD.pattern}"
    return "tokens_" + hashlib.sha1(spec.encode()).hexdigest()[:8]


def refusal_for(question: str) -> str:
    return REFUSAL[detect_lang(question)]
