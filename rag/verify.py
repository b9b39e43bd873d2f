"""Check a generated answer against the evidence, sentence by sentence.

Small models invent facts and mis-number citations, so the model's own `[n]`
markers are discarded: each answer sentence must be supported by one evidence
sentence (its Latin names appear there, each of its numbers is there with the
same value and a compatible unit — "1,240 hours" does not support "1,240
volunteers" — and enough of its content matches lexically or, across
languages, by embedding similarity); the citation is assigned in code to that
evidence sentence. Unsupported sentences are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.evidence import Evidence, stem
from rag.text import (NUMBER, REFUSAL, cjk_runs, detect_lang, english_lemmas, english_stop_words, sentence_spans,
                      tokenize)

MARKER_OPENERS = "[【(（"
# a citation marker as small models write it: [1], [1, 2], 【2】, (3), [编号2], [source 1]
MARKER = re.compile(r"[\[【(（]\s*(?:编号|来源|资料|source)?\s*\d+(?:\s*[,，、]\s*\d+)*\s*[\]】)）]", re.I)
_MARKERS = re.compile(r"\s*" + MARKER.pattern, re.I)
_LATIN_NAME = re.compile(r"\b[A-Z][A-Z0-9+]{1,}\b")
# How models say the sources hold no answer, in general phrasings, never a bare negation ("英国没有加入…",
# "does not contain a clause" answer the question): in Chinese a source as subject or a fixed "not found / cannot
# answer" phrase; in English the sources as subject or object of a not-mentioned verb, or the model that cannot tell.
_ZH_SOURCE = r"(?:资料|文档|文件|材料|来源|原文|文中|文本|上下文)"
_EN_SOURCE = r"(?:sources?|documents?|context|texts?|passages?|materials?|excerpts?|articles?|information)"
_REFUSAL_HINTS = re.compile("|".join([
    _ZH_SOURCE + r"(?:中|里|内)?(?:并|均|都|也)?(?:没有|未曾|并未|未|没)(?:提到|提及|提供|说明|涉及|记载|包含|给出|指出|找到|相关|明确)",
    _ZH_SOURCE + r"(?:中|里|内)?[，,：:\s]*(?:无法|不能|难以)(?:确定|得知|判断|回答|看出|找到)",
    r"无法(?:从|根据|依据)(?:所给|提供|现有)?的?" + _ZH_SOURCE,
    r"(?:没有|未能?|无法)找到(?:任何)?(?:相关|有关)?的?(?:信息|内容|答案|记载)|找不到(?:相关|有关)?的?(?:信息|内容|答案)",
    r"(?:没有|并无|无)(?:相关|有关)的?(?:信息|内容|记载)|(?:无法|不能|难以)(?:回答|作答)|(?:并?未|没有)(?:提及|提到)",
    r"\b" + _EN_SOURCE + r"\s+(?:provided\s+|given\s+)?(?:do|does|did)(?:\s+not|n't)\s+(?:\w+\s+)?"
    r"(?:mention|say|state|contain|include|specify|provide|discuss|indicate|address|cover|give|answer|describe|tell"
    r"|explain|refer|identify|name|have)\b",
    r"\bnot\s+(?:\w+\s+)?(?:mentioned|stated|specified|provided|given|found|included|discussed|addressed|covered"
    r"|available|described)\s+(?:in|by)\s+(?:the|these|any)\s+(?:of\s+the\s+)?(?:provided\s+|given\s+)?" + _EN_SOURCE,
    r"\bno\s+(?:relevant\s+|specific\s+)?information\b|\bno\s+mention\s+of\b|\b(?:not\s+enough|insufficient)\s+information\b",
    r"\bI\s+(?:cannot|can't|can\s+not|could\s+not|couldn't|am\s+unable\s+to|was\s+unable\s+to|am\s+not\s+able\s+to"
    r"|do\s+not|don't)\s+(?:find|answer|determine|know|tell)\b",
    r"\b(?:cannot|can't)\s+be\s+answered\b|\bunable\s+to\s+answer\b",
]), re.I)


@dataclass
class SupportedSentence:
    text: str
    evidence: Evidence
    score: float


_BOILERPLATE = re.compile(r"^(根据(所给|给定|提供的)?资料[，,:：]?|资料(中)?(显示|表明|提到)[，,:：]?|according to the (sources|documents)[,:]?\s*)", re.I)


def strip_markers(text: str) -> str:
    return _MARKERS.sub("", text).strip()


def clean_sentence(text: str) -> str:
    """Without 'According to the sources,' openers (markers are gone after split_sentences)."""
    text = _BOILERPLATE.sub("", text).strip()
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def _pieces(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def split_sentences(text: str) -> list[str]:
    return [p.strip() for p in _pieces(strip_markers(text)) if re.search(r"\w", p)]


_LEADING_MARKERS = re.compile(r"\s*(?:" + MARKER.pattern + r"\s*)+", re.I)
_CITING_ONLY = re.compile(r"^\W*(?:(?:依据|根据|参见|见|来自)?(?:的)?(?:资料|来源|source|see)?(?:是|为|:|：)?\W*)$", re.I)


def cited_sentences(text: str) -> list[tuple[str, set[int]]]:
    """Sentences without markers, each with the source numbers the model wrote in or right after it
    ("…成员。[3]", "…member. [3]", "…。依据资料[1]。")."""
    def numbers_in(text: str) -> set[int]:
        return {int(n) for m in MARKER.finditer(text) for n in re.findall(r"\d+", m.group())}

    out: list[tuple[str, set[int]]] = []
    for piece in _pieces(text):
        if out and (lead := _LEADING_MARKERS.match(piece)):  # "…member. [3] Next sentence."
            out[-1][1].update(numbers_in(lead.group()))
            piece = piece[lead.end():]
        numbers = numbers_in(piece)
        sentence = strip_markers(piece)
        if out and (not re.search(r"\w", sentence) or _CITING_ONLY.match(sentence)):
            out[-1][1].update(numbers)  # a marker (or "依据资料[1]") standing after its sentence
        elif re.search(r"\w", sentence):
            out.append((sentence.strip(), numbers))
    return out


def looks_like_refusal(text: str) -> bool:
    """The model says the sources hold no answer (in whole or in this sentence)."""
    text = strip_markers(text).replace("\u2019", "'")  # "don’t" as "don't"
    return any(r in text for r in REFUSAL.values()) or bool(_REFUSAL_HINTS.search(text))


def _hard_names(sentence: str, sources: str) -> set[str]:
    """Names that must appear verbatim in the supporting sentence: those in Latin capitals that the sources
    write that way (others, like "UK" over Chinese sources, are translations)."""
    names = {m.lower() for m in _LATIN_NAME.findall(sentence)}
    return {n for n in names if n in sources}


# Quantities. A number is a value (thousands separators dropped, "2.4 million" and "1193万" scaled) with the unit
# written right after it: a Chinese unit or measure word ("万人" is 万 then 人), "%", or in English the content
# words that follow ("1,240 volunteer hours": volunteer, hours). A range states its unit once, after its last number.
_QUANTITY = re.compile(r"(?<!\d)(?<!\d\.)(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(\.\d+)?")
_SCALE = re.compile(r"\s*(hundred|thousand|million|billion|trillion)\b|(万亿|亿|万)", re.I)
_SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
           "万": 1e4, "亿": 1e8, "万亿": 1e12}
_PERCENT = re.compile(r"\s*(?:%|％|percent\b|per\s+cent\b|percentage\s+points?\b)", re.I)
_ORDINAL_SUFFIX = re.compile(r"(?:st|nd|rd|th)\b", re.I)
_APPROX = re.compile(r"\s*(?:余|多|来)")  # "3000余人", "3000多人": still a count of people
_RANGE = re.compile(r"\s*(?:to|and|or|-|–|—|~|～|至|到)\s*(?=\d)", re.I)
_EN_WORD = re.compile(r"(?:\s+|-)?([A-Za-z][A-Za-z']*)")
# Chinese units and measure words, longest first; one matched right after the number is its unit.
_ZH_UNITS = sorted("""
    平方公里 平方千米 平方英里 平方米 立方米 公里 千米 英里 英尺 英寸 海里 厘米 毫米 米 公顷 亩 公斤 千克 斤 克 吨 升 毫升 千瓦 瓦 度
    美元 欧元 港元 日元 英镑 韩元 元 块 小时 分钟 秒 分 点 个月 周年 星期 年 月 日 号 天 周 岁 次 期 倍
    人次 人 名 位 个 家 所 项 件 种 条 座 场 届 轮 只 头 台 辆 部 本 篇 份 张 户 例 起 架 艘 枚 颗 首 册 套 栋 层 批 间 支 队
    国 省 市 县 章 节 款 类 组 段 根 片""".split(), key=len, reverse=True)
# Chinese units that name the same measure; "个" counts anything a specific measure word counts.
_ZH_SAME = [{"人", "名", "位", "人次"}, {"日", "号"}, {"周", "星期"}, {"公里", "千米"}, {"公斤", "千克"}, {"元", "块"},
            {"年", "周年"}]
_ZH_GENERAL = "个"
_ZH_COUNTERS = {"人", "名", "位", "家", "所", "项", "件", "种", "条", "座", "场", "只", "头", "台", "辆", "部", "本", "篇",
                "份", "张", "架", "艘", "枚", "颗", "首", "册", "套", "栋", "支", "队", "批", "间", "款", "类", "组", "国"}


@lru_cache(maxsize=1)
def _english_function_words() -> frozenset[str]:
    """nltk's English stop words and a few modal verbs: a word among them ends a unit phrase."""
    return english_stop_words() | frozenset("would could may might must also per".split())


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: tuple[str, ...] = ()  # ("%",), ("zh", "人"), ("en", "volunteer", "hours"); () when none is written
    year: bool = False  # four plain digits that read as a year: its unit is not a count's


def _unit_at(text: str, pos: int) -> tuple[tuple[str, ...], int]:
    """The unit written at text[pos:] and where it ends; ((), pos) when none is."""
    if m := _PERCENT.match(text, pos):
        return ("%",), m.end()
    pos = m.end() if (m := _APPROX.match(text, pos)) else pos
    if unit := next((u for u in _ZH_UNITS if text.startswith(u, pos)), None):
        return ("zh", unit), pos + len(unit)
    if _ORDINAL_SUFFIX.match(text, pos):
        return (), pos
    words: list[str] = []
    stop = _english_function_words()
    end = pos
    while len(words) < 3 and (m := _EN_WORD.match(text, end)):
        word = m.group(1)
        if word[0].isupper() or word.lower() in stop:  # a name or a month starts something else
            break
        words.append(word.lower())
        end = m.end()
    if len(words) == 1 and past_verb(words[0]):  # "6,400 attended the meet": a verb, not what is counted
        return (), pos
    return (("en", *words) if words else ()), end


@lru_cache(maxsize=4096)
def past_verb(word: str) -> bool:
    """A verb's past tense or participle (lemminflect: "attended", "sold", "rose"). Right after a number, before a
    function word or the end, such a word says what the number's subject did ("a crowd of 6,400 attended"), not what
    is counted ("41,000 loaves sold" has its noun first)."""
    from lemminflect import getInflection

    return any(word in getInflection(lemma, tag) for lemma in english_lemmas(word).get("VERB", ())
               for tag in ("VBD", "VBN"))


def quantities(text: str) -> list[Quantity]:
    """Every number in the text as a value with its unit."""
    out: list[Quantity] = []
    for m in _QUANTITY.finditer(text):
        digits = m.group(1).replace(",", "")
        value, pos = float(digits + (m.group(2) or "")), m.end()
        year = len(m.group(1)) == 4 and not m.group(2) and 1000 <= value <= 2100
        if scale := _SCALE.match(text, pos):
            value *= _SCALES[(scale.group(1) or scale.group(2)).lower()]
            pos, year = scale.end(), False
        unit, _ = _unit_at(text, pos)
        if not unit and (joined := _RANGE.match(text, pos)):  # "3 to 5 days", "3至5天": the unit of the range's end
            end = _QUANTITY.match(text, joined.end())
            after = _SCALE.match(text, end.end()) if end else None
            unit = _unit_at(text, after.end() if after else end.end())[0] if end else ()
        if year and unit[:1] == ("en",):  # "in 2019 volunteers …": a year does not count the noun after it
            unit = ()
        out.append(Quantity(value, unit, year))
    return out


def _forms(word: str) -> set[str]:
    forms = {word, stem(word)}
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            forms.add(word[: -len(suffix)] + repl)
    return forms | {american(f) for f in forms}


# British spellings by their regular endings ("metres", "harbour", "organised", "catalogue", "travelled"), written the
# American way, so that a model that writes one form is checked against a source that writes the other. Applied to
# both sides, a word without such an ending stays as it is.
_SPELLINGS = [(re.compile(r"(?<=[^aeiou\W])re(s|d)?$"), r"er\1"),
              (re.compile(r"(?<=\w{3})our(s|ed|ing|ite|ites|able)?$"), r"or\1"),
              (re.compile(r"(?<=\w{3})is(e|es|ed|ing|ation|ations)$"), r"iz\1"),
              (re.compile(r"(?<=\w)ys(e|es|ed|ing)$"), r"yz\1"),
              (re.compile(r"(?<=\w{3})ogue(s)?$"), r"og\1"),
              (re.compile(r"(?<=\w{3}[aeiou])ll(ed|ing|er|ers)$"), r"l\1")]


def american(word: str) -> str:
    """The word with a British spelling ending written the American way ("metres" → "meters")."""
    for pattern, repl in _SPELLINGS:
        word = pattern.sub(repl, word)
    return word


@lru_cache(maxsize=4096)
def word_forms(word: str) -> frozenset[str]:
    """What an English word can stand for when an answer rewords a source: its lemmas in any part of speech
    (lemminflect's bundled lexicon: "ran" → run, "theories" → theory), each in American spelling."""
    lemmas = {word} | {lemma.lower() for forms in english_lemmas(word).values() for lemma in forms}
    return frozenset(american(w) for w in lemmas)


def units_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Can a value with unit `a` be the same quantity as one with unit `b`? A missing unit, or units in two
    languages, cannot tell them apart; Chinese measure words agree when equal, synonyms, or 个 with a counter;
    English unit phrases when they share a word (up to plural and stem)."""
    if not a or not b:
        return True
    if a == ("%",) or b == ("%",):
        return a == b
    if a[0] != b[0]:
        return True  # "1,240 hours" over "1240小时": only the value can be compared
    if a[0] == "zh":
        x, y = a[1], b[1]
        return (x == y or any(x in s and y in s for s in _ZH_SAME)
                or (_ZH_GENERAL in (x, y) and {x, y} - {_ZH_GENERAL} <= _ZH_COUNTERS))
    return bool(set().union(*map(_forms, a[1:])) & set().union(*map(_forms, b[1:])))


# what a count question counts: "how many homes", "多少人次" / "几个" (a measure word of _ZH_UNITS)
_COUNTED_EN = re.compile(r"\bhow many\s+([a-z]+)", re.I)
_COUNTED_ZH = re.compile(r"(?:多少|几)([\u4e00-\u9fff]{1,4})")


def counted_unit(question: str) -> tuple[str, ...]:
    """The unit a count question counts in ("How many homes…" → ("en", "homes"); "多少人次" → ("zh", "人次")), or ()."""
    if m := _COUNTED_EN.search(question):
        return ("en", m.group(1).lower())
    if m := _COUNTED_ZH.search(question):
        unit, _ = _unit_at(m.group(1), 0)
        return unit if unit[:1] == ("zh",) else ()
    return ()


def counts_other(question: str, answer: str) -> bool:
    """An answer to a count question whose numbers all count something else: "How many homes…" answered by "14,600
    acres", "多少人次" by "36.2米". Numbers without a written unit, or in the other language, are not judged."""
    asked = counted_unit(question)
    if not asked:
        return False
    units = [q.unit for q in quantities(answer) if q.unit and not q.year]
    return bool(units) and not any(units_agree(asked, u) for u in units)


def _same_value(x: float, y: float) -> bool:
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y), 1.0)


_CLAUSE_BREAK = re.compile(r"[，；。！？]|[,;.!?](?=\s|$)")  # not the point of 9.81


def claimed_quantities(sentence: str) -> list[Quantity]:
    """The sentence's quantities, a value restated within one clause counted once ("9.81 m/s² (9.81 meters per
    second squared)"): only values in different clauses fill different slots."""
    found: list[Quantity] = []
    for clause in _CLAUSE_BREAK.split(sentence):
        seen: list[float] = []
        for q in quantities(clause):
            if q.year or not any(_same_value(q.value, v) for v in seen):
                found.append(q)
                seen.append(q.value)
    return found


def quantities_supported(claimed: list[Quantity], evidence: str) -> bool:
    """Each quantity a sentence claims (`claimed_quantities`) is in the evidence with the same value and a compatible
    unit; each one but a year needs an occurrence of its own, so one figure cannot fill two slots
    ("考研1193万人，高考1193万人")."""
    available = quantities(evidence) + spelled_quantities(evidence)
    owner: dict[int, int] = {}  # evidence occurrence → the sentence quantity it stands for

    def claim(i: int, options: list[list[int]], seen: set[int]) -> bool:  # one augmenting path (bipartite matching)
        for j in options[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or claim(owner[j], options, seen):
                    owner[j] = i
                    return True
        return False

    options = []
    for q in claimed:
        matches = [j for j, e in enumerate(available) if _same_value(q.value, e.value) and units_agree(q.unit, e.unit)]
        if not matches:
            return False
        if not q.year:
            options.append(matches)
    return all(claim(i, options, set()) for i in range(len(options)))


_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
_TITLES = {"mr", "mrs", "ms", "dr"}
# A name in pinyin as English text writes it: "Zhou Liqun", "Li Ming-yuan", "Ouyang Xiu".
_NAME_RUN = re.compile(r"\b[A-Z][a-z]+(?:(?: [A-Z]|-[A-Za-z])[a-z]+)*")


@lru_cache(maxsize=64)
def _pinyin_names(sources: str) -> frozenset[str]:
    """Every run of 2–4 Chinese characters in the sources as toneless pinyin, letters only ("周立群" → "zhouliqun"):
    how an English answer writes a Chinese name it read there."""
    from pypinyin import lazy_pinyin

    out = set()
    for run in cjk_runs(sources):
        syllables = [p.replace("ü", "u") for p in lazy_pinyin(run, v_to_u=True)]
        for i in range(len(syllables)):
            for j in range(i + 2, min(i + 4, len(syllables)) + 1):
                out.add("".join(syllables[i:j]))
    return frozenset(out)


def romanised_names(sentence: str, sources: str) -> set[str]:
    """The words of the sentence's capitalised runs that spell, in pinyin, a run of Chinese characters of the
    sources: "Zhou Liqun" over "…副总经理周立群。" (a translation the model was asked to make, not an invention)."""
    if not cjk_runs(sources):
        return set()
    known = _pinyin_names(sources)
    out: set[str] = set()
    for m in _NAME_RUN.finditer(sentence):
        words = re.findall(r"[A-Za-z]+", m.group())
        # the run may hold other capitalised words around the name ("Deputy Manager Zhou Liqun")
        for i in range(len(words)):
            for j in range(i + 1, len(words) + 1):
                if "".join(words[i:j]).lower() in known:
                    out.update(words[i:j])
    return out


def unverifiable_names(sentence: str, question: str, sources: str) -> set[str]:
    """Capitalised words inside an English sentence that neither the question nor the sources contain, nor spell
    a Chinese name of the sources in pinyin: over Chinese sources they cannot be checked (an invented name)."""
    sentence = sentence.strip()
    names = {m.group() for m in _CAPITALISED.finditer(sentence) if m.start() > 0}  # not the first word
    romanised = romanised_names(sentence, sources) if names else set()
    return {n for n in names if n.lower() not in _TITLES and n.lower() not in question.lower()
            and n.lower() not in sources and n not in romanised}


# Numbers written in words: an English answer says "six" where a Chinese source writes "六艘"; compared by value only
# across languages (`anchored_share`), never within one.
_EN_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty".split())} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
                                          "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12}
_EN_NUMBER_WORD = re.compile(r"\b(" + "|".join(w for w in _EN_NUMBER_WORDS if w not in ("hundred", "zero"))
                             + r")\b(?![-\w])", re.I)
_RANGE_WORD = re.compile(r"\s*(?:to|or|-|–)\s*(?:" + _EN_NUMBER_WORD.pattern + r")", re.I)
_ZH_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_ZH_NUMERAL = re.compile(r"[零一二两三四五六七八九十百千]+")
_MONTHS = {m: i for i, m in enumerate("january february march april may june july august september october november "
                                      "december".split(), 1)}


_MONTH_NAME = re.compile(r"\b(" + "|".join(m.title() for m in _MONTHS) + r")\b")


def _dated_months(sentence: str) -> set[int]:
    """Months the sentence names next to a day ("April 30", "30 April"; "May" alone is often a verb)."""
    return {_MONTHS[m.group(1).lower()] for m in _MONTH_NAME.finditer(sentence)
            if re.match(r"\s+\d", sentence[m.end():]) or re.search(r"\d\s+$", sentence[:m.start()])}


def spelled_quantities(text: str) -> list[Quantity]:
    """English numbers written in words, with the unit written after them ("five to six hours", "three parts"): the
    same quantities a model writes in digits."""
    out = []
    for m in _EN_NUMBER_WORD.finditer(text):
        unit, _ = _unit_at(text, m.end())
        if not unit and (joined := _RANGE_WORD.match(text, m.end())):  # "five to six hours": the end's unit
            unit = _unit_at(text, joined.end())[0]
        out.append(Quantity(float(_EN_NUMBER_WORDS[m.group(1).lower()]), unit))
    return out


def _zh_numeral_value(text: str) -> int | None:
    """"六" → 6, "十二" → 12, "二十" → 20, "三百五十" → 350 (up to 千); None for what is not a numeral."""
    total, digit = 0, None
    for ch in text:
        if ch in _ZH_DIGIT:
            digit = _ZH_DIGIT[ch]
        else:
            total += (1 if digit is None else digit) * {"十": 10, "百": 100, "千": 1000}[ch]
            digit = None
    return total + (digit or 0)


def spelled_values(text: str) -> set[float]:
    """Values written in words: English number words, and Chinese numerals followed by a unit or measure word
    ("六艘", "十年"; a numeral without one is often part of a word, like "统一")."""
    values = {float(_EN_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in _EN_NUMBER_WORDS}
    for m in _ZH_NUMERAL.finditer(text):
        if any(text.startswith(u, m.end()) for u in _ZH_UNITS):
            values.add(float(_zh_numeral_value(m.group())))
    return values


def anchored_share(sentence: str, claims: set[str], evidence: Evidence) -> float:
    """Across languages, the share of the sentence's claimed words that the evidence sentence vouches for by value or
    spelling, not by translation: a number it states (digits or words, with the unit words written after it), a Latin
    word it contains, a month it writes as "4月", a name it writes in Chinese characters that the sentence spells in
    pinyin, or a year its chunk states (a sentence often leaves the year to its paragraph). 0 when no number or name
    anchors it: a translated phrase alone is the embedding check's to judge."""
    words = {w for w in claims if w not in _english_function_words()}
    if not words:
        return 0.0
    text = evidence.text.lower()
    months = _dated_months(sentence)
    if months and re.search(r"\d月", evidence.text) and not any(f"{m}月" in evidence.text for m in months):
        return 0.0  # "May 30" over "4月30日": another date
    values = {q.value for q in quantities(evidence.text)} | spelled_values(evidence.text)
    years = set(re.findall(r"(?<!\d)\d{4}(?!\d)", evidence.context))
    explained: set[str] = set()
    anchored = False
    for q in claimed_quantities(sentence):
        if any(_same_value(q.value, v) for v in values) or (q.year and f"{q.value:.0f}" in years):
            anchored = True
            explained |= {w for w in words if NUMBER.fullmatch(w) and _same_value(float(w), q.value)}
            explained |= {w for w in words if any(w in _forms(u) for u in q.unit[1:])} if q.unit[:1] == ("en",) else set()
    for w in words:
        if w in _EN_NUMBER_WORDS and float(_EN_NUMBER_WORDS[w]) in values:
            anchored = True
            explained.add(w)
        elif w in _MONTHS and f"{_MONTHS[w]}月" in evidence.text:
            explained.add(w)
        elif re.search(r"[a-z]", w) and len(w) >= 2 and w in text:  # a Latin term the Chinese source writes too
            anchored = True
            explained.add(w)
    romanised = {w.lower() for w in romanised_names(sentence, evidence.text)}
    if romanised & words:
        anchored = True
        explained |= romanised & words
    return len(explained) / len(words) if anchored else 0.0


def _vouched_across(q: Quantity, evidence: Evidence) -> bool:
    """A quantity of a sentence in another language than the evidence, found there spelled out ("six" / "六艘"),
    or a year that the evidence's chunk states."""
    if q.year:
        return f"{q.value:.0f}" in evidence.text or f"{q.value:.0f}" in evidence.context
    return any(_same_value(q.value, v) for v in spelled_values(evidence.text))


def _restated_by_context(q: Quantity, evidence: Evidence) -> bool:
    """A value the question states and the answer restates, left by the sentence to what it refers back to
    ("临江市2025年五一假期…是86%" over "全市…入住率达到86%" under the title "临江市2025年节假日旅游数据"): its context
    states it, and the sentence names no other year (a sentence about another year's meeting is about another one)."""
    if q.year and any(x.year and not _same_value(x.value, q.value) for x in quantities(evidence.text)):
        return False
    return any(_same_value(q.value, c.value) and units_agree(q.unit, c.unit) for c in quantities(evidence.context))


def lexical_support(tokens: set[str], evidence: str) -> float:
    if not tokens:
        return 0.0
    ev = evidence.lower()
    return sum(t in ev for t in tokens) / len(tokens)


_SCALE_WORDS = frozenset(_SCALES) | {"percent", "per", "cent"}
_EN_TOKEN = re.compile(r"[a-z]+")
_COMPOUND_MIN = 6  # a word this long may be written as two in the source ("childcare" / "child care")


def english_support(tokens: set[str], evidence: str, quantified: bool) -> float:
    """`lexical_support` for an English sentence over an English source, reading each claimed word as the source may
    write it: another form of the word ("ran" for "runs"), another spelling ("metres" / "meters"), one word for two
    ("childcare" / "child care"), a number in words or digits ("seven" / "7"). When the sentence's quantities are
    supported (`quantified`), the numbers, scale and percent words that state them are: "212 thousand visits" over
    "212,000 visits"."""
    if not tokens:
        return 0.0
    ev = evidence.lower()
    squashed = re.sub(r"[\s-]+", "", ev)
    forms = set().union(*(word_forms(w) for w in _EN_TOKEN.findall(ev)))
    values = {q.value for q in quantities(evidence)} | spelled_values(evidence)
    found = 0
    for t in tokens:
        if quantified and (NUMBER.fullmatch(t.replace(",", "")) or t in _SCALE_WORDS):
            found += 1  # checked as a quantity
        elif t in ev or (t in _EN_NUMBER_WORDS and float(_EN_NUMBER_WORDS[t]) in values) \
                or (t.isalpha() and word_forms(t) & forms) or (len(t) >= _COMPOUND_MIN and t in squashed):
            found += 1
    return found / len(tokens)


def new_content(sentence: str, question: str) -> set[str]:
    """The sentence's content words that the question did not already contain: what it claims."""
    asked = question.lower()
    return {t for t in tokenize(sentence) if t not in asked}


class Verifier:
    # calibrated on the dev set with the local model (see BENCHMARKS.md)
    min_lexical = 0.6
    min_dense = 0.80

    def __init__(self, embedder):
        self.embedder = embedder

    def support(self, sentence: str, evidence: list[Evidence], question: str = "",
                preferred: list[Evidence] | tuple = (), weak: list[Evidence] | tuple = ()) -> SupportedSentence | None:
        """The evidence sentence that best supports `sentence`; one the model cited (`preferred`) wins
        whenever it supports it at all, since across languages similarities of on-topic sentences nearly tie.
        `weak` sentences (also in `evidence`) support a sentence in another language only by its numbers and names
        (`anchored_share`), never by embedding similarity, and one in their own language not at all."""
        sources = " ".join(e.text for e in evidence).lower()
        names = _hard_names(sentence, sources)
        claims = new_content(sentence, question)
        if not claims and not ((names | set(NUMBER.findall(sentence))) - set(NUMBER.findall(question))):
            return None  # it only repeats the question
        claimed = claimed_quantities(sentence)  # parsed once, checked against each evidence sentence
        asked = quantities(question)
        restated = [q for q in claimed if any(_same_value(q.value, a.value) and units_agree(q.unit, a.unit)
                                              for a in asked)]
        best: SupportedSentence | None = None
        s_vec = None
        sentence_lang = detect_lang(sentence)
        for ev in evidence:
            text = ev.text.lower()
            across = sentence_lang != ev.lang
            # across languages a number may be spelled out ("six" for "六艘") or, for a year, stated by the chunk
            checked = [q for q in claimed if not (across and _vouched_across(q, ev))
                       and not (q in restated and _restated_by_context(q, ev))]
            if any(n not in text for n in names) or not quantities_supported(checked, ev.text):
                continue
            score = (english_support(claims, ev.text, bool(checked)) if sentence_lang == ev.lang == "en"
                     else lexical_support(claims, ev.text))
            if across:
                score = max(score, anchored_share(sentence, claims, ev))
            elif ev in weak:
                continue
            if ev in weak and score < self.min_lexical:
                continue  # a sentence ranked low supports only by what it states verbatim, never by similarity
            # embeddings only vouch across languages (an English answer over Chinese sources);
            # within one language they rate any on-topic sentence as similar
            if (score < self.min_lexical and ev.vector is not None and across
                    and not unverifiable_names(sentence, question, sources)):
                if s_vec is None:
                    s_vec = np.asarray(self.embedder.get_query_embedding(sentence), dtype=np.float32)
                dense = float(ev.vector @ s_vec)
                score = max(score, self.min_lexical + dense - self.min_dense) if dense >= self.min_dense else score
            if score < self.min_lexical:
                continue
            if best is None or (ev in preferred, score) > (best.evidence in preferred, best.score):
                best = SupportedSentence(sentence, ev, score)
        return best

    def verify(self, answer: str, evidence: list[Evidence], question: str = "",
               numbered: list[Evidence] | None = None, weak: list[Evidence] | tuple = ()) -> list[SupportedSentence]:
        """Supported answer sentences; `numbered` is the list the model's [n] markers refer to (default: evidence);
        `weak` sentences may support one only by anchors across languages (`support`)."""
        numbered = evidence if numbered is None else numbered
        evidence = list(evidence) + [e for e in weak if e not in evidence]
        out = []
        for text, numbers in cited_sentences(answer):
            sentence = clean_sentence(text)
            if not re.search(r"\w", sentence):
                continue
            preferred = [numbered[n - 1] for n in numbers if 1 <= n <= len(numbered)]
            if (s := self.support(sentence, evidence, question, preferred, weak)) is not None:
                out.append(s)
        return out
