"""Answers that need several passages: multi-part questions and lists spread over sentences or paragraphs.

`split_question` turns "X和Y分别是谁", "What is A, and what is B?", "2022年和2023年各…" or "何时、在哪里" into
sub-questions; the pipeline grounds each on its own (retrieval, evidence, the grounding policy) and `compose`
joins the parts with one citation each, naming a part the documents do not cover instead of guessing it.
`list_items` follows a sentence that introduces a list ("以下三项工作：", "四大领域:", "the following:") to the
items after it in the same section, so every item is cited. Everything quoted is a verbatim span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.evidence import Evidence, EvidenceSet, asked_for, asked_types, key_terms, stem, term_in
from rag.text import detect_lang, refers_back, sentence_spans, tokenize, trim_span

# --- multi-part questions -------------------------------------------------------------------------------------

_WH_ZH = r"(?:何时|什么时候|哪一年|哪年|哪一天|哪天|几月几日|在哪里|在哪儿|在何地|哪里|何地|谁|多少|什么|哪些|哪个|如何|怎样|为什么|为何)"
_TWO_WH_ZH = re.compile(rf"({_WH_ZH})\s*(、|和|与|以及|及|还有)\s*({_WH_ZH})")
_EACH_ZH = re.compile(r"分别|各自|各")
_CONJ_ZH = re.compile(r"和|与|及|以及|跟|、")
_WH_EN = (r"(?:what|which|who|whom|whose|when|where|why|how|from which|in which|on which|at which|for which|"
          r"to which|is|are|was|were|does|do|did|can|could)\b")
_CLAUSES_EN = re.compile(rf",?\s+(?:and|but)\s+(?={_WH_EN})", re.I)
_YEAR_PAIR = re.compile(r"((?:19|20)\d\d)\s*年?\s*(?:和|与|及|、|至|到|and|or)\s*((?:19|20)\d\d)\s*(年?)", re.I)
# two owners of one head ("the men's and (the) women's long jump"); the head must follow the second owner
_POSSESSIVES_EN = re.compile(r"\b(\w+['’]s)\s+and\s+(?:the\s+)?(\w+['’]s)(?=\s+\w)")
_EACH_EN = re.compile(r"\s*,?\s*\b(?:respectively|each)\b", re.I)
_SMALL_EN = {"in", "on", "at", "for", "the", "a", "an", "of", "to", "by", "from"}
# a clause that asks about the things the clause before it named ("…哪些新产品，分别在什么时候发布", "…, and when did
# each start?") is a follow-up of that question, not a part of its own
_BACK_ZH = re.compile(r"^\s*(?:分别|各自|各|它们|这些|其)")
_BACK_EN = re.compile(r"\b(?:each|they|them|these|those|respectively)\b", re.I)
_ARTICLES = {"the", "a", "an"}
# a noun phrase after its article: words up to a preposition, a conjunction or a punctuation mark ("the total climb")
_NOUN_PHRASE_EN = re.compile(r"\w+(?:\s+(?!(?:of|for|in|on|at|by|from|to|with|during|and|or|respectively|each)\b)"
                             r"[\w'-]+){1,4}", re.I)
# an English word that modifies a noun rather than being one ("primary and secondary caregivers"): a shared head
_MODIFIER_EN = re.compile(r"(?:ary|ory|al|ic|ive|ous|ful|less|ern|ior|ed|ing|ly|ble)$")


def _clean(part: str, lang: str) -> str:
    part = part.strip(" ,，、;；")
    end = "？" if lang == "zh" else "?"
    return part if part.endswith(("？", "?")) else part + end


_BOUNDARY_ZH = "的，,、是 "


def _split_chinese_pair(question: str) -> list[str] | None:
    """"A和B分别…" → ["A…", "B…"]: coordinated items run parallel, so the left item is taken as long as the right
    one (in characters, widened to whole numbers, stopped at 的/，/、); a "的 + head" that only the right item
    spells out is shared ("日本和英国的外务大臣" → 日本的外务大臣, 英国的外务大臣)."""
    each = _EACH_ZH.search(question)
    if not each:
        return None
    head, tail = question[:each.start()], question[each.end():]
    conj = None
    for m in _CONJ_ZH.finditer(head):
        conj = m  # the last conjunction before 分别/各
    if conj is None:
        return None
    right = head[conj.end():]
    rights = [x for x in right.split("、") if x]
    width = len(rights[-1] if rights else right)
    cut = max((i + 1 for i in range(conj.start()) if head[i] in _BOUNDARY_ZH), default=0)
    if conj.start() - cut > 2 * width + 2:  # no boundary near: as long as the right item, widened to whole numbers
        cut = conj.start() - width
        while cut > 0 and head[cut - 1].isascii() and head[cut - 1].isalnum():
            cut -= 1
    left = head[cut:conj.start()]
    prefix = head[:cut]
    lefts = [x for x in left.split("、") if x]
    if not lefts or not rights:
        return None
    items = lefts + rights
    shared = rights[-1][rights[-1].index("的"):] if "的" in rights[-1] else ""
    if shared and all(len(x) <= rights[-1].index("的") for x in lefts):
        items = [x if "的" in x else x + shared for x in items]
    return [prefix + item + tail for item in items]


# "星禾的首席财务官和研发中心负责人是谁": two attributes of one owner, asked with one question word and no 分别; the
# items follow the owner's 的, so no head is shared ("中国和美国的贸易额" puts 和 before the 的 and is one question)
_OWNER_PAIR_ZH = re.compile(r"^(?P<owner>[^，,？?]*的)(?P<a>[^的，,、？?和与及]{2,})(?:和|与|以及|及)(?P<b>[^的，,、？?和与及]{2,}?)"
                            r"(?P<rest>(?:是|为)?(?:谁|多少|几|什么|何时|哪)[^，,]*)$")
# a question about both together: their relation, difference, sum or comparison
_TOGETHER_ZH = re.compile(r"关系|区别|差别|差距|之间|相比|比较|哪个|哪一|更|共同|一起|合计|总共|一共|总和|加起来|同时")


def _owner_pair(question: str) -> list[str] | None:
    """"X的A和B是谁？" → ["X的A是谁？", "X的B是谁？"]: each attribute has its own value (a 分别 left unsaid)."""
    m = _OWNER_PAIR_ZH.match(question.strip())
    if not m or _TOGETHER_ZH.search(question):
        return None
    return [m["owner"] + item + m["rest"] for item in (m["a"], m["b"])]


def _own_question(clause: str) -> bool:
    """A clause that asks something by itself: it ends with a question mark and names a topic of its own (a noun,
    a Latin word or a number, or two content words), not a request or a follow-up of the question before it."""
    if not clause.rstrip().endswith(("？", "?")):
        return False
    terms = key_terms(clause)
    if len(terms) >= 2:
        return True
    import jieba.posseg

    nouns = {w.word for w in jieba.posseg.cut(clause) if w.flag[:1] in ("n", "m") or w.flag == "eng"}
    return any(t in nouns or t.isascii() for t in terms)


def split_question(question: str) -> list[str]:
    """Sub-questions of a multi-part question; a one-part question comes back alone. A list question with a
    follow-up about its items ("…, and when did each start?", "…哪些新产品，分别在什么时候发布") comes back as the list
    question alone: the items' own sentences answer the follow-up, and its words are not the list's."""
    lang = detect_lang(question)
    text = question.strip()
    # several questions in one message; "谢谢", "请给出出处。" or "具体是怎样的？" stay with the question before them
    questions: list[str] = []
    for clause in (c for c in re.split(r"(?<=[？?])\s*", text) if re.search(r"\w", c)):
        if questions and not _own_question(clause):
            questions[-1] += clause
        else:
            questions.append(clause)
    if len(questions) > 1:
        return [p for c in questions for p in split_question(c)]
    if lang == "en":
        clauses = [c for c in _CLAUSES_EN.split(text) if re.search(r"\w", c)]
        if len(clauses) > 1 and any(_BACK_EN.search(c) for c in clauses[1:]):
            return [_clean(clauses[0], lang)]  # "Which programs …, and when did each start?": one list
        if len(clauses) > 1 and all(len(c.split()) > 2 for c in clauses):  # not "…, and when?"
            return [_clean(c[:1].upper() + c[1:], lang) for c in clauses]
    if lang == "zh" and (parts := _comma_questions(text)):  # "董事长是谁，研发中心由谁负责？"
        return parts
    if lang == "zh" and (head := _list_head(text)):
        return [head]
    if m := _TWO_WH_ZH.search(text):  # "是何时、在哪里举行的"
        return [_clean(text[:m.start()] + wh + text[m.end():], lang) for wh in (m.group(1), m.group(3))]
    if m := _YEAR_PAIR.search(text):  # "2022年和2023年各录取了多少人"
        rest = _EACH_ZH.sub("", text[m.end():], count=1) if lang == "zh" else _EACH_EN.sub("", text[m.end():])
        suffix = m.group(3)
        return [_clean(text[:m.start()] + y + suffix + rest, lang) for y in (m.group(1), m.group(2))]
    if lang == "zh" and (parts := _split_chinese_pair(text) or _owner_pair(text)):
        return [_clean(p, lang) for p in parts]
    if lang == "en" and (m := _POSSESSIVES_EN.search(text)):  # "the men's and women's 100 m": one head, two owners
        return [_clean(text[:m.start()] + owner + text[m.end():], lang) for owner in (m.group(1), m.group(2))]
    if lang == "en" and (m := re.search(r"\b(?:both\s+)?(\w+(?:\s+\w+)?)\s+and\s+(\w+(?:\s+\w+)?)\b", text)) and (
            re.search(r"\b(?:respectively|each|both)\b", text, re.I) or _parallel(m.group(1), m.group(2))):
        a, b = m.group(1).split(), m.group(2).split()
        if a[0].lower() in _SMALL_EN and b[0].lower() in _SMALL_EN:  # "in January and in February"
            end = m.end(2)
            if b[0].lower() in _ARTICLES and (np := _NOUN_PHRASE_EN.match(text, m.start(2))):
                end = np.end()  # "the length and the total climb of the loop": the whole second phrase
            return [_clean(_EACH_EN.sub("", text[:m.start(1)] + item + text[end:]), lang)
                    for item in (m.group(1), text[m.start(2):end])]
        elif (len(b) == 2 and a[-1].islower() and a[-1].isalpha() and not _MODIFIER_EN.search(a[-1])
              and not a[-1].endswith("s") and re.match(r"\s*(?:[?？.!,]|$|(?:of|at|in|for)\b)", text[m.end(2):])):
            # a singular noun before "and", the other item ending the phrase, is an item of its own: "treasurer and
            # volunteer coordinator?" (plurals keep the shared reading: "forces and accelerations explained")
            start = m.start(1) + len(m.group(1)) - len(a[-1])
            return [_clean(_EACH_EN.sub("", text[:start] + item + text[m.end(2):]).replace("both ", ""), lang)
                    for item in (a[-1], m.group(2))]
        else:
            items = (a[-1], b[0])  # "primary and secondary caregivers"
            start = m.start(1) + len(m.group(1)) - len(a[-1])
            end = m.start(2) + len(b[0])
            return [_clean(_EACH_EN.sub("", text[:start] + item + text[end:]).replace("both ", ""), lang)
                    for item in items]
        return [_clean(_EACH_EN.sub("", text[:m.start(1)] + item + text[m.end(2):]), lang) for item in items]
    return [text]


def _comma_questions(text: str) -> list[str] | None:
    """Clauses joined by a comma that each ask with a question word of their own ("董事长是谁，研发中心由谁负责？"),
    unless a later one asks about what the one before it named ("哪些新产品，分别在什么时候发布")."""
    clauses = [c for c in re.split(r"(?<=[，,；;])", text.rstrip("？?")) if re.search(r"\w", c)]
    asking = [c for c in clauses if re.search(_WH_ZH, c)]
    if len(asking) < 2 or len(asking) != len(clauses) or any(_BACK_ZH.match(c) for c in clauses[1:]):
        return None
    return [_clean(c, "zh") for c in clauses]


def _list_head(text: str) -> str | None:
    """"哪些新产品，分别在什么时候发布" → the clause that asks for the list, when the next one only follows it up."""
    clauses = [c for c in re.split(r"(?<=[，,；;])", text.rstrip("？?")) if re.search(r"\w", c)]
    for i in range(1, len(clauses)):
        head = "".join(clauses[:i])
        if _BACK_ZH.match(clauses[i]) and asks_for_list(head) and re.search(_WH_ZH, clauses[i]):
            return _clean(head, "zh")
    return None


def own_terms(parts: list[str]) -> list[list[str]]:
    """Per part, its key terms that no other part has: what the part asks about ("快煮" in "快煮模式需要多长时间？"
    beside "精煮模式需要多长时间？")."""
    terms = [key_terms(p) for p in parts]
    return [[t for t in mine if not any(t in other for j, other in enumerate(terms) if j != i)]
            for i, mine in enumerate(terms)]


PART_RUNNERS_UP = 2  # how far below a part's best sentence one that names the part is still preferred
PART_RATIO = 0.75


_WHEN = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|\d{1,2}\s*[月日]|[一二三四五六七八九十]+月|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|"
                   r"oct|nov|dec)[a-z]*\b|\b(?:spring|summer|autumn|fall|winter)\b", re.I)


def is_title(e: Evidence) -> bool:
    """The document's first line without a sentence's end: a title names a topic and states nothing about it."""
    return e.start == 0 and not re.search(r"[。！？.!?]\W*$", e.text)


def naming_part(evidence: EvidenceSet, own: list[str], question: str = "", title: str = "") -> Evidence:
    """The part's best sentence, unless a close runner-up fits the part better: parts that share a subject retrieve
    the same sentences, and the best of them may answer a sibling part ("云帆科技…采用 VM" for "日志采用什么？" beside
    "监控采用什么？"). A runner-up wins when the best lacks every term of the part's own (leaving out the terms of
    the document's `title`: the topic of all its sentences) and it names one, or when a "when" part's best holds no
    date and it does. The document's title line is passed over."""
    ranked = [e for e in evidence.ranked if not is_title(e)] or evidence.ranked
    best = ranked[0]
    close = [e for e in ranked[1:PART_RUNNERS_UP + 1] if e.score >= PART_RATIO * best.score]
    own = [t for t in own if not term_in(t, title.lower())] or own
    if own and not any(term_in(t, best.text.lower()) for t in own):
        for e in close:
            if any(term_in(t, e.text.lower()) for t in own):
                return e
    if question and ("date" in asked_types(question) or "year" in asked_types(question)) and not _WHEN.search(best.text):
        for e in close:
            if _WHEN.search(e.text):
                return e
    return best


_MONTHS = ("january february march april may june july august september october november december "
           "monday tuesday wednesday thursday friday saturday sunday").split()


def _parallel(a: str, b: str) -> bool:
    """Two coordinated phrases that name different values of one kind (months, weekdays, numbers), open with the
    same preposition ("to begin and to finish"), or are two lower-case words before a shared noun
    ("primary and secondary caregivers")."""
    a_words, b_words = a.split(), b.split()
    wa, wb = a_words[-1].lower(), b_words[-1].lower()
    if (wa in _MONTHS and wb in _MONTHS) or (wa.isdigit() and wb.isdigit()):
        return True
    if len(a_words) == 2 and len(b_words) == 2 and a_words[0].lower() == b_words[0].lower() in _SMALL_EN:
        return True
    return (len(b_words) == 2 and a_words[-1].islower() and b_words[0].islower() and a_words[-1] not in _SMALL_EN
            and b_words[0] not in _SMALL_EN and wa not in _STOP_EN and b_words[0] not in _STOP_EN)


_STOP_EN = {"is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "be", "been", "it", "its", "this",
            "that", "these", "those", "there", "their", "they", "what", "which", "who", "how", "when", "where", "why"}


# --- lists ----------------------------------------------------------------------------------------------------

_LIST_QUESTION = re.compile(r"哪些|哪几|哪[一二两三四五六七八九十\d]+[个大项位条种类方面点步]|有什么|包括什么|包含什么"
                            r"|\bwhich (?:\w+ )?(?:two|three|four|five|six|seven|eight|nine|ten)\b|\bwhat are\b|\blist\b"
                            r"|\bwhich (?:\w+ )?(?!(?:was|is|has|does|this|his|its)\b)\w+s\b|\bwhat \w+s (?:do|does|did|are|were)\b"
                            r"|^\W*(?:what|which)\b.*\binclude[sd]?\b", re.I)
_ANNOUNCING = r"以下|如下|下列|\bthe following\b|\bas follows\b"  # words that say a list comes
_INTRODUCES = re.compile(r"[:：]\s*$|" + _ANNOUNCING
                         + r"|[一二两三四五六七八九十\d]+(?:大|项|个|点|方面|步)[^，。,]{0,8}[:：]?\s*$", re.I)
_ITEM_MARK = re.compile(r"^\s*(?:[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[，,、]?|[（(]?[一二三四五六七八九十\d]+[)）.、]"
                        r"|\d+\.(?!\d)|[-•*·]\s|首先|其次|再次|最后|first(?:ly)?\b|second(?:ly)?\b|third(?:ly)?\b|"
                        r"finally\b)", re.I)
_MEASURE = r"(?:大|项|个|点|方面|步|位|种|条|款|所|家|名|类|件|份|次|座)"
_COUNT = re.compile(r"(?<![第\d.])([一二两三四五六七八九十\d]+)\s*" + _MEASURE + r"|\b(two|three|four|five|six|seven|"
                    r"eight|nine|ten)\b", re.I)
# a question that names how many things it wants: "三大核心技术是什么", "What three results…", "the two new programs"
_COUNTED_ZH = re.compile(r"(?<![第\d.])[两三四五六七八九十]" + _MEASURE + r"[^？?，,]{0,12}?(?:是什么|是哪|有什么|有哪|包括)")
_COUNTED_EN = re.compile(r"\b(?:what|which|name|list)\b(?:\s+(?:are|were|is|was|the|its|their))*\s+"
                         r"(?:two|three|four|five|six|seven|eight|nine|ten)\s+[a-z]+", re.I)
_NUMERALS = {c: i for i, c in enumerate("零一二三四五六七八九十", 0)} | {"两": 2}
_EN_NUMERALS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}


def _count(text: str) -> int | None:
    m = _COUNT.search(text)
    if not m:
        return None
    word = (m.group(1) or m.group(2) or "").lower()
    if word.isdigit():
        return int(word)
    if word in _EN_NUMERALS:
        return _EN_NUMERALS[word]
    return _NUMERALS.get(word) if len(word) == 1 else None


def asks_for_list(question: str) -> bool:
    """Asked with 哪些 / which / what are, or by a count of the things wanted ("三款新产品是什么")."""
    return bool(_LIST_QUESTION.search(question) or _COUNTED_ZH.search(question) or _COUNTED_EN.search(question))


_ITEM_SEPARATOR = re.compile(r"[、,，;；]|\s(?:and|or)\s|和|与|及|或")
_INLINE_AFTER = re.compile(r"[:：]|" + _ANNOUNCING + r"|\bsuch as\b|\bincluding\b|包括|包含", re.I)


def inline_list(text: str) -> bool:
    """The sentence carries its items itself: after a colon or "以下/包括/such as" come at least two items
    ("随机配件包括以下几种：量杯一个、饭勺一把、蒸笼一个", "includes the following: a new playground, a trail, …")."""
    for m in _INLINE_AFTER.finditer(text):
        tail = text[m.end():].strip(" :：。.；;，,、")
        if len(tail) >= 4 and len(_ITEM_SEPARATOR.findall(tail)) >= 1 and re.search(r"\w", _ITEM_SEPARATOR.split(tail)[-1]):
            return True
    return False


def announces_asked(intro: str, question: str) -> bool:
    """The sentence names the kind of thing the question asks for ("以下三个目标：" for "哪三个目标"), or the count."""
    return names_asked(intro, question) or _same_count(question, intro)


_ENUM_EN = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")
_CLAUSE = re.compile(r"[，。；;：:！？!?]|[.](?=\s|$)|,(?=[\u3400-\u9fff])")


def _enumerations(sentence: str) -> list[list[str]]:
    """Runs of items a sentence enumerates: parts joined by "、" (Chinese) or by ", " / "and" / "or" (English),
    each run inside one clause ("，" / ";" / ":" end a run)."""
    runs = []
    for clause in _CLAUSE.split(sentence):
        parts = [p for p in (_zh_items(clause) if "、" in clause else _ENUM_EN.split(clause)) if re.search(r"\w", p)]
        if len(parts) >= 2:
            runs.append(parts)
    return runs


def _zh_items(clause: str) -> list[str]:
    """"A、B与C" → A, B, C: a conjunction inside a "、" run joins two more items when both sides are longer than a
    word ("商务部长赵敏与财政部长孙立", not "商业和贸易")."""
    items = []
    for part in clause.split("、"):
        m = re.search(r"以及|和|与|及", part)
        if m and m.start() >= 3 and len(part) - m.end() >= 3:
            items += [part[:m.start()], part[m.end():]]
        else:
            items.append(part)
    return items


def drops_items(answer: str, source: str, question: str) -> bool:
    """The answer names some items of an enumeration in its source but not all ("$1.6 million from the capital
    fund" for "…: $1.6 million from the capital fund and $0.8 million from a state grant"), fewer than the question
    asks for when it names a count. An item is named when the answer holds one of its words that the question
    and the run's other items lack."""
    answer_l, asked = answer.lower(), question.lower()
    for run in _enumerations(source):
        words = [{w for w in tokenize(p) if w not in asked and stem(w) not in asked} for p in run]
        own = [w - set().union(*(o for j, o in enumerate(words) if j != i)) for i, w in enumerate(words)]
        named = [any(term_in(w, answer_l) for w in o) for o in own if o]
        if any(named) and not all(named) and sum(named) < (_count(question) or len(named)):
            return True  # some named, others not, and fewer than the question asks for ("哪两位": two suffice)
    return False


def names_asked(text: str, question: str) -> bool:
    """The sentence names the kind of thing the question asks for ("随机配件包括…" for "哪些配件")."""
    words = {stem(w) for w in tokenize(text)}
    return any(stem(n) in words for n in asked_for(question))


_ADJACENT = 3  # at most this many characters (whitespace) between two sentences that follow one another


def continues(e: Evidence, before: Evidence) -> bool:
    """`e` is an English sentence right after `before` in its document that opens by referring back to it ("It is run by
    retired teacher Grace Moyo."): it says the rest of what `before` began, though its own words score low."""
    return (e.lang == "en" and e.doc_id == before.doc_id and 0 <= e.start - before.end <= _ADJACENT
            and refers_back(e.text, demonstratives=True))


def with_continuations(shown: list[Evidence], ranked: list[Evidence], anchors: list[Evidence]) -> list[Evidence]:
    """`shown`, with each of its `anchors` read in one piece with what it refers to: an anchor that refers back is
    preceded by the sentence it continues, and one that is continued is followed by that sentence (taken from
    `ranked`, moved next to it when shown elsewhere). "Head baker Lena Marsh introduced a rye sourdough in March." and
    "It became the best-selling bread of the year, with 41,000 loaves sold." answer "How many loaves of rye sourdough
    were sold?" together; read apart, or the second before the first, neither does."""
    out = list(shown)
    for a in anchors:
        if a not in out:
            continue
        before = next((e for e in ranked if continues(a, e)), None)
        if before is not None:
            if before in out:
                out.remove(before)
            out.insert(out.index(a), before)
        after = next((e for e in ranked if continues(e, a)), None)
        if after is not None:
            if after in out:
                out.remove(after)
            out.insert(out.index(a) + 1, after)
    return out


TOPIC_SHARE = 0.5  # a runner-up introducing a list covers at least this share of what the best sentence covers


def same_topic(runner_up: Evidence, best: Evidence, question: str) -> bool:
    """Whether a runner-up is about what the question is about, as far as the best sentence is: it covers at least
    half the key-term coverage of the best sentence, and one of the key terms the best sentence covers (when it
    covers any). One that names the asked kind or value but not the question's topic is about something else: it
    introduces another list ("…recruit fighters from tribes in the Great Lakes region, including the Huron, …" for
    "What tribes were in Father Le Loutre's War?"), or states another thing's cost ("A drip irrigation system was
    installed … at a cost of $18,500" for "How much did the new dental wing cost?")."""
    terms = set(key_terms(question))
    covered = terms - set(best.missing)
    shared = covered & (terms - set(runner_up.missing))
    return runner_up.coverage >= TOPIC_SHARE * best.coverage and (bool(shared) or not covered)


def opens_list(text: str) -> bool:
    """The sentence introduces a list ("以下三项工作：", "the following:") or carries one inline."""
    return bool(_INTRODUCES.search(text)) or inline_list(text)


def _same_count(question: str, intro: str) -> bool:
    """The sentence announces as many items as the question asks for ("分三个阶段" for "分哪三个阶段")."""
    asked = _count(question)
    return asked is not None and asked == _count(intro)


@dataclass
class Span:
    doc_id: str
    start: int
    end: int
    text: str
    chunk_id: str
    section: str


def list_items(intro: Evidence, document: str, chunk_at, question: str, limit: int = 8,
               counted: bool = False) -> list[Span]:
    """The items of a list introduced at the sentence `intro` (or by a later sentence of its paragraph that
    announces one: "…。会议内容聚焦于四大领域:"), in the same section: one span per item, the announcing sentence
    first when it is not `intro`.

    A list is announced ("以下三项工作：", "四大领域:", "the following:") or opened by an item right after the intro
    ("…意涵。一是…"). Items open like one ("一是", "第二", "1.", "- ", "first"), inside that paragraph or at the start
    of later ones; after an announcement plain paragraphs count too, up to the announced number, and so do the
    sentences after it in its own paragraph when they are as many as announced. A sentence that is itself an item
    (or elaborates one), or that carries its items inline, starts no list. Empty when no list follows."""
    line_start = document.rfind("\n", 0, intro.start) + 1
    if _ITEM_MARK.match(document[line_start:intro.start + 1] or " ") and line_start < intro.start or _ITEM_MARK.match(intro.text):
        return []
    line_end = document.find("\n", intro.end)
    line_end = len(document) if line_end < 0 else line_end
    rest = [(a, b) for a, b in (trim_span(document, a, b) for a, b in sentence_spans(document, intro.end, line_end))
            if b > a]
    if inline_list(intro.text):  # the sentence holds its items; "…有两点：一是…；" holds the first of marked ones
        colon = re.search(r"[:：]", intro.text)
        if not colon or not _ITEM_MARK.match(intro.text[colon.end():]):
            return []
        return [_span(intro.doc_id, document, a, b, chunk_at) for a, b in rest if _ITEM_MARK.match(document[a:b])]
    lead: list[Span] = []
    if not _INTRODUCES.search(intro.text) and rest and _INTRODUCES.search(document[rest[-1][0]:rest[-1][1]]) \
            and not any(_ITEM_MARK.match(document[a:b]) for a, b in rest):
        lead = [_span(intro.doc_id, document, *rest[-1], chunk_at)]  # the paragraph ends by announcing the list
        rest = []
    # announced by its form, or by the count the question asks for ("迁移分三个阶段进行。" for "分哪三个阶段")
    announced = bool(lead) or bool(_INTRODUCES.search(intro.text)) or _same_count(question, intro.text) or counted
    if not announced and not (rest and _ITEM_MARK.match(document[rest[0][0]:rest[0][1]])):
        return []
    n = _count(lead[0].text if lead else intro.text) or _count(question)
    colon = re.search(r"[:：]", intro.text)
    held = int(not lead and bool(colon) and bool(_ITEM_MARK.match(intro.text[colon.end():])))  # "…三项内容：一是…；"
    cap = min(n or limit, limit) - held
    items = [_span(intro.doc_id, document, a, b, chunk_at) for a, b in rest if _ITEM_MARK.match(document[a:b])]
    if not items and not lead and n and len(rest) >= n and announced:
        # "Three residents spoke. Ms. A asked …; Mr. B raised …; Dr. C urged …": the announced number of
        # sentences right after the count, in its own paragraph, are the items
        return [_span(intro.doc_id, document, a, b, chunk_at) for a, b in rest[:cap]]
    pos = line_end + 1
    # a line that ends with a colon is followed by its items line by line, up to a blank line
    by_line = not lead and not rest and bool(re.search(r"[:：]\s*$", intro.text))
    while pos < len(document) and len(items) < cap:
        end = document.find("\n", pos)
        end = len(document) if end < 0 else end
        spans = [(a, b) for a, b in (trim_span(document, a, b) for a, b in sentence_spans(document, pos, end)) if b > a]
        pos = end + 1
        if not spans:
            if by_line and items:
                break
            continue
        a, b = spans[0]
        if _chunk_section(chunk_at, intro.doc_id, a) != intro.section:
            break  # a new section
        if _ITEM_MARK.match(document[a:b]) or (announced and n and len(document[a:end].strip()) > 25) \
                or (by_line and b == end):
            items.append(_span(intro.doc_id, document, a, b, chunk_at))
        else:
            break
    return lead + items[:cap] if len(items) + held >= 2 else []


_MONEY = re.compile(r"([$€£¥])?\s?(\d[\d,]*(?:\.\d+)?)\s*(万亿|亿|万|千|million|billion|thousand|[mk]\b)?\s*(元|美元|欧元|英镑|"
                    r"dollars|euros|pounds)?", re.I)
_SCALE = {"万": 1e4, "亿": 1e8, "万亿": 1e12, "千": 1e3, "million": 1e6, "billion": 1e9, "thousand": 1e3, "m": 1e6,
          "k": 1e3}
_MANNER = re.compile(r"如何|怎样|怎么(?!样)|\bhow\b(?!\s+(?:many|much|long|far|old|often|big|large|tall|soon)\b)", re.I)


def asks_how(question: str) -> bool:
    """A question about the manner of something ("怎样筹集的", "How is … funded?"), not about a quantity."""
    return bool(_MANNER.search(question))


def _amounts(text: str) -> list[float]:
    """Sums of money in a sentence: a number with a currency sign or word (scaled by 万/亿/million)."""
    out = []
    for m in _MONEY.finditer(text):
        if not (m.group(1) or m.group(4)):
            continue
        out.append(float(m.group(2).replace(",", "")) * _SCALE.get((m.group(3) or "").lower(), 1.0))
    return out


def breakdown(intro: Evidence, document: str, chunk_at, question: str = "") -> list[Span]:
    """Sentences of a paragraph whose sums add up to a total ("总投资1.8亿元。其中1亿元…。另有5000万元…。其余3000万元
    …。"): a total spread over sentences, each one a share of it. The total is the one sum the question names ("How
    is the $2.4 million funded?"), shared out over any run of sentences of the intro's paragraph; or else the one sum
    `intro` states, shared out over the sentences after it. Empty when nothing adds up."""
    line_start = document.rfind("\n", 0, intro.start) + 1
    line_end = document.find("\n", intro.end)
    line_end = len(document) if line_end < 0 else line_end
    total, asked = _amounts(intro.text), _amounts(question)
    if len(asked) == 1 and total != asked:
        total, starts = asked, [a for a, _ in sentence_spans(document, line_start, line_end)]
    elif len(total) == 1:
        starts = [intro.end]
    else:
        return []
    for start in starts:
        found, running = [], 0.0
        for a, b in (trim_span(document, a, b) for a, b in sentence_spans(document, start, line_end)):
            shares = _amounts(document[a:b]) if b > a else []
            if not shares:
                break
            found.append(_span(intro.doc_id, document, a, b, chunk_at))
            running += shares[0]
            if abs(running - total[0]) <= 0.005 * total[0]:
                if len(found) >= 2:
                    return found
                break
    return []


def counts_asked(text: str, question: str) -> bool:
    """The sentence counts the kind of thing asked for ("共推出三款新产品" for "哪些新产品", "launched two new
    programs" for "which new programs"): the counted words name it, so the items may follow."""
    for m in _COUNT.finditer(text):
        if (_count(m.group()) or 0) >= 2 and names_asked(text[m.start():m.end() + 16], question):
            return True
    return False


def announces_only(text: str) -> bool:
    """The sentence only says that a list follows ("公司将重点推进以下工作：", "…the following priorities:")."""
    return bool(re.search(r"[:：]\s*$", text)) and not inline_list(text)


def paragraph_opening(e: Evidence, document: str, chunk_at) -> Span | None:
    """The first sentence of the sentence's paragraph, when the sentence is not that one."""
    line_start = document.rfind("\n", 0, e.start) + 1
    spans = [(a, b) for a, b in (trim_span(document, a, b) for a, b in sentence_spans(document, line_start, e.start))
             if b > a]
    return _span(e.doc_id, document, *spans[0], chunk_at) if spans else None


def _chunk_section(chunk_at, doc_id: str, offset: int) -> str:
    found = chunk_at(doc_id, offset)
    return found[1] if found else ""


def _span(doc_id: str, document: str, a: int, b: int, chunk_at) -> Span:
    chunk_id, section = chunk_at(doc_id, a) or ("", "")
    return Span(doc_id, a, b, document[a:b], chunk_id, section)


class DocumentView:
    """One document's text and chunk lookup, rebuilt from the corpus snapshot's chunks (they cover it exactly)."""

    def __init__(self, chunks: dict[str, tuple[str, dict]], doc_id: str):
        rows = sorted(((int(m["start"]), t, cid, m.get("section", "")) for cid, (t, m) in chunks.items()
                       if m.get("doc_id") == doc_id), key=lambda r: r[0])
        parts, pos = [], 0
        for start, text, _, _ in rows:
            if start + len(text) > pos:
                parts.append(" " * max(start - pos, 0) + text[max(pos - start, 0):])
                pos = start + len(text)
        self.text = "".join(parts)
        self.rows = rows

    def chunk_at(self, doc_id: str, offset: int) -> tuple[str, str] | None:
        for start, text, cid, section in self.rows:
            if start <= offset < start + len(text):
                return cid, section
        return None


def as_evidence(span: Span, score: float) -> Evidence:
    return Evidence(span.doc_id, span.chunk_id, span.start, span.end, span.text, span.section, score, 0.0, 0.0, 0)


MISSING = {"zh": "文档未提及：{part}", "en": "The documents do not say: {part}"}


def missing_note(part: str, lang: str) -> str:
    return MISSING[lang].format(part=part.strip())


_SOURCE_LANGUAGE = {"zh": "Chinese", "en": "English"}


def across_lead(question_lang: str, quoted: list[Evidence]) -> str:
    """What introduces a quote that opens in another language than the question's ("" when it opens in the
    question's language): a quote cannot answer in the question's language, so it says plainly that it is a
    passage in the source's language. The first sentence decides: a quote of an English sentence followed by a
    Chinese one (a document's translation) is not "the closest passage (Chinese)"."""
    if not quoted or quoted[0].lang == question_lang:
        return ""
    return (f"The closest passage in the documents ({_SOURCE_LANGUAGE[quoted[0].lang]}): " if question_lang == "en"
            else "文档中最相关的原文（英文）：")


def quote_parts(parts: list[list[Evidence] | str], lang: str) -> tuple[str, list[Evidence]]:
    """Join quoted spans (one list per part) and missing-part notes (strings) into one answer; a span quoted for
    an earlier part is cited again by its number, not repeated. Spans in another language than the question's are
    introduced as such (`across_lead`)."""
    cited: list[Evidence] = []
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        for e in part:
            key = (e.doc_id, e.start, e.end)
            known = [i for i, c in enumerate(cited, 1) if (c.doc_id, c.start, c.end) == key]
            if known:
                if not pieces or not pieces[-1].endswith(f"[{known[0]}]"):
                    pieces[-1:] = [pieces[-1] + f"[{known[0]}]"] if pieces else []
                continue
            cited.append(e)
            pieces.append(f"{e.text}[{len(cited)}]")
    return across_lead(lang, cited) + ("" if lang == "zh" else " ").join(pieces), cited
