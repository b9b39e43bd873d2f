"""Sentence-level evidence: which sentences of the retrieved chunks answer the question.

Shared by every answer backend: the extractive backend quotes the selected
sentences, the LLM backends are prompted with them, and the grounding policy
(rag/grounding.py) reads the same features to decide that the documents do not
hold the answer. This module only measures; it decides nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from llama_index.core.schema import NodeWithScore

from rag.bm25 import BM25
from rag.config import EvidenceSettings
from rag.store import Store
from rag.text import (CLOSES_SENTENCE, detect_lang, english_lemmas, has_letters, refers_back, sentence_spans, squashed,
                      title_of, tokenize, trim_span)

# What kind of answer the question wants, and how to recognise it in a sentence. Each entry: (kind, how the question
# asks for it, what fills it). Place and person are recognised by part-of-speech tags (see `fills`).
_ASKS = [
    # "when" is answered by a year, a date, a weekday, a time of day or a relative time: accept any of them
    ("date", re.compile(r"哪一天|哪天|几月几日|几月|何时|什么时候|日期|\bwhen\b|\bwhat date\b|\bon what date\b", re.I),
     re.compile(r"\d|[年月日天周]|星期|上午|下午|晚上|早上|期间|之前|之后|以来|[一二三四五六七八九十]+月"
                r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b"
                r"|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|\b(?:morning|afternoon|evening|night|noon|midnight|"
                r"week|month|year|day|spring|summer|autumn|fall|winter|today|yesterday|tomorrow|ago|later|before|after|"
                r"during|since|until|century|decade)s?\b", re.I)),
    # a time of day ("几点开始", "what time does it start"): a date does not give it
    ("clock", re.compile(r"几点|什么时刻|\bwhat time\b(?! of (?:the )?(?:year|month))", re.I),
     re.compile(r"\d{1,2}\s*[:：]\s*\d{2}|[一二两三四五六七八九十\d]+\s*点|[上下]午|早上|早晨|晚上|中午|凌晨|傍晚"
                r"|\b\d{1,2}(?:[:.]\d{2})?\s*(?:a\.?m\b\.?|p\.?m\b\.?)|\bo'clock\b|\bnoon\b|\bmidnight\b", re.I)),
    ("year", re.compile(r"哪一?年|何年|\bwhat year\b|\bwhich year\b|\bwhich years\b|\bwhat years\b|\bin what year\b", re.I),
     re.compile(r"(?<!\d)\d{4}(?!\d)")),
    ("ordinal", re.compile(r"第几|哪一个|\bwhich (?:place|rank)\b", re.I),
     re.compile(r"第[一二两三四五六七八九十\d]+|首[个次位届]|最[大高]|\b(?:first|second|third|\d+(?:st|nd|rd|th))\b", re.I)),
    # a count or amount: digits that are not a year, or a numeral with a measure word
    ("number", re.compile(r"多少|(?<!第)几[个次大位国项名%家种条所岁年天]|how many|how much|how long|how old|how far"
                          r"|what percentage|\bnumber of\b", re.I),
     re.compile(r"(?<!\d)(?!(?:19|20)\d\d(?!\d))\d+|[一二两三四五六七八九十百千万亿]+[个次大度项名位家倍成届轮种条所岁年天]"
                r"|一[次度项届轮]|[%％]|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                r"thirty|forty|fifty|hundred|thousand|million|billion|dozen|half)\b", re.I)),
    # a length of time ("多长时间", "多久"): a count with a unit of time
    ("duration", re.compile(r"多长时间|多久|多少时间"),
     re.compile(r"[\d.一二两三四五六七八九十百千半几数]+\s*(?:个)?(?:分钟|分|小时|秒|天|日|周|星期|个月|月|年|世纪)"
                r"|\b\d+(?:\.\d+)?[\s-]*(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b", re.I)),
    ("person", re.compile(r"是谁|谁是|由谁|谁[^们]|哪位|哪几位|哪两位|什么人|\bwho\b|\bwhom\b|\bwhose\b", re.I), None),
    ("place", re.compile(r"哪里|哪儿|何地|何处|什么地方|哪座城市|哪个城市|哪个国家|哪国|\bwhere\b|\bwhich (?:city|country|"
                         r"town|state|place|region)\b", re.I), None),
]
_ORDINAL = re.compile(r"第[一二两三四五六七八九十\d]+|[一二两三四五六七八九十\d]+[次届轮]|\d+(?:\.\d+)?")
_YEAR = re.compile(r"(?<!\d)(?:1[6-9]|20)\d\d(?!\d)")
_MONTH_DAY = re.compile(r"几月几日|哪一天|哪天|\bwhat date\b|\bon what date\b", re.I)
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*[a-z][\w'’-]*\b|\b[A-Z]{2,}\b")

# Words that frame a question without being about its topic: they never count as key terms.
QUESTION_WORDS = frozenset(
    """many much long often far old big large small does did do done can could would should will shall has have had
    may might must also only any some kind type sort called name named exactly approximately roughly total overall
    一共 总共 共 大约 约 多长 多久 多大 多远 多高 哪家 哪所 哪项 哪类 哪国 哪些人 多少次 怎么办 为何 是否 有没有 叫 叫做 称为 名字""".split()
)
_LATIN_TOKEN = re.compile(r"^[a-z][a-z'-]+$")
_SUFFIXES = ("ingly", "edly", "ing", "iest", "ies", "ied", "est", "ers", "ed", "es", "er", "ly", "s", "y", "e")


@lru_cache(maxsize=1)
def _snowball():
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english")


@lru_cache(maxsize=4096)  # asked for every key term of every retrieved sentence
def porter_stem(word: str) -> str:
    """nltk's Snowball (Porter 2) stem: derivations the crude stem below misses ("coordinator" ~ "coordinates",
    "donation" ~ "donated")."""
    return _snowball().stem(word)


def stem(word: str) -> str:
    """A crude English stem for matching ("employs" ~ "employed", "busiest" ~ "busy"), never shorter than 4."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


# Counts and demonstratives frame a question ("哪两位", "四个", "第几个", "这次", "那份"), and the noun a question word
# asks for names the kind of answer, which the answer need not repeat ("哪座城市" → 东京, "什么职务", "which branch").
_FRAME = re.compile(r"^(?:第?[几两一二三四五六七八九十百千\d]+|[这那该此本每各])[个位次项座名家种条大届份件篇段年天届轮点方面]*$")
_ASKS_FOR = re.compile(r"(?:哪|什么|何|啥)[一几两三四五六七八九十]?[个位座家所条种项件份类名次]?|多(?:长|少|久|大|高|远|重)"
                       r"|\b(?:which|what|whose)\s+",
                       re.I)
_QUESTION_WORD = re.compile(r"^(?:哪|什么|几|多少|多长|多久|多大|多高|多远|多重|如何|怎|为何|何)")
# An English clitic ("the orchard's", "they'd", "we'll") tokenizes to a fragment ("s", "d", "ll") that occurs in
# nearly every English sentence, so it covered a key term wherever the question was possessive. "n't" stays: it is a
# negation (the contradiction check reads the question itself, not its key terms).
_CLITIC = re.compile(r"(?<=[A-Za-z])['’](s|d|ll|re|ve|m)\b", re.I)


def asked_for(question: str) -> set[str]:
    """The noun right after a question word: the kind of thing asked for ("哪三个**目标**", "哪些**武器**", "which
    **substances**"). A question word that asks for a time (什么时候, 何时, 哪一年) asks for no kind: the word after it
    is the event the time is of ("什么时候**竣工**"), and the date hangs on it."""
    nouns: set[str] = set()
    for m in _ASKS_FOR.finditer(question):
        rest = question[m.end():m.end() + 12]
        following = tokenize(rest)
        if following and not (_TIME_WORD.match(rest) and not m.group().startswith("多")):  # 多少天: 天 is the kind
            nouns.add(following[0])
    return nouns


_TIME_WORD = re.compile(r"时|年|天|日|月")  # after 什么 / 何 / 哪一: what time, which year / day / month


def key_terms(question: str) -> list[str]:
    """The question's content words: tokens without stop words, question-framing words, counts, demonstratives
    or the noun right after a question word (the kind of thing asked for), each once. A year is no count: it names
    when, and evidence about another year does not answer ("2023年的冠军是谁？")."""
    asked_nouns = asked_for(question)
    tokens = tokenize(question)
    asking = [t for t in tokens if t in QUESTION_WORDS or _QUESTION_WORD.match(t)]
    return list(dict.fromkeys(t for t in tokens
                              if _YEAR.fullmatch(t) or t not in asked_nouns and not _FRAME.match(t)
                              and t not in asking and not any(t in a for a in asking)))  # "长时间" is in "多长时间"


def term_in(term: str, text_lower: str) -> bool:
    if term in text_lower:
        return True
    if not _LATIN_TOKEN.match(term):
        return False
    return stem(term) in text_lower or len(root := porter_stem(term)) >= 4 and root in text_lower


# jieba's part-of-speech tags of the words a question is about: nouns (n, nr, ns, nt, nz…), verbal and adjectival
# nouns, numerals, measure and time words, Latin words and words jieba does not know (x).
_THING_TAGS = ("n", "vn", "an", "m", "q", "t", "eng", "x")
OTHER_WORD_WEIGHT = 0.5  # a verb, adverb or other word of the question counts half: answers rephrase them freely


def term_weights(question: str, terms: list[str]) -> dict[str, float]:
    """How much each key term counts for the coverage check, by its form in the question alone: a word that names a
    thing (a noun, a name, a number, a Latin word) counts 1, any other word OTHER_WORD_WEIGHT, an English clitic's
    fragment ("s" of "the orchard's") nothing. No corpus statistic
    enters, so a coverage threshold means the same in an index of 7 documents or of 500 (IDF over the index made a
    question whose distinctive word is missing pass once the topic's words grew rare in a large index)."""
    tagged = [(w.lower(), tag) for w, tag in _tagged(question)]
    clitics = {m.group(1).lower() for m in _CLITIC.finditer(question)}
    weights = {}
    for term in terms:
        if term in clitics and not re.search(rf"(?<![\w'’]){re.escape(term)}\b", question, re.I):
            weights[term] = 0.0  # a clitic's fragment, not a word: it would be found in nearly any sentence
            continue
        if re.search(r"[a-z\d]", term):
            weights[term] = 1.0
            continue
        tag = next((t for w, t in tagged if w == term), None) or next((t for w, t in tagged if term in w), "x")
        weights[term] = 1.0 if tag.startswith(_THING_TAGS) else OTHER_WORD_WEIGHT
    return weights


def weighted_coverage(terms: list[str], text: str, weights: BM25 | dict[str, float]) -> tuple[float, list[str]]:
    """Weighted share of the terms that occur in the text, and the missing terms (heaviest first). `weights` is a
    BM25 index (each term weighs its IDF over the index: for ranking sentences) or a term → weight map."""
    text = text.lower()
    return weigh_found(terms, [term_in(term, text) for term in terms], weights)


def weigh_found(terms: list[str], found: list[bool], weights: BM25 | dict[str, float]) -> tuple[float, list[str]]:
    """`weighted_coverage` for terms already looked up (`found[i]`: terms[i] occurs), so one lookup serves several
    weightings."""
    total = hit = 0.0
    missing = []
    weigh = weights.__getitem__ if isinstance(weights, dict) else weights.idf
    for term, present in zip(terms, found):
        w = weigh(term)
        total += w
        if present:
            hit += w
        else:
            missing.append((w, term))
    return (hit / total if total else 0.0), [t for _, t in sorted(missing, key=lambda m: -m[0])]


def asked_types(question: str) -> list[str]:
    return [name for name, asks, _ in _ASKS if asks.search(question)]


_BE_HAVE = frozenset("is are was were be been being has have had".split())
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def anchor(question: str) -> str:
    """The word the asked value hangs on: the event a "when" asks the date of ("什么时候**竣工**", "When will the
    dredging be **completed**?"), the thing a "who" / "how much" asks about ("**馆长**是谁"). A sentence that gives a
    value of the asked kind without it gives the value of another event or thing of the same kind ("开工 in 2026").
    Chinese: the first key term after the question phrase, else the last one before it; English: the verb that ends a
    question asked with an auxiliary ("did … rise", "will … be completed"). "" when there is none."""
    spans = [m.span() for _, asks, _ in _ASKS for m in [asks.search(question)] if m]
    if not spans:
        return ""
    if detect_lang(question) == "en":
        return _english_anchor(question)
    terms = [t for t in key_terms(question) if not t.isdigit()]  # a year has its own check
    weights = term_weights(question, terms)
    at = min(a for a, _ in spans)
    units = _units(question)  # "多少**平方米**": the value's unit, not what it is of
    after = [t for t in tokenize(question[at:]) if t in weights and t not in units]
    before = [t for t in tokenize(question[:at]) if t in weights and t not in units]
    word = after[0] if after else before[-1] if before else ""
    # a one-character distinguishing word right before it is its prefix, when jieba split them (副 + 主任: a deputy)
    prefix = next((w for w, tag in _tagged(question) if len(w) == 1 and tag == "b" and word and w + word in question
                   and w + word not in terms), "")
    if prefix and not _LATIN_TOKEN.match(word):
        word = prefix + word
    # a thing (a role, an attribute) for any asked kind; a verb only for a time, and only after the question word: an
    # event happens once at a time ("什么时候竣工"), while the verb before one is a light one ("需要多长时间"), and who
    # did something or how many is often told with another verb ("出席" asked, "主持召开" told)
    timed = bool(after) and bool({"date", "year", "duration"} & set(asked_types(question)))
    return word if word and (timed or not _verb_or_particle(question, word)) else ""


@lru_cache(maxsize=256)  # the same question is read by key-term weights, the anchor and the sibling check
def _tagged(question: str) -> tuple[tuple[str, str], ...]:
    """The question's words with jieba's part-of-speech tags, tagged once per question."""
    import jieba.posseg

    return tuple((w, tag) for w, tag in jieba.posseg.cut(question))


def _units(question: str) -> set[str]:
    """Words jieba tags a numeral or a measure word in the question (亿元, 平方米)."""
    return {w.lower() for w, tag in _tagged(question) if tag in ("m", "q", "mq")}


def _verb_or_particle(question: str, word: str) -> bool:
    """jieba tags the word in the question a verb (not a verbal noun), an adverb or a conjunction (不是)."""
    return any(w == word and (tag[0] in "vdc" and tag != "vn") for w, tag in _tagged(question))


def _english_anchor(question: str) -> str:
    words = _EN_WORD.findall(question)
    lowered = [w.lower() for w in words]
    aux = next((i for i, w in enumerate(lowered) if w in _AUXILIARIES or w in _BE_HAVE), None)
    if aux is None or aux > 3 or len(words) - aux < 3:  # "When will", "How much did", "In what year was"
        return ""
    last = lowered[-1]
    if not _verb_lemmas(last):
        return ""
    if lowered[aux] in _BE_HAVE and last in _verb_lemmas(last):  # after be / have only a participle is the verb
        return ""
    return last


def _verb_lemmas(word: str) -> tuple[str, ...]:
    return tuple(english_lemmas(word.lower()).get("VERB", ()))


@lru_cache(maxsize=1024)
def _verb_forms(word: str) -> frozenset[str]:
    """Every form of the verbs an English word form can be ("rise" → rises, rose, risen, rising)."""
    from lemminflect import getAllInflections

    forms = {word.lower()}
    for lemma in _verb_lemmas(word):
        forms.add(lemma)
        for group in getAllInflections(lemma, upos="VERB").values():
            forms.update(group)
    return frozenset(forms)


@lru_cache(maxsize=1024)
def _search_pieces(word: str) -> tuple[str, ...]:
    import jieba

    return tuple(jieba.lcut_for_search(word))


def names_anchor(word: str, text: str) -> bool:
    """Does the text name the anchor word, in any of its forms?"""
    lowered = text.lower()
    if term_in(word, lowered):
        return True
    if not _LATIN_TOKEN.match(word):  # a Chinese compound is named by a word of two or more characters in it (主持 of 主持人)
        # but not the word without a one-character prefix: 局长 does not name 副局长
        return len(word) > 2 and any(len(p) >= 2 and p not in (word, word[1:]) and p in lowered
                                     for p in _search_pieces(word))
    return bool(_verb_forms(word) & {w.lower() for w in _EN_WORD.findall(text)})


@dataclass
class Evidence:
    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    section: str
    score: float
    lexical: float
    dense: float
    chunk_rank: int
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    context: str = field(default="", repr=False, compare=False)  # what it may refer to: title, section, name, text before
    coverage: float = 0.0  # share of the question's key terms (by term_weights) in the sentence, those only in its context half
    missing: list[str] = field(default_factory=list, compare=False)  # key terms absent from both, heaviest first
    lang: str = "zh"
    about_else: str = ""  # why the sentence is about something else than the question asks (`about_else`), or ""
    topic: str = field(default="", repr=False, compare=False)  # its document's title and its section heading


@dataclass
class EvidenceSet:
    question: str
    lang: str
    ranked: list[Evidence] = field(default_factory=list)
    answerable: bool = False  # set by the grounding policy
    reason: str = ""
    strong: bool = False  # the policy found the evidence strong enough to overrule a model refusal
    judged: float | None = None  # the answerability judge's P(the evidence states the answer), when asked
    listed: list[Evidence] | None = None  # a list the best sentence introduces, with its items (rag/compose.py)
    idf: dict[str, float] = field(default_factory=dict)  # each key term's IDF over the index (how specific it is)

    def selected(self, max_sentences: int = 3, ratio: float = 0.85) -> list[Evidence]:
        """The best sentence plus close runners-up (list answers span sentences), in document order."""
        if not self.ranked:
            return []
        best = self.ranked[0].score
        chosen = [e for e in self.ranked[:max_sentences] if e.score >= best * ratio]
        return sorted(chosen, key=lambda e: (e.doc_id, e.start))

    @property
    def pair(self) -> str:
        """Question language, then source language: zh-zh, en-en, en-zh, zh-en."""
        return f"{self.lang}-{self.ranked[0].lang if self.ranked else self.lang}"


def named_apart(question: str, evidence: EvidenceSet) -> tuple[str, Evidence] | None:
    """A key term the best sentence and what it refers back to lack, which another retrieved sentence of the same
    document names apart from what the best sentence says: (the term, that sentence), or None. A document that names
    the asked thing elsewhere but not with the best sentence's value gives that value for another thing ("西院区"
    asked; the 急诊量 sentence is about 东院区, and 西院区 is named two sentences on, with other figures). A sentence
    that names the term and, in its own words, everything the best sentence's own words cover of the question may
    state the answer (it ranked lower), so then there is none. Its own words, not its context: the text before a
    sentence may hold the sibling's figure it follows. Only a sentence after the best one: a name before it, beyond
    the text it refers back to, is more often what the document is about (the company a notice opens with, the
    holiday a section is about), and the best sentence is about it too. And only one that shares a word of the
    question with the best sentence (全年, 洪峰): both speak of the asked matter, each of its own thing; a line that
    only names the term (a notice's signature, "恒泰精密制造股份有限公司 行政人事部") says nothing apart."""
    if not evidence.ranked:
        return None
    best = evidence.ranked[0]
    terms = key_terms(question)
    weights = term_weights(question, terms)
    said = best.text.lower()
    asked = asked_for(question)
    names = {w.lower() for w in _LATIN_WORD.findall(question)[1:] if w[:1].isupper()}  # not the question's first word
    # the role the question names before its question word is said more exactly by the noun that word carries, when
    # the best sentence names that noun ("英国方面代表是哪两位大臣" over a sentence naming the two 大臣)
    restated = anchor(question) if any(term_in(n, said) for n in asked) else ""
    lacking = [t for t in best.missing if t != restated and _names_apart(t, weights.get(t, 0), asked, t in names)]
    covered = [t for t in terms if weights.get(t, 0) > 0 and term_in(t, said)]
    if evidence.idf:  # only the question's most specific words: a common one ("课程", "国际") is phrasing, not a thing
        most = max((evidence.idf.get(t, 0.0) for t in covered), default=0.0)
        lacking = [t for t in lacking if evidence.idf.get(t, 0.0) >= most]
    for term in lacking:
        holders = [e for e in evidence.ranked[1:] if e.doc_id == best.doc_id and e.start > best.start
                   and term_in(term, e.text.lower()) and any(term_in(t, e.text.lower()) for t in covered)]
        if holders and not any(all(term_in(t, e.text.lower()) for t in covered) for e in holders):
            return term, holders[0]
    return None


def _names_apart(term: str, weight: float, asked: set[str], capitalised: bool) -> bool:
    """Whether a key term names a thing that sets one part of a topic apart from another (a place, a branch, a phase,
    a year): a word that names a thing (weight 1: a Chinese noun, name, numeral or time word), in English a number or
    a name (capitalised in the question: "Pine Hollow"). An English common noun is most often the asked attribute,
    which the answer states as a value ("What was the Norman religion?" answered by "Catholic"; squad_en
    calibration), verbs and adjectives are rephrased ("won" told as "going to"), and the noun a question word asks for
    ("哪三个目标") is answered by any instance, named or not."""
    if weight < 1 or any(term == a or term.startswith(a) for a in asked):
        return False
    return not _LATIN_TOKEN.match(term) or capitalised


def _names(text: str, kind: str) -> set[str]:
    """Candidate answers to who / where: capitalised Latin words (not function words), and in Chinese the words
    jieba tags as names (nr, ns, nt, nz) — for "who" any noun, since titles and organisations answer it too."""
    import jieba.posseg

    from rag.text import STOPWORDS

    names = {m.group() for m in _CAPITALISED.finditer(text) if m.group().lower() not in STOPWORDS}
    if re.search(r"[\u3400-\u9fff]", text):
        tags = ("ns",) if kind == "place" else ("nr", "nrt", "nrfg", "ns", "nt", "nz", "n", "eng")
        names |= {w for w, tag in jieba.posseg.cut(text) if tag in tags and len(w) >= 2}
    return names


def place_names(text: str) -> set[str]:
    """Words jieba tags as places (ns)."""
    import jieba.posseg

    return {w for w, tag in jieba.posseg.cut(text) if tag == "ns"}


_PLACE_SUFFIX = re.compile(r"[\u3400-\u9fff]+(?:市|省|县|区|州|国|岛|镇|村|街|路|馆|中心|大学|学院|港|湾|广场|机场|酒店|宫|厅)")
_TITLE_SUFFIX = re.compile(r"[\u3400-\u9fff]+(?:长|主席|总统|总理|首相|大臣|部长|主任|经理|总裁|董事|教授|校长|书记|秘书|馆员|主持人|负责人|代表|委员)")


def fills(kind: str, text: str, question: str) -> bool:
    """Does the text hold a value of the asked kind that the question does not already name?"""
    q_lower = question.lower()
    if kind == "date" and _MONTH_DAY.search(question):
        return bool(re.search(r"\d{1,2}月\d{1,2}日|\b\d{1,2}\s+[A-Z][a-z]+|\b[A-Z][a-z]+\s+\d{1,2}\b", text))
    if kind in ("person", "place"):
        found = {n for n in _names(text, kind) if n.lower() not in q_lower}
        extra = _PLACE_SUFFIX if kind == "place" else _TITLE_SUFFIX
        found |= {m.group() for m in extra.finditer(text) if m.group() not in question}
        return bool(found)
    pattern = next(p for name, _, p in _ASKS if name == kind)
    return any(m.group().lower() not in q_lower for m in pattern.finditer(text))


_ORDINAL_OF = re.compile(r"第([一二两三四五六七八九十\d]+)[次届轮期个位]|(首)[次届轮期个位]|\b(first|second|third|fourth|fifth|"
                         r"\d+(?:st|nd|rd|th))\b", re.I)
_ORDINAL_VALUE = {"首": 1, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5} | {
    c: i for i, c in enumerate("一二三四五六七八九十", 1)} | {"两": 2}


def _ordinals(text: str) -> set[int]:
    out = set()
    for m in _ORDINAL_OF.finditer(text):
        word = next(g for g in m.groups() if g).lower()
        digits = re.match(r"\d+", word)
        value = int(digits.group()) if digits else _ORDINAL_VALUE.get(word)
        if value:
            out.add(value)
    return out


# An English question that asks about what is not so ("What did the Normans not adopt?") is answered by a
# sentence that negates or sets something apart; one that only affirms states the opposite.
_NEGATION = re.compile(r"\b(?:not|never|none|neither|nor|cannot|no(?![.\s]*\d))\b|n't\b", re.I)
_SETS_APART = re.compile(_NEGATION.pattern + r"|\b(?:except|but|other than|apart from|besides|instead|only|without|lack"
                         r"|lacks|lacked|lacking|fails?|failed|refused|neither)\b", re.I)


def contradiction(question: str, evidence: Evidence, negation: bool = True) -> str:
    """Why the evidence is about something else than the question asks, or "": `about_else`, or (with `negation`) an
    English question is negated and the sentence only affirms. The scorer ranks every sentence that is about
    something else below those free of it, so the best sentence is about something else only when all are."""
    if why := about_else(question, evidence):
        return why
    if (negation and evidence.lang == "en" and detect_lang(question) == "en" and _NEGATION.search(question)
            and not _SETS_APART.search(evidence.text)):
        return "the question is negated and the evidence only affirms"
    return ""


def about_else(question: str, evidence: Evidence) -> str:
    """Why a sentence is about something else than the question asks, or "": the question names a year that the
    sentence and its context lack while they name another one (a sentence under "为做好2025年本科招生工作" is about
    2025 though it names no year); or an ordinal ("第二次") they lack while the sentence names another one; or a
    thing they lack while the sentence names a sibling of it (`sibling`)."""
    around = evidence.text + evidence.context
    asked = set(_YEAR.findall(question))
    if asked and not any(y in around for y in asked) and set(_YEAR.findall(around)) - asked:
        return "the evidence is about another year"
    # a year its title or heading sets, when the sentence does not name the asked one itself: a year in the text
    # before is then a comparison ("比2024年的641公斤提高31公斤" under "…2025年秋粮…"), not what the next sentence is about
    framed = set(_YEAR.findall(evidence.topic))
    if asked and framed and not framed & asked and not any(y in evidence.text for y in asked):
        return "the evidence is about another year (its title's)"
    asked_ord = _ordinals(question)
    if asked_ord and not asked_ord & _ordinals(around) and _ordinals(evidence.text) - asked_ord:
        return "the evidence is about another occurrence"
    if other := code_sibling(question, evidence):
        return f"the evidence is about {other[0]}, not {other[1]}"
    if detect_lang(question) == evidence.lang and (other := sibling(question, evidence)):
        return f"the evidence is about {other[0]}, not {other[1]}"
    return ""


# a model or product code: letters then digits ("A3", "K2", "F3", "RTX4090"), as documents name sibling products
_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,4})-?(\d{1,4})(?![0-9])")


def code_sibling(question: str, evidence: Evidence) -> tuple[str, str] | None:
    """(the sibling code, the asked one) when the question names a code ("清风A3") that the sentence and its section
    heading lack while they name another code of the same letters ("A5"), or None. A title often names both
    siblings ("清风A3与清风A5对比") while each section is about one, so the section decides, not the title; a
    sentence that does not name its subject ("它的滤网可使用12个月") is about its section's code."""
    asked = {(m[1].upper(), m[2]) for m in _CODE.finditer(question)}
    if not asked:
        return None
    scope = evidence.text + "\n" + evidence.section
    named = {(m[1].upper(), m[2]) for m in _CODE.finditer(scope)}
    for letters, digits in sorted(asked):
        if (letters, digits) in named:
            continue
        other = next((f"{a}{b}" for a, b in sorted(named) if a == letters and (a, b) not in asked), None)
        if other:
            return other, f"{letters}{digits}"
    return None


_HAN_WORD = re.compile(r"[\u3400-\u9fff]{2,}")
_THING_OR_TIME = ("n", "vn", "t")  # jieba tags of a noun, verbal noun or time word (节日 names are time words)
SIBLING_MIN_CHARS = 3  # a two-character Chinese word is one morpheme pair, not a modifier and a head


def sibling(question: str, evidence: Evidence) -> tuple[str, str] | None:
    """A sibling of a thing the question names: (what the sentence names, what the question asks about), or None.
    The asked thing is missing from the sentence and its context, and the sentence names another thing of the same
    head: in Chinese a word ending in the same morpheme (国庆节 asked, 春节 given; 区议会 / 国会), or the asked word's
    own head under a one-character prefix (副局长 asked, 局长 given: a deputy is not the head); in English the same
    head noun under another modifier ("the Westside library branch" asked, "the Eastside library branch" given).
    The noun a question word asks for is left out: any instance answers it ("哪个香港艺人", "what theories")."""
    around = (evidence.text + evidence.context).lower()
    if evidence.lang == "zh":
        return _han_sibling(question, evidence.text, around)
    return _latin_sibling(question, evidence.text, around)


@lru_cache(maxsize=64)  # asked for every retrieved sentence of the same question
def _han_asked(question: str) -> tuple[list[str], list[str]]:
    """The question's words, and those a sibling could stand in for: key terms that name a thing or a time, of
    SIBLING_MIN_CHARS or more Chinese characters, other than the noun a question word asks for."""
    import jieba

    words = jieba.lcut(question)
    terms = set(key_terms(question))
    tags = dict(_tagged(question))
    asked_at = {m.end() for m in _ASKS_FOR.finditer(question)}
    asked = [w for w in words if w in terms and len(w) >= SIBLING_MIN_CHARS and _HAN_WORD.fullmatch(w)
             and tags.get(w, "x").startswith(_THING_OR_TIME) and not any(question.startswith(w, at) for at in asked_at)]
    return words, asked


def _han_sibling(question: str, text: str, around: str) -> tuple[str, str] | None:
    import jieba
    import jieba.posseg

    from rag.text import STOPWORDS

    words, candidates = _han_asked(question)
    candidates = [w for w in candidates if w not in around]
    if not candidates:
        return None
    # the sentence's nouns and time words, and the parts of a compound that are words themselves: its head (春节 in
    # 庆祝春节, 局长 in 副局长) or a leading word before a word of two or more characters (春节 in 春节假期, not 情人 in 情人节)
    found = set()
    for word, tag in jieba.posseg.cut(text):
        if not _HAN_WORD.fullmatch(word) or not tag.startswith(_THING_OR_TIME):  # 招生 (to enrol) names no 学生
            continue
        found.add(word)
        found |= {p for p in jieba.lcut_for_search(word) if len(p) >= 2
                  and (word.endswith(p) or word.startswith(p) and len(word) - len(p) >= 2)}
    for asked in candidates:
        for other in sorted(found):
            if other == asked or other[-1] != asked[-1] or other in words:
                continue
            if asked.endswith(other):  # the asked word's own head: a sibling only under a one-character prefix
                prefix = asked[: -len(other)]
                if len(prefix) == 1 and prefix not in STOPWORDS:
                    return other, asked
            elif other not in question:
                return other, asked
    return None


_LATIN_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
_WHAT_WHICH = re.compile(r"\s*(?:what|which)\b", re.I)


_AUXILIARIES = frozenset("do does did will would can could shall should may might must".split())
# determiners and quantifiers nltk's stop words leave out: "another problem" is no sibling of "NP-complete problem"
_DETERMINERS = frozenset("another every either neither several various certain whole former latter".split())


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    """English function words: this module's and nltk's stop list (its data ships inside llama-index-core)."""
    from llama_index.core.utils import globals_helper

    from rag.text import STOPWORDS

    return frozenset(globals_helper.stopwords) | STOPWORDS | QUESTION_WORDS | _DETERMINERS


def _content_word(word: str) -> bool:
    word = word.lower()
    return word not in _function_words() and not word.isdigit()


def _parts_of_speech(word: str) -> frozenset[str]:
    """The parts of speech an English word form can have (lemminflect's bundled lexicon; no download): empty for a
    word it does not know, mostly a name."""
    return frozenset(english_lemmas(word.lower()))


def _names_thing(word: str, tags: set[str]) -> bool:
    tags_ = _parts_of_speech(word)
    return bool(tags_ & tags) if tags_ else word[:1].isupper()  # a word the lexicon lacks: a name if capitalised


def _noun(word: str) -> bool:
    """A form that can name a thing: a noun by the lexicon, or a capitalised word it does not know (a name)."""
    return _content_word(word) and _names_thing(word, {"NOUN", "PROPN"})


def _modifier(word: str) -> bool:
    """A form that can modify a noun (a noun, an adjective, a name), not a verb only ("became operational")."""
    return _content_word(word) and _names_thing(word, {"NOUN", "PROPN", "ADJ"})


def _latin_sibling(question: str, text: str, around: str) -> tuple[str, str] | None:
    """Adjacent content words of the question, a modifier and a head noun ("Westside library branch" → Westside
    library, library branch): the modifier is missing while the sentence puts another modifier before the same head.
    Only nouns are heads and no verb form is a modifier: "become operational" / "became operational" is one thing."""
    question = _CLITIC.sub("", question)
    q_words = {w.lower() for w in _LATIN_WORD.findall(question)}
    q_stems = {stem(w) for w in q_words}
    sentence = _LATIN_WORD.findall(_CLITIC.sub("", text))  # "the men's race": men is the modifier, not "s"
    skip_asked = bool(_WHAT_WHICH.match(question))  # "What were the two main theories…": any theories answer
    for phrase in re.split(r"[^\w\s'’-]+", question):
        run: list[str] = []
        after_auxiliary = False
        for word in _LATIN_WORD.findall(phrase) + [""]:
            if word and _content_word(word):
                run.append(word)
                continue
            if run and skip_asked:
                skip_asked, run = False, []
            if after_auxiliary and run and "VERB" in _parts_of_speech(run[-1]):
                run = run[:-1]  # "does the Kestrel cart cost": after do / will, the run ends in its verb
            # an auxiliary opens the subject ("does the Kestrel cart cost"): function words before the run keep it
            after_auxiliary = word.lower() in _AUXILIARIES or after_auxiliary and not run
            for at, (modifier, head) in enumerate(zip(run, run[1:]), 1):
                if term_in(modifier.lower(), around) or not (_noun(head) and _modifier(modifier)):
                    continue
                if at < len(run) - 1 and "ADJ" in _parts_of_speech(head):
                    continue  # an adjective inside the phrase modifies the next word ("the body's immune agents")
                for before, word_ in zip(sentence, sentence[1:]):
                    if (stem(word_.lower()) == stem(head.lower()) and _modifier(before)  # whole words: "men" is
                            and before.lower() not in q_words and stem(before.lower()) not in q_stems):  # not "women"
                        return f"{before.lower()} {word_.lower()}", f"{modifier.lower()} {head.lower()}"
            run = []
    return None


def contradicted(question: str, evidence: Evidence) -> bool:
    return bool(contradiction(question, evidence))


def numbers_agree(question: str, text: str) -> bool:
    """Every number or ordinal the question names appears in the text."""
    return all(m in text for m in _ORDINAL.findall(question))


_HEADING_START = re.compile(r"\d+(?:\.\d+)*[.、]\s*\S|[一二三四五六七八九十]+、|第[一二三四五六七八九十\d]+[章节部分篇]|[A-Z]")


def is_title_line(text: str, a: int, b: int, at_document_start: bool = False) -> bool:
    """A document's first line, or a heading above a longer paragraph, with no sentence-final punctuation and no
    "label: value" colon: a title names a topic and states nothing about it. `text` is a chunk, which may start or
    end inside a long sentence, so only a line break (or the document's start) bounds a line, and a chunk's first
    line only when it opens like a heading ("3. Riverside Park renovation", "二、目标", a capital letter)."""
    opens_line = text[a - 1] == "\n" if a > 0 else at_document_start or bool(_HEADING_START.match(text, a))
    if not opens_line or b >= len(text) or text[b] != "\n":
        return False
    line = text[a:b]
    if CLOSES_SENTENCE.search(line) or re.search(r"[:：]\s*\S", line):
        return False
    following = text[b:].lstrip("\n").split("\n", 1)[0]
    return (a == 0 and at_document_start) or len(following.strip()) > 2 * len(line.strip())


def _sentences_of(store: Store, chunks: list[NodeWithScore]) -> dict[tuple[str, int, int], np.ndarray]:
    spans = []
    for c in chunks:
        meta = c.node.metadata
        text, base = c.node.get_content(), int(meta["start"])
        for a, b in sentence_spans(text):
            a, b = trim_span(text, a, b)
            if b > a:
                spans.append((meta["doc_id"], base + a, base + b))
    return store.sentence_vectors(spans)


def look_back(store: Store, chunks: list[NodeWithScore]) -> dict[str, tuple[str, str]]:
    """What a sentence of each retrieved chunk (by chunk id) may refer to beyond its chunk: its document's title, and
    the previous chunk's text before this one in the same section (a pair). A sentence that does not name its subject ("It
    launched…", "该产品…", "双方…") refers back to what came before, rarely to what follows."""
    asks: list[dict] = []
    for c in chunks:
        meta = c.node.metadata
        asks.append({"$and": [{"doc_id": meta["doc_id"]}, {"start": 0}]})
        if int(meta["start"]) > 0:
            asks.append({"$and": [{"doc_id": meta["doc_id"]}, {"start": {"$lt": int(meta["start"])}},
                                  {"end": {"$gt": int(meta["start"])}}]})
    if not asks:
        return {}
    by_doc: dict[str, list[tuple[str, dict]]] = {}
    for _, text, meta in store.get_chunks(where=asks[0] if len(asks) == 1 else {"$or": asks}):
        by_doc.setdefault(meta["doc_id"], []).append((text, meta))
    out = {}
    for c in chunks:
        meta, text = c.node.metadata, c.node.get_content()
        start, section = int(meta["start"]), meta.get("section", "")
        rows = by_doc.get(meta["doc_id"], [])
        title = next((title_of(t) for t, m in rows if int(m["start"]) == 0), "")
        # chunks overlap by a sentence: the previous chunk (of this version) ends with this chunk's first sentence
        before = next((t[: start - int(m["start"])] for t, m in rows if int(m["start"]) < start < int(m["end"])
                       and m.get("section", "") == section and text.startswith(t[start - int(m["start"]):])), "")
        out[meta["chunk_id"]] = (title, before)
    return out


def previous_sentence(earlier: str, text: str, a: int) -> str:
    """The sentence right before offset `a` of a chunk's text (the last one of the text before the chunk when `a` is its
    first sentence; `earlier` is from `look_back`): what a sentence opening with a pronoun refers to."""
    before = text[:a] if text[:a].strip() else earlier
    spans = sentence_spans(before)
    return before[spans[-1][0]:spans[-1][1]] if spans else ""


class EvidenceScorer:
    """Scores every sentence of the retrieved chunks against the question (ranking only; see rag/grounding.py)."""

    def __init__(self, store: Store, embedder, tuning: EvidenceSettings | None = None):
        self.store = store
        self.embedder = embedder
        t = tuning or EvidenceSettings()
        self.dense_floor, self.dense_span, self.lexical_weight = t.dense_floor, t.dense_span, t.lexical_weight
        self.type_penalty, self.heading_penalty = t.type_penalty, t.heading_penalty
        self.duplicate_cosine = t.duplicate_cosine
        self.about_else_penalty = t.about_else_penalty

    def score(self, question: str, chunks: list[NodeWithScore], bm25: BM25) -> EvidenceSet:
        lang = detect_lang(question)
        result = EvidenceSet(question, lang)
        if not chunks:
            return result
        terms = key_terms(question)
        weights = term_weights(question, terms)
        result.idf = {t: bm25.idf(t) for t in terms}
        q_vec = np.asarray(self.embedder.get_query_embedding(question), dtype=np.float32)
        vectors = _sentences_of(self.store, chunks)
        kinds = [k for k in asked_types(question) if k not in ("person", "place")]
        seen: set[tuple[str, int]] = set()
        earlier = look_back(self.store, chunks)
        for rank, c in enumerate(chunks):
            meta = c.node.metadata
            text, base = c.node.get_content(), int(meta["start"])
            # what a sentence may refer to: the document's title, its section, its name and the text before it
            title, before = earlier.get(meta["chunk_id"], ("", ""))
            looked_back = "\n".join(p for p in (title, before) if p)  # where the chunk's first sentence's referent is
            head = "\n".join(p for p in (looked_back, meta.get("section", ""), str(meta.get("doc_name", ""))) if p)
            head_lower = head.lower()
            # what every sentence here is about, named or not: the document's title and the section's heading
            topic = title + "\n" + meta.get("section", "")
            topic_lower = topic.lower()
            doc_lang = detect_lang(text)  # the pair is question language → source language, judged per chunk
            for a, b in sentence_spans(text):
                a, b = trim_span(text, a, b)
                if b - a < 2 or (meta["doc_id"], base + a) in seen or not has_letters(text[a:b]):
                    continue
                seen.add((meta["doc_id"], base + a))
                sentence = text[a:b]
                sid = (meta["doc_id"], base + a, base + b)
                s_lang = doc_lang
                pair_lang = lang if s_lang == lang else "en"  # across languages, scores run like English ones
                dense = float(vectors[sid] @ q_vec) if sid in vectors else 0.0
                sentence_lower = sentence.lower()
                context = head + "\n" + text[:a]
                context_lower = head_lower + "\n" + text[:a].lower()
                in_text = [term_in(t, sentence_lower) for t in terms]
                around = [here or term_in(t, context_lower) for t, here in zip(terms, in_text)]
                # ranks: IDF tells a sentence about the topic, which its title or heading may name for it; one that opens
                # with a pronoun is about the sentence before
                named = [here or term_in(t, topic_lower) for t, here in zip(terms, in_text)]
                if refers_back(sentence):
                    referent = previous_sentence(looked_back, text, a).lower()
                    named = [here or term_in(t, referent) for here, t in zip(named, terms)]
                lexical, _ = weigh_found(terms, named, bm25)
                in_sentence, _ = weigh_found(terms, in_text, weights)
                in_context, missing = weigh_found(terms, around, weights)
                coverage = (in_sentence + in_context) / 2  # a term only in the context (a year, a name) counts half
                dense_n = min(max((dense - self.dense_floor[pair_lang]) / self.dense_span[pair_lang], 0.0), 1.0)
                w_lex = self.lexical_weight[pair_lang]
                score = w_lex * lexical + (1 - w_lex) * dense_n + 0.05 / (rank + 1)
                if kinds and not all(fills(k, sentence, question) for k in kinds):
                    score *= self.type_penalty
                if not numbers_agree(question, sentence + context):
                    score *= self.type_penalty
                if is_title_line(text, a, b, at_document_start=base == 0) or sentence.strip() == meta.get("section", "").strip():
                    score *= self.heading_penalty
                ev = Evidence(meta["doc_id"], meta["chunk_id"], base + a, base + b, sentence, meta.get("section", ""),
                              score, lexical, dense, rank, vectors.get(sid), context, coverage, missing, s_lang,
                              topic=topic)
                # a sentence about another year, occurrence or sibling thing ranks below every sentence free of it
                # (so the policy, reading the best, refuses for it only when none is left), and its score is cut so
                # that it is not selected beside a free best sentence
                ev.about_else = about_else(question, ev)
                if ev.about_else:
                    ev.score *= self.about_else_penalty
                result.ranked.append(ev)
        result.ranked.sort(key=lambda e: (bool(e.about_else), -e.score))
        result.ranked = self._dedupe(result.ranked)
        return result

    def _dedupe(self, ranked: list[Evidence]) -> list[Evidence]:
        """Near-identical sentences (the same news in two documents) keep only their best-ranked copy."""
        kept: list[tuple[Evidence, str]] = []  # with its normalised text, computed once
        for e in ranked:
            norm = squashed(e.text)
            if any(norm == k_norm or (e.doc_id != k.doc_id and e.vector is not None and k.vector is not None
                                      and float(e.vector @ k.vector) >= self.duplicate_cosine)
                   for k, k_norm in kept):
                continue
            kept.append((e, norm))
        return [e for e, _ in kept]
