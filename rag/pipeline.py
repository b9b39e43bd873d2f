"""question → standalone question → retrieve → evidence → answer backend → response.

`events()` is the one implementation; `ask()` (JSON) and streaming (SSE, UI)
are views of it, so every surface returns the same answer.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterator

from rag.backends.base import AnswerBackend, Draft
from rag.backends.registry import UnavailableBackend, check_name, get_backend
from rag.backends.extractive import cite
from rag.compose import (DocumentView, announces_asked, announces_only, as_evidence, asks_for_list, asks_how, breakdown,
                         counts_asked, inline_list, is_title, list_items, missing_note, names_asked, naming_part,
                         opens_list, own_terms, paragraph_opening, quote_parts, split_question)
from rag.condense import asked_part, standalone_question
from rag.config import RetrievalMode, Settings
from rag.embedding import get_embedder
from rag.evidence import Evidence, EvidenceScorer, EvidenceSet, asked_types
from rag.grounding import GroundingPolicy
from rag.retrieval import CorpusCache, HybridRetriever
from rag.schema import AskRequest, AskResponse, PolicyTrace, RetrievedChunk
from rag.store import Store
from rag.text import refusal_for

Event = tuple[str, "str | AskResponse"]
log = logging.getLogger(__name__)
CLOSE = 0.85  # a runner-up this close to the best is quoted with it (EvidenceSet.selected)
LIST_RUNNERS_UP = 2  # how far below the best sentence a list question looks for the sentence that introduces its list


def _document(corpus, doc_id: str) -> DocumentView:
    """One document's text and chunk lookup, built from that document's chunks only."""
    return DocumentView(corpus.document_chunks(doc_id), doc_id)


class Pipeline:
    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self.store = store or Store(settings)
        self.embedder = get_embedder(settings.embed_threads, settings.embed_batch_size, settings.embed_pool)
        self.corpus = CorpusCache(self.store)
        self.scorer = EvidenceScorer(self.store, self.embedder, settings.evidence)
        self.policy = GroundingPolicy(settings.grounding)
        self._backends: dict[str, AnswerBackend] = {}
        self._lock = threading.Lock()

    def backend(self, name: str | None = None) -> AnswerBackend:
        """The named backend, built once. One that fails to start degrades to quoting, with a notice."""
        name = name or self.settings.backend
        with self._lock:
            if name not in self._backends:
                check_name(name)
                try:
                    self._backends[name] = get_backend(self.settings, name, self.embedder)
                except Exception as exc:
                    log.error("answer backend %s unavailable: %s", name, exc)
                    self._backends[name] = UnavailableBackend(name, str(exc))
            return self._backends[name]

    def backend_status(self, name: str | None = None) -> str:
        backend = self._backends.get(name or self.settings.backend)
        if backend is None:
            return "not loaded"
        return f"unavailable: {backend.reason}" if isinstance(backend, UnavailableBackend) else "ready"

    def retriever(self, top_k: int | None = None, mode: RetrievalMode | None = None,
                  snapshot=None, doc_ids: list[str] | None = None) -> HybridRetriever:
        return HybridRetriever(self.store, self.embedder, self.settings, mode=mode, top_k=top_k, corpus=self.corpus,
                               snapshot=snapshot, doc_ids=doc_ids)

    def events(self, request: AskRequest, backend: str | None = None,
               mode: RetrievalMode | None = None) -> Iterator[Event]:
        """Yield ("delta", text)… then one ("done", AskResponse)."""
        started = time.perf_counter()
        history = [m.model_dump() for m in request.history]
        question = asked_part(request.question)
        query = standalone_question(question, history)
        corpus = self.corpus.get()  # retrieval and evidence scoring see the same generation
        nodes = self.retriever(request.top_k, mode, snapshot=corpus, doc_ids=request.doc_ids).retrieve(query)
        evidence = self.scorer.score(query, nodes, corpus.bm25)
        retrieved_at = time.perf_counter()
        retrieved = lambda: [  # noqa: E731 - built at the end: a multi-part question retrieves more
            RetrievedChunk(chunk_id=n.node.node_id, doc_id=n.node.metadata["doc_id"], text=n.node.get_content(),
                           start=int(n.node.metadata["start"]), end=int(n.node.metadata["end"]),
                           score=round(n.score or 0.0, 6), dense_score=n.node.metadata.get("dense_score"),
                           bm25_score=n.node.metadata.get("bm25_score"))
            for n in nodes
        ]
        engine = self.backend(backend)
        parts = split_question(question) if query == question else [query]
        if len(parts) > 1:  # each part grounded on its own, then composed with one citation per part
            draft, verdict, more = self._multi_part(query, parts, evidence, request.top_k, mode, corpus,
                                                    request.doc_ids)
            seen = {n.node.node_id for n in nodes}
            for n in more:  # parts often retrieve the same chunks: list each once
                if n.node.node_id not in seen:
                    seen.add(n.node.node_id)
                    nodes.append(n)
            if draft is not None and verdict.answer:
                yield "delta", draft.text
        else:
            if parts[0] != query:  # a list question with a follow-up about its items: grounded on the list question
                question = parts[0]
                evidence = self.scorer.score(question, nodes, corpus.bm25)
            evidence.listed = self._list_evidence(question, evidence, corpus)
            verdict = self.policy.decide(question, evidence, judge=getattr(engine, "judge", None))
            draft = self._list_answer(evidence) if verdict.answer else None
            if draft is not None:
                yield "delta", draft.text
        if verdict.answer and draft is None:
            for item in engine.answer(request.question, evidence, history):
                if isinstance(item, Draft):
                    draft = item
                else:
                    yield "delta", item
            assert draft is not None, "a backend must end with a Draft"
            verdict = self.policy.decide(question, evidence, draft, judge=getattr(engine, "judge", None))
        failure = draft.failure if draft is not None else None
        if not verdict.answer:
            draft = Draft(text=refusal_for(request.question), grounding="refused")
            yield "delta", draft.text
        done = time.perf_counter()
        yield "done", AskResponse(
            answer=draft.text,
            refused=draft.grounding == "refused",
            citations=draft.citations,
            backend=engine.name,
            grounding=draft.grounding,
            notice=draft.notice,
            reason=verdict.reason,
            policy=PolicyTrace(pair=evidence.pair, judged=evidence.judged, strong=evidence.strong,
                               failure=failure) if evidence.ranked else None,
            retrieved=retrieved(),
            timings_ms={
                "retrieve": round((retrieved_at - started) * 1000, 2),
                "generate": round((done - retrieved_at) * 1000, 2),
                "total": round((done - started) * 1000, 2),
            },
        )

    def _list_evidence(self, question: str, evidence: EvidenceSet, corpus) -> list[Evidence] | None:
        """For a list question whose evidence introduces a list: the intro and every item after it. The intro is
        the best sentence, or a close runner-up that announces the kind of thing asked for ("以下三个目标：").
        Any question whose best sentence only announces a list ("…以下工作：") gets the list; a question of manner
        ("怎样筹集的") whose best sentence states a total gets the sentences that share it out. For a list question,
        sentences in the question's language are tried first."""
        if not evidence.ranked:
            return None
        if not asks_for_list(question):
            best = evidence.ranked[0]
            how = asks_how(question)
            # only the best sentence, and only for a question that asks for no particular kind of value: a list is
            # not what "Who was the UK Foreign Secretary…?" asks, though "会议内容聚焦于四大领域:" may rank first
            announced = not asked_types(question) and announces_only(best.text)
            if not (how or announced):
                return None  # most questions: no document view to build
            view = _document(corpus, best.doc_id)
            if how and (items := breakdown(best, view.text, view.chunk_at, question)):
                first = [best] if best.end <= items[0].start else []  # the total, when it is stated before its shares
                return first + [as_evidence(i, best.score) for i in items]
            if announced and (items := list_items(best, view.text, view.chunk_at, question)):
                return [best] + [as_evidence(i, best.score) for i in items]
            return None
        ranked = [e for e in evidence.ranked if not is_title(e)] or evidence.ranked  # a title introduces nothing
        close = {id(e) for e in ranked[:3] if e.score >= CLOSE * ranked[0].score}
        candidates = list(enumerate(ranked[:LIST_RUNNERS_UP + 1]))
        # same-language sentences first, then those that count the asked kind ("共推出三款新产品" for "哪些新产品")
        counts = {id(e): counts_asked(e.text, question) for _, e in candidates}
        for rank, intro in sorted(candidates, key=lambda c: (c[1].lang != evidence.lang, not counts[id(c[1])])):
            # a runner-up must announce what is asked: close to the best, or naming the asked kind in a list
            named = rank and names_asked(intro.text, question) and (opens_list(intro.text) or counts[id(intro)])
            if rank and not named and not (id(intro) in close and announces_asked(intro.text, question)):
                continue
            if named and inline_list(intro.text):  # "随机配件包括以下几种：量杯一个、饭勺一把…": the list itself
                return [intro]
            view = _document(corpus, intro.doc_id)
            items = (list_items(intro, view.text, view.chunk_at, question, counted=counts[id(intro)])
                     or breakdown(intro, view.text, view.chunk_at, question))
            if items:
                return [intro] + [as_evidence(i, intro.score) for i in items]
        for e in ranked[:LIST_RUNNERS_UP + 2]:  # an item found first: its paragraph's opening sentence counts the kind
            view = _document(corpus, e.doc_id)
            intro = paragraph_opening(e, view.text, view.chunk_at)
            if intro and counts_asked(intro.text, question):
                items = list_items(as_evidence(intro, e.score), view.text, view.chunk_at, question, counted=True)
                if items:
                    return [as_evidence(intro, e.score)] + [as_evidence(i, e.score) for i in items]
        return None

    @staticmethod
    def _list_answer(evidence: EvidenceSet) -> Draft | None:
        """The intro and every item of a list, each cited (a small model stops lists short)."""
        if not evidence.listed:
            return None
        text, cited = quote_parts([evidence.listed], evidence.lang)
        return Draft(text=text, citations=cite(cited))

    def _multi_part(self, query: str, parts: list[str], first: EvidenceSet, top_k, mode, corpus, doc_ids=None):
        """Ground every part on its own (retrieval, evidence, policy); compose the answer from each part's best
        span (or its list), naming the parts the documents do not cover. Refused only when no part is covered."""
        composed: list[list[Evidence] | str] = []
        verdicts, more = [], []
        own = own_terms(parts)
        for part, terms in zip(parts, own):
            nodes = self.retriever(top_k, mode, snapshot=corpus, doc_ids=doc_ids).retrieve(part)
            more += nodes
            evidence = self.scorer.score(part, nodes, corpus.bm25)
            verdict = self.policy.decide(part, evidence)
            verdicts.append(verdict)
            if verdict.answer:
                title = _document(corpus, evidence.ranked[0].doc_id).text.split("\n", 1)[0]
                composed.append(self._list_evidence(part, evidence, corpus)
                                or [naming_part(evidence, terms, part, title)])
            else:
                composed.append(missing_note(part, first.lang))
        if not any(v.answer for v in verdicts):
            return None, verdicts[0], more
        text, cited = quote_parts(composed, first.lang)
        draft = Draft(text=text, citations=cite(cited))
        return draft, self.policy.decide(query, first, draft), more

    def ask(self, request: AskRequest, backend: str | None = None, mode: RetrievalMode | None = None) -> AskResponse:
        for kind, payload in self.events(request, backend, mode):
            if kind == "done":
                return payload  # type: ignore[return-value]
        raise RuntimeError("pipeline ended without an answer")
