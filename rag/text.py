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
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_NOT_WORD = re.compile(r"[\s\W_]+")
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


# Latin text needs a real segmenter (abbreviations, initials, decimals): nltk's Punkt model, whose data ships
# inside llama-index-core. It runs only on pieces that have a Latin full stop followed by a space.
_LATIN_PERIOD = re.compile(r"[A-Za-z0-9)\]\"'”’][.!?]+[\"'”’)\]]*\s+\S")
_ITEM_LABEL = re.compile(r"(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})[.)]")
# Punkt cuts after any period it does not know as an abbreviation; no English sentence starts with a lowercase
# word, nor (in practice) with a number right after a short lowercase word and a period ("max. 50 °C", "approx.
# 3 kg", "vs. 12"; not after a stop word: "I saw it. 25 came."): such a cut is undone.
_SHORT_WORD_PERIOD = re.compile(r"\b([a-z]{1,5})\.\s+$")


def _continues(before: str, after: str) -> bool:
    """Whether Punkt's cut between `before` and `after` falls inside one sentence."""
    if after[:1].islower():
        return True
    word = _SHORT_WORD_PERIOD.search(before)
    return bool(word) and after[:1].isdigit() and word.group(1) not in english_stop_words()

# Common abbreviations Punkt's English model lacks (tested in tests/test_text.py).
EXTRA_ABBREVIATIONS = frozenset("e.g i.e no nos fig figs approx dept est gov mt blvd vol vols pp b.a m.a b.sc m.sc "
                                "cf al rev ed eds tel ext".split())


@lru_cache(maxsize=1)
def _nltk():
    """nltk, with the data that ships inside llama-index-core (Punkt, stop words) on its search path."""
    import importlib.resources

    import nltk

    data = str(importlib.resources.files("llama_index.core") / "_static" / "nltk_cache")
    if data not in nltk.data.path:
        nltk.data.path.append(data)
    return nltk


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """nltk's English stop words."""
    _nltk()
    from nltk.corpus import stopwords

    return frozenset(stopwords.words("english"))


@lru_cache(maxsize=1)
def _punkt():
    _nltk()
    from nltk.tokenize.punkt import PunktTokenizer

    tokenizer = PunktTokenizer("english")
    tokenizer._params.abbrev_types.update(EXTRA_ABBREVIATIONS)
    return tokenizer


def _latin_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one piece at Latin sentence ends with Punkt; the spans stay contiguous (whitespace goes with the
    sentence before it) and cover text[start:end] exactly."""
    piece = text[start:end]
    if not _LATIN_PERIOD.search(piece):
        return [(start, end)]
    cuts = [a for a, _ in _punkt().span_tokenize(piece)][1:]
    bounds = [0] + [c for c in cuts if 0 < c < len(piece)] + [len(piece)]
    spans: list[tuple[int, int]] = []
    for a, b in zip(bounds, bounds[1:]):
        if spans and (_ITEM_LABEL.fullmatch(piece[spans[-1][0]:spans[-1][1]].strip())  # "1. First item."
                      or _continues(piece[spans[-1][0]:a], piece[a:b])):
            spans[-1] = (spans[-1][0], b)
        elif b > a:
            spans.append((a, b))
    return [(start + a, start + b) for a, b in spans]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split text[start:end] into contiguous spans that together cover it exactly, in any language.

    Chinese terminators (。！？；…) and line breaks end a sentence outright; inside what remains, Latin prose is
    split by Punkt, which keeps "Dr. Hart", "U.S.", "e.g." and "2.4" whole. Each span runs up to and including its
    terminator and the whitespace after it, so nothing is lost between sentences.
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
            spans.extend(_latin_spans(text, pos, stop))
            pos = stop
    if pos < end:
        spans.extend(_latin_spans(text, pos, end))
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


CLOSES_SENTENCE = re.compile(r"[。！？；：.!?;:…]\W*$")
TITLE_MAX_CHARS = 100  # a document's first line longer than this is a paragraph, not a title


def title_of(first_chunk: str) -> str:
    """A document's first line when it reads as a title (short, no sentence end): the topic every sentence of the
    document is about, though few of them name it ("临江市2025年节假日旅游数据" over "全市共接待游客126万人次")."""
    line = first_chunk.lstrip().split("\n", 1)[0].strip()
    return line if len(line) <= TITLE_MAX_CHARS and not CLOSES_SENTENCE.search(line) else ""


def cjk_runs(text: str) -> list[str]:
    """The runs of Chinese characters in a text, in order."""
    return _CJK_RUN.findall(text)


def squashed(text: str) -> str:
    """Lower case without spaces, punctuation or underscores: how two spellings of one heading, name or sentence
    compare ("Rates:" ~ "rates", "《规则》" ~ "规则")."""
    return _NOT_WORD.sub("", text).lower()


def has_letters(text: str) -> bool:
    """Whether the text has a word in any script: a run of digits and signs (":212–219", "2019.") states nothing."""
    return any(ch.isalpha() for ch in text)


# Words that hold a Chinese sentence together; a name written in Chinese rarely contains them.
_ZH_FUNCTION = re.compile(r"的|了|是|吗|呢|哪|什么|谁|多少|几|怎么|如何|为什么|这|那|在|和")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# A title or a gloss in brackets or quotes ("《The Gate of Dreams》", "ASE (日月光半导体)") says nothing of the
# language of the sentence around it.
_QUOTED = re.compile(r"《[^》]*》|（[^）]*）|\([^)]*\)|“[^”]*”|「[^」]*」|『[^』]*』|\"[^\"]*\"")


# A sentence that opens with a personal or possessive pronoun ("It delivers water to 84,000 households.", "其种加词…",
# "该馆始建于…") names its subject only in the sentence before it. A demonstrative ("This", "这") often points at a
# whole clause ("This is because…") rather than at a thing. In Chinese, jieba's tag tells the pronoun 该/其/此 (r)
# from the connectives that start with the same character (此外, 此后: c; 此前: t; 其实: d).
_REFERS_BACK = re.compile(r"^(?:it|its|they|their|them|he|his|she|her)\b", re.I)
_POINTS_BACK = re.compile(r"^(?:(?:this|these|both)\b|这)", re.I)
_ZH_PRONOUN_START = "它其该此他她"


def refers_back(sentence: str, demonstratives: bool = False) -> bool:
    """Whether a sentence opens with a pronoun (English or Chinese) whose referent is in the sentence before it; with
    `demonstratives`, also one opening with "This"/"These"/"Both"/"这" (what it continues, though maybe a clause)."""
    s = sentence.strip()
    if _REFERS_BACK.match(s) or (demonstratives and _POINTS_BACK.match(s)):
        return True
    if s[:1] and s[0] in _ZH_PRONOUN_START:
        import jieba.posseg

        _jieba()
        first = next(iter(jieba.posseg.cut(s[:12])), None)
        return first is not None and first.flag == "r"
    return False


def detect_lang(text: str) -> str:
    """'zh' or 'en'. Text in one script (outside brackets and quotes) is that script's language. Mixed text with
    English function words and no Chinese ones is English ("What did 张小龙 create?"), with more Chinese ones Chinese
    ("OpenAI的CEO是谁？"): names carry none. Otherwise 'zh' when there are at least a quarter as many CJK
    characters as Latin letters."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if not cjk or not latin:
        return "zh" if cjk else "en"
    frame = _QUOTED.sub(" ", text)
    f_cjk, f_latin = len(_CJK.findall(frame)), len(_LATIN.findall(frame))
    if (f_cjk == 0) != (f_latin == 0):
        return "zh" if f_cjk else "en"
    stop = english_stop_words()
    en_function = sum(1 for w in _LATIN_WORD.findall(frame) if len(w) > 1 and not w.isupper() and w.lower() in stop)
    zh_function = len(_ZH_FUNCTION.findall(frame))
    if en_function >= 2 and zh_function == 0:
        return "en"
    if zh_function > en_function:
        return "zh"
    return "zh" if cjk >= latin / 4 else "en"


@lru_cache(maxsize=8192)
def english_lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """The lemmas of an English word form by part of speech (lemminflect's bundled lexicon, no download: "ran" →
    {"VERB": ("run",)}); empty for a word it does not know, mostly a name. Cached: callers must not change it."""
    from lemminflect import getAllLemmas

    return getAllLemmas(word)


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
