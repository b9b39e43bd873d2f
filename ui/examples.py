"""Example questions from what is indexed, never fixed text about one article.

`RAG_UI_EXAMPLES` wins when set. Otherwise questions are made from each
document's key sentences (a sentence stating a year or an amount, with the value
replaced by "哪一年" / "多少") and its section titles (a title that is already a
question is kept as it is), taken round-robin over the newest documents. Only
questions that the pipeline's own evidence gate answers from that document are
shown, a key-sentence question only when the answer holds the value it hid, a
title question only when the answer is more than the title itself: an example
that the page would refuse is worse than none.
"""

from __future__ import annotations

import logging
import re
import threading
from itertools import chain, zip_longest
from typing import Any, Callable

from rag.schema import AskRequest
from rag.text import detect_lang

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"[^。！？!?；;\n]+")
_CLAUSE_END = re.compile(r"[，,、]")
_YEAR = re.compile(r"(?<![\d至到~\-—])(?:1[89]|20)\d\d(?=年)")
# an amount: digits followed by a Chinese measure word or unit, not a date, an ordinal, a range or a house number
_AMOUNT = re.compile(r"(?<![\d.第至到~\-—])\d+(?:\.\d+)?(?=[\u4e00-\u9fff%％])(?![年月日号至到])")
_QUESTION_CHARS = (8, 45)


def cloze_questions(text: str, per_doc: int = 3) -> list[tuple[str, str]]:
    """(question, the value it hides) from key sentences: a sentence, up to the end of the clause that
    states one year or amount, with that value asked for ("哪一年", "多少"). The sentence start keeps the subject."""
    out: list[tuple[str, str]] = []
    for sentence in _SENTENCE.findall(text):
        sentence = sentence.strip()
        for pattern, ask in ((_YEAR, "哪一"), (_AMOUNT, "多少")):
            hit = pattern.search(sentence)
            if hit is None:
                continue
            end = _CLAUSE_END.search(sentence, hit.end())
            clause_end = end.start() if end else len(sentence)
            if len(pattern.findall(sentence[:clause_end])) != 1:  # one value: the question asks for exactly it
                continue
            question = sentence[: hit.start()] + ask + sentence[hit.end(): clause_end]
            if _QUESTION_CHARS[0] <= len(question) <= _QUESTION_CHARS[1]:
                out.append((question.rstrip("：:") + "？", hit.group()))
                break
        if len(out) >= per_doc:
            break
    return out


def title_question(title: str) -> str:
    title = title.strip().rstrip("：:")
    if title.endswith(("?", "？")):
        return title
    if detect_lang(title) == "en":
        return f"What does the document say about {title}?"
    return f"关于“{title}”，文档里说了什么？"


def section_titles(corpus) -> dict[str, list[str]]:
    """doc_id → its distinct section titles in document order."""
    first: dict[tuple[str, str], int] = {}
    for _, meta in corpus.chunks.values():
        title = (meta.get("section") or "").strip()
        if title:
            key = (meta["doc_id"], title)
            first[key] = min(first.get(key, 1 << 62), int(meta["start"]))
    by_doc: dict[str, list[str]] = {}
    for (doc_id, title), _ in sorted(first.items(), key=lambda kv: kv[1]):
        by_doc.setdefault(doc_id, []).append(title)
    return by_doc


class CorpusExamples:
    def __init__(self, get_pipeline: Callable[[], Any], fixed: list[str], limit: int = 5, tries: int = 15):
        self.get_pipeline = get_pipeline
        self.fixed = list(fixed)
        self.limit, self.tries = limit, tries
        self._cache: tuple[str, list[str]] | None = None
        self._lock = threading.Lock()

    def get(self) -> list[str]:
        if self.fixed:
            return self.fixed
        pipeline = self.get_pipeline()
        corpus = pipeline.corpus.get()
        with self._lock:
            if self._cache is None or self._cache[0] != corpus.generation:
                self._cache = (corpus.generation, self._build(pipeline, corpus))
            return self._cache[1]

    def _candidates(self, pipeline, corpus) -> list[tuple[str, str, Callable[[Any], bool]]]:
        """(doc_id, question, does this answer make it a good example?), round-robin over the newest documents."""
        titles = section_titles(corpus)
        texts: dict[str, list[tuple[int, str]]] = {}
        for text, meta in corpus.chunks.values():
            texts.setdefault(meta["doc_id"], []).append((int(meta["start"]), text))
        per_doc = []
        for doc in reversed(pipeline.store.list_documents()):
            chunks = "\n".join(t for _, t in sorted(texts.get(doc.doc_id, []))[:50])
            mine = [(doc.doc_id, q, lambda a, v=v: v in a.answer) for q, v in cloze_questions(chunks)]
            mine += [(doc.doc_id, title_question(t),
                      lambda a, t=t: any(c.text.strip() != t for c in a.citations)) for t in titles.get(doc.doc_id, [])]
            per_doc.append(mine)
        return [x for x in chain.from_iterable(zip_longest(*per_doc)) if x]

    def _build(self, pipeline, corpus) -> list[str]:
        chosen: list[str] = []
        for doc_id, question, good in self._candidates(pipeline, corpus)[: self.tries]:
            if len(chosen) >= self.limit:
                break
            try:
                answer = pipeline.ask(AskRequest(question=question, doc_ids=[doc_id]), backend="extractive")
            except Exception as exc:  # a document removed meanwhile, a store hiccup: just fewer examples
                log.info("example %r skipped: %s", question, exc)
                continue
            if not answer.refused and good(answer) and question not in chosen:
                chosen.append(question)
        return chosen
