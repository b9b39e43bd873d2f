"""Answerability judge: the language model says whether the evidence states the answer, as a probability.

A small model asked to answer nearly always answers; asked only "does this passage state the answer?", the
probability it gives "yes" separates answerable from unanswerable questions better than any lexical score
(evals/README.md, "Calibration"). Once it has answered, "does the passage support this answer?" checks the
concrete claim; over Chinese sources that refuses more unanswerable questions without losing right answers (over
English ones it did not separate them); it is asked first in a quick form whose prompt starts as the judge's does,
so llama.cpp's prompt cache spares re-reading the evidence. One token is generated (a few for `extract`, which asks
the model to copy the answer's span); its top log-probabilities are read from the OpenAI-compatible `/completions`
endpoint (llama.cpp's format and OpenAI's legacy one are both understood).
The grounding policy (rag/grounding.py) decides what the probability means.
"""

from __future__ import annotations

import logging
import math
import re
from contextlib import nullcontext
from dataclasses import dataclass

import httpx
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from rag.llm import chatml
from rag.text import squashed, tokenize

log = logging.getLogger(__name__)

SYSTEM = {"zh": "判断【资料】是否直接给出了【问题】的答案。只回答“是”或“否”。",
          "en": "Decide whether the passage directly states the answer to the question. Reply only yes or no."}
SUPPORT_SYSTEM = {"zh": "判断【回答】是否由【资料】明确支持，并且确实回答了【问题】。只回答“是”或“否”。",
                  "en": "Decide whether the passage clearly supports the proposed answer and the answer actually "
                        "responds to the question. Reply only yes or no."}
_YES, _NO = {"yes", "是"}, {"no", "否", "不"}
# Asked to copy the answer, a small model that finds none says so a little more reliably over Chinese sources than it
# says "no" to the yes/no question (less over English ones); what it copies can be checked against the evidence
# (rag/grounding.py, `no_answer_span`; off by default, see evals/README.md "Calibration").
EXTRACT_SYSTEM = {"zh": "从【资料】中原样摘录能回答【问题】的最短片段。资料没有给出答案时，只回答“无”。",
                  "en": "Copy from the passage the shortest span that answers the question. If the passage does not "
                        "state the answer, reply only NONE."}
_EXTRACT_ASK = {"zh": "答案片段（没有就回答“无”）：", "en": "Answer span (or NONE):"}
_NONE = re.compile(r"^\W*(?:none|no answer|n/a|无|没有)\W*$", re.I)
_NONE_START = re.compile(r"^(?:NON|Non|non|无$|没)")  # a first token of "NONE" / "无" / "没有"
SPAN_IN_EVIDENCE = 0.8  # share of a copied span's words a sentence must hold to count as holding it
EXTRACT_TOKENS = 24  # a span, not an answer: a longer one is cut, and only its words are checked


# A sentence often leaves its subject or its time to the document's title or its section heading ("this year" under
# "Annual Report 2025"): each run of sentences from one source is headed by where it comes from, once.
_SOURCE = {"zh": "（出自：{}）", "en": "(From: {})"}


def _passage(sentences: list[str], sources: list[str] | None, lang: str) -> str:
    if not sources:
        return "\n".join(sentences)
    lines, last = [], None
    for text, source in zip(sentences, sources, strict=True):
        if source and source != last:
            lines.append(_SOURCE[lang].format(source))
        last = source
        lines.append(text)
    return "\n".join(lines)


def _judged_turn(question: str, sentences: list[str], lang: str, sources: list[str] | None = None) -> str:
    passage = _passage(sentences, sources, lang)
    return (f"【资料】\n{passage}\n\n【问题】{question}\n" if lang == "zh"
            else f"Passage:\n{passage}\n\nQuestion: {question}\n")


def _support_ask(answer: str, lang: str) -> str:
    return (f"【回答】{answer}\n资料是否支持这个回答？" if lang == "zh"
            else f"Proposed answer: {answer}\nDoes the passage support this answer?")


def _prompt(system: str, user: str) -> str:
    return chatml([ChatMessage(role=MessageRole.SYSTEM, content=system),
                   ChatMessage(role=MessageRole.USER, content=user)])


def judge_prompt(question: str, sentences: list[str], lang: str, sources: list[str] | None = None) -> str:
    """`sources`: where each sentence comes from (document title, section), or None to show the sentences bare."""
    ask = "资料是否直接给出了答案？" if lang == "zh" else "Does the passage directly state the answer?"
    return _prompt(SYSTEM[lang], _judged_turn(question, sentences, lang, sources) + ask)


def support_prompt(question: str, sentences: list[str], answer: str, lang: str,
                   sources: list[str] | None = None) -> str:
    """Asked after the answer is written: a concrete claim is easier for a small model to check than a question."""
    return _prompt(SUPPORT_SYSTEM[lang], _judged_turn(question, sentences, lang, sources) + _support_ask(answer, lang))


def quick_support_prompt(question: str, sentences: list[str], answer: str, lang: str,
                         sources: list[str] | None = None) -> str:
    """The same question under the judge's system message: it starts as the judge's prompt does up to the question,
    so llama.cpp's prompt cache holds all but the answer (~40 tokens evaluated instead of ~200). It separates less
    sharply than `support_prompt`, so it only lets through the answers it is sure of (rag/grounding.py)."""
    return _prompt(SYSTEM[lang], _judged_turn(question, sentences, lang, sources) + _support_ask(answer, lang))


def extract_prompt(question: str, sentences: list[str], lang: str, sources: list[str] | None = None) -> str:
    return _prompt(EXTRACT_SYSTEM[lang], _judged_turn(question, sentences, lang, sources) + _EXTRACT_ASK[lang])


@dataclass(frozen=True)
class Extraction:
    """What the model copied as the answer: `span` is empty when it said the passage has none; `none` is the
    probability its reply starts by saying so (from the first token's top alternatives; None when not given)."""
    span: str
    none: float | None = None

    def held_by(self, sentences: list[str]) -> int | None:
        """The index of the first sentence that holds the copied span (whole, or SPAN_IN_EVIDENCE of its words: the
        model may drop or add a particle), or None: no span, or one the sentences do not hold."""
        words = [w for w in (squashed(t) for t in tokenize(self.span)) if w]
        whole = squashed(self.span)
        for i, sentence in enumerate(sentences):
            text = squashed(sentence)
            if whole and (whole in text or sum(w in text for w in words) >= SPAN_IN_EVIDENCE * len(words)):
                return i
        return None


def extraction(text: str, top: list[tuple[str, float]] | None = None) -> Extraction:
    """The model's reply read as a span: its first line, unquoted; "NONE" / "无" (or nothing) is no span."""
    line = text.strip().split("\n")[0].strip().strip("\"'“”‘’「」`")
    return Extraction("" if not line or _NONE.match(line) else line, none_probability(top) if top else None)


def none_probability(top: list[tuple[str, float]]) -> float | None:
    """The share of the first token's top alternatives that start saying the passage has no answer."""
    total = sum(math.exp(lp) for _, lp in top)
    none = sum(math.exp(lp) for tok, lp in top if _NONE_START.match(tok.strip()))
    return none / total if total > 0 else None


def yes_probability(top: list[tuple[str, float]]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over the first token's top alternatives; None when neither appears."""
    yes = sum(math.exp(lp) for tok, lp in top if tok.strip().lower() in _YES)
    no = sum(math.exp(lp) for tok, lp in top if tok.strip().lower() in _NO)
    return yes / (yes + no) if yes + no > 0 else None


def _first_token_alternatives(choice: dict) -> list[tuple[str, float]]:
    logprobs = choice.get("logprobs") or {}
    if logprobs.get("content"):  # llama.cpp
        return [(t["token"], t["logprob"]) for t in logprobs["content"][0].get("top_logprobs", [])]
    if logprobs.get("top_logprobs"):  # OpenAI legacy completions
        return list(logprobs["top_logprobs"][0].items())
    return []


class AnswerabilityJudge:
    def __init__(self, base_url: str, model: str = "local", api_key: str = "not-needed", timeout: float = 30.0,
                 gate=None):
        self.url = base_url.rstrip("/") + "/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.timeout = timeout
        self.gate = gate  # the local model's FIFO gate: the judge waits its turn like any question

    def probability(self, question: str, sentences: list[str], lang: str,
                    sources: list[str] | None = None) -> float | None:
        """P(the sentences state the answer); None when the model cannot be asked (then no judgement is made).
        `sources` (one per sentence: its document and section) are shown with them when given."""
        return self._yes(judge_prompt(question, sentences, lang, sources))

    def support(self, question: str, sentences: list[str], answer: str, lang: str,
                sources: list[str] | None = None) -> float | None:
        """P(the sentences support this answer to the question); None when the model cannot be asked."""
        return self._yes(support_prompt(question, sentences, answer, lang, sources))

    def quick_support(self, question: str, sentences: list[str], answer: str, lang: str,
                      sources: list[str] | None = None) -> float | None:
        """`support` asked cheaply, right after `probability` on the same sentences (its prompt is cached)."""
        return self._yes(quick_support_prompt(question, sentences, answer, lang, sources))

    def extract(self, question: str, sentences: list[str], lang: str,
                sources: list[str] | None = None) -> Extraction | None:
        """The shortest span of the sentences that answers the question, as the model copies it; None when the
        model cannot be asked."""
        choice = self._complete(extract_prompt(question, sentences, lang, sources), EXTRACT_TOKENS)
        return None if choice is None else extraction(choice.get("text") or "", _first_token_alternatives(choice))

    def _yes(self, prompt: str) -> float | None:
        choice = self._complete(prompt, 1)
        return None if choice is None else yes_probability(_first_token_alternatives(choice))

    def _complete(self, prompt: str, max_tokens: int) -> dict | None:
        body = {"model": self.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0, "stop": ["\n"],
                "logprobs": 10}
        try:
            with self.gate.turn() if self.gate is not None else nullcontext():
                r = httpx.post(self.url, json=body, headers=self.headers, timeout=self.timeout)
            r.raise_for_status()
            return r.json()["choices"][0]
        except Exception as exc:  # a judge that fails makes no judgement; the other checks still apply
            log.warning("answerability judge failed: %s", exc)
            return None


def judge_for(settings, backend: str) -> AnswerabilityJudge | None:
    """The judge that goes with an answer backend: the same model (local or OpenAI-compatible), or none."""
    if not settings.grounding.judge:
        return None
    if backend == "local":
        from rag.llm import LocalServer
        from rag.model_files import check_model_file, ensure_model

        path = (check_model_file(settings.llm_model_path) if settings.llm_model_path
                else ensure_model(settings.models_path))
        server = LocalServer.get(path, settings.llm_threads, settings.llm_context, settings.llm_parallel)
        return AnswerabilityJudge(server.base_url, timeout=settings.llm_timeout,
                                  gate=server.gate(settings.llm_max_waiting))
    if backend == "openai" and settings.llm_base_url:
        return AnswerabilityJudge(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)
    return None
