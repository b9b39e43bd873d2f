"""Example questions from what is indexed, never fixed text about one article.

`RAG_UI_EXAMPLES` wins when set. Otherwise each document's section titles
become questions (a title that is already a question is kept as it is), taken
round-robin over the newest documents, and only questions that the pipeline's
own evidence gate answers from that document, with more than the title
itself, are shown: an example that the page would refuse is worse than none.
"""

from __future__ import annotations

import logging
import threading
from itertools import chain, zip_longest
from typing import Any, Callable

from rag.schema import AskRequest
from rag.text import detect_lang

log = logging.getLogger(__name__)


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

    def _build(self, pipeline, corpus) -> list[str]:
        titles = section_titles(corpus)
        newest = [d.doc_id for d in reversed(pipeline.store.list_documents()) if d.doc_id in titles]
        per_doc = [[(d, t) for t in titles[d]] for d in newest]
        queue = [(d, t) for d, t in (x for x in chain.from_iterable(zip_longest(*per_doc)) if x)]
        chosen: list[str] = []
        for doc_id, title in queue[: self.tries]:
            question = title_question(title)
            if len(chosen) >= self.limit:
                break
            try:
                answer = pipeline.ask(AskRequest(question=question, doc_ids=[doc_id]), backend="extractive")
            except Exception as exc:  # a document removed meanwhile, a store hiccup: just fewer examples
                log.info("example %r skipped: %s", question, exc)
                continue
            # an answer that only quotes the title back says nothing
            if any(c.text.strip() != title.strip() for c in answer.citations) and question not in chosen:
                chosen.append(question)
        return chosen
