"""The grounding policy: the one place that decides whether to answer or refuse, and why.

Every backend goes through it twice (rag/pipeline.py): before generation, on the
evidence alone (weak evidence is refused without calling a model), and after,
on the backend's draft (a model refusal over loose evidence stands; an answer
that only echoes the question is refused). Each check is a principle that holds
for any document, with thresholds per language pair (question language →
source language) in `Settings.grounding`, calibrated on the calibration halves
of evals/datasets (see evals/README.md):

- `no_evidence`: the best sentence scores below the pair's floor;
- `key_term_missing`: the question's key terms, weighted by their form in the question (rag/evidence.py
  `term_weights`), are not covered by the best sentence and what it refers back to (the text before it in its chunk and the previous chunk
  of its section, its section title, the document's title and name);
  and, where the pair is in `Settings.grounding.anchor_pairs`, when no selected sentence (about the asked thing)
  names the word the asked value hangs on (rag/evidence.py `anchor`: the event a "when" asks the date of, the role a
  "who" asks for: "什么时候竣工" over "…计划于2026年3月开工");
  and, where the pair is in `apart_pairs`, when the best sentence lacks the question's most specific term while a
  later sentence of its document names it apart (rag/evidence.py `named_apart`: "西院区" asked, the figure given is
  东院区's, and 西院区 is named further on with other figures);
- `contradiction`: the question names a year that the evidence lacks while the evidence names another, or an
  English question is negated and the evidence only affirms; or a sentence about something else (demoted below the
  free ones) covers more of the key terms than the best free one by more than `else_margin` (it was the match);
- `type_not_filled`: the question asks when / how many / who / where…, and no selected sentence holds a value of
  that kind beyond what the question already says;
- `judged_unanswerable`: with an LLM backend, the model's probability that the evidence states the answer
  (rag/judge.py; a list's items are read with their document's name and section heading) is below the pair's
  `min_judge` (on strong evidence, its `strong_judge` when set);
- `no_answer_span`: with an LLM backend, when the judge is not sure (below `sure_judge`), the model is asked to copy
  the span of the evidence that answers (rag/judge.py); its probability of saying there is none is at or above the
  pair's `max_none`, or the span it copies is not in the evidence; and when the model's answer failed verification
  (`Settings.grounding.copy_check`), the model is asked to copy the answer: the quote standing in for the answer
  is the best sentence and the one that holds the span it copies, and if it copies none the question is refused
  where the pair's `uncopied_refuses` says so (zh-zh), as it is when the span is held only by a runner-up whose own
  words cover less than the pair's `min_holder_coverage` of the key terms (a sibling's value);
- `model_refused`: the model found no answer and the evidence is not strong;
- `echo`: the answer adds nothing to the question;
- `unsupported`: with an LLM backend, the model's probability that the evidence supports the answer it wrote
  (rag/judge.py) is below the pair's `min_support`; a quick form of that question that reuses the judge's cached
  prompt is asked first, and at or above `sure_support` it lets the answer through without the full check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.backends.base import Draft
from rag.compose import with_continuations
from rag.config import GroundingSettings
from rag.evidence import (Evidence, EvidenceSet, anchor, asked_for, asked_types, contradiction, fills, key_terms,
                          named_apart, names_anchor, term_in, term_weights, weighted_coverage)
from rag.judge import Extraction
from rag.text import squashed, title_of
from rag.verify import new_content, strip_markers

REASONS = ("no_evidence", "key_term_missing", "contradiction", "type_not_filled", "judged_unanswerable",
           "no_answer_span", "model_refused", "echo", "unsupported")
JUDGED_SENTENCES = 3  # the judge reads the best three sentences, as the model would


@dataclass(frozen=True)
class Verdict:
    answer: bool
    reason: str  # "grounded", or one of REASONS
    detail: str = ""


GROUNDED = Verdict(True, "grounded")


class GroundingPolicy:
    def __init__(self, settings: GroundingSettings):
        self.settings = settings

    def decide(self, question: str, evidence: EvidenceSet, draft: Draft | None = None, judge=None) -> Verdict:
        """Answer or refuse. Without a draft: judge the evidence (and mark it `strong` or not for the backend),
        asking `judge` (an AnswerabilityJudge) last; with a draft: judge the backend's answer over that evidence."""
        verdict = (self._judge_evidence(question, evidence, judge) if draft is None
                   else self._judge_draft(question, evidence, draft, judge))
        evidence.answerable, evidence.reason = verdict.answer, verdict.reason
        return verdict

    def _judge_evidence(self, question: str, evidence: EvidenceSet, judge=None) -> Verdict:
        if not evidence.ranked:
            return Verdict(False, "no_evidence", "nothing retrieved")
        s = self.settings
        asks_judge = judge is not None and s.judge
        th = s.thresholds(evidence.pair)
        if asks_judge and th.min_judge > 0:
            th = th.with_judge()
        best = evidence.ranked[0]
        evidence.strong = best.score >= th.strong
        if best.score < th.min_score:
            return Verdict(False, "no_evidence", f"best evidence score {best.score:.2f} < {th.min_score}")
        if th.min_coverage > 0 and best.coverage < th.min_coverage:
            return Verdict(False, "key_term_missing",
                           f"key terms covered {best.coverage:.2f} < {th.min_coverage}; missing: {', '.join(best.missing[:3])}")
        # a negated question over an affirming sentence: the judge already refuses these, and with it the check
        # only cost a right answer (squad_en, local); without it the check refuses more than it loses
        if s.check_contradiction and (why := contradiction(question, best, negation=not asks_judge)):
            return Verdict(False, "contradiction", why)
        if s.check_contradiction and (why := matched_else(evidence, s.else_margin)):
            return Verdict(False, "contradiction", why)
        # the word the asked value hangs on (the event a "when" asks about, the role a "who" asks for): a quote that
        # gives a value of the asked kind without it gives another event's or role's (开工 for 竣工); a sentence about
        # something else (a sibling, another year) names it for another thing and does not count
        # (or the noun its question word carries, which says the same thing more exactly: "英国方面代表是哪两位大臣"
        # is answered by a sentence naming the 大臣 without calling them 代表)
        if evidence.pair in s.anchor_pairs and (word := anchor(question)) \
                and not any(names_anchor(w, e.text) for w in (word, *asked_for(question))
                            for e in evidence.selected() if not e.about_else):
            return Verdict(False, "key_term_missing", f"no selected sentence names “{word}”, what the asked value "
                                                      "hangs on")
        # a term the document names, but elsewhere than with the best sentence's value: that value is another thing's
        if evidence.pair in s.apart_pairs and (apart := named_apart(question, evidence)):
            return Verdict(False, "key_term_missing", f"the best sentence lacks “{apart[0]}”, which its document names "
                                                      f"apart from it: “{apart[1].text[:60]}”")
        kinds = asked_types(question)
        if s.check_types and kinds:
            chosen = evidence.selected()
            if not any(all(fills(k, e.text, question) for k in kinds) for e in chosen):
                return Verdict(False, "type_not_filled", f"no selected sentence gives the asked {'/'.join(kinds)}")
        if asks_judge and th.min_judge > 0:
            sentences, sources = judged_view(evidence, s.judge_sources, s.spare_terms)
            p = judge.probability(question, sentences, evidence.lang, sources=sources)
            evidence.judged = p
            bar = th.judge_bar(evidence.strong)
            if p is not None and p < bar:
                return Verdict(False, "judged_unanswerable", f"P(the evidence states the answer) {p:.2f} < {bar}")
            # a judge that is not sure is checked by asking for the answer itself (a second prompt, so only then)
            if th.max_none > 0 and (p is None or p < th.sure_judge):
                got = judge.extract(question, sentences, evidence.lang, sources=sources)
                if got is not None and (why := span_fails(got, sentences, th.max_none)):
                    return Verdict(False, "no_answer_span", why)
        return GROUNDED

    def _judge_draft(self, question: str, evidence: EvidenceSet, draft: Draft, judge=None) -> Verdict:
        if draft.grounding == "refused":
            return Verdict(False, draft.failure or "model_refused")
        # a span the sources do not hold is often a paraphrase of a right answer (calibration halves): only a model
        # that copies none refuses the quote, where the pair's calibration says so (zh-zh)
        th = self.settings.thresholds(evidence.pair)
        if (draft.grounding == "fallback" and draft.copied is not None and not draft.copied.span
                and th.uncopied_refuses):
            return Verdict(False, "no_answer_span", f"the generated answer failed ({draft.failure}) and the model, "
                                                    "asked to copy the answer from the sources, copied none")
        if (draft.grounding == "fallback" and th.min_holder_coverage > 0 and (held := draft.copied_from) is not None
                and held is not evidence.ranked[0] and held.lang == evidence.lang
                and (cover := own_coverage(question, held.text)) < th.min_holder_coverage):
            return Verdict(False, "no_answer_span", f"the generated answer failed ({draft.failure}) and the answer the "
                                                    f"model copies is in a sentence covering {cover:.2f} of the "
                                                    f"question's key terms (< {th.min_holder_coverage})")
        # a failed answer over evidence the judge was unsure of: the model mostly took a sibling's value (en-en)
        if (draft.grounding == "fallback" and draft.failure in REASONS and evidence.judged is not None
                and evidence.judged < th.fallback_judge):
            return Verdict(False, draft.failure, f"the generated answer failed ({draft.failure}) and P(the evidence "
                                                 f"states the answer) {evidence.judged:.2f} < {th.fallback_judge}")
        if draft.failure in ("model_refused", "type_not_filled") and not evidence.strong:
            return Verdict(False, draft.failure, "the model found no answer of the asked kind in loose evidence")
        if not new_content(strip_markers(draft.text), question):  # nothing the question did not already say
            return Verdict(False, "echo", "the answer only repeats the question")
        if judge is not None and self.settings.judge and th.min_support > 0:
            sentences, sources = judged_view(evidence, self.settings.judge_sources, self.settings.spare_terms)
            args = (question, sentences, strip_markers(draft.text), evidence.lang)
            if th.sure_support > 0 and (quick := judge.quick_support(*args, sources=sources)) is not None \
                    and quick >= th.sure_support:
                return GROUNDED  # the cheap check is sure; the full one is asked only when it is not
            p = judge.support(*args, sources=sources)
            if p is not None and p < th.min_support:
                return Verdict(False, "unsupported", f"P(the evidence supports the answer) {p:.2f} < {th.min_support}")
        return GROUNDED


def matched_else(evidence: EvidenceSet, margin: float | None) -> str:
    """Why the best free sentence stands in for a sentence about something else, or "": a demoted sentence (a sibling,
    another year) covers more than `margin` more of the key terms than it (asked 副局长, the 局长's sentence demoted,
    a sentence on the bureau's figures left first)."""
    if margin is None or not evidence.ranked or evidence.ranked[0].about_else:
        return ""
    best = evidence.ranked[0]
    other = max((e for e in evidence.ranked if e.about_else), key=lambda e: e.coverage, default=None)
    if other is None or other.coverage - best.coverage <= margin:
        return ""
    return (f"the sentence that matches the question ({other.coverage:.2f} of its key terms) is about something else "
            f"({other.about_else}); the best other covers {best.coverage:.2f}")


def own_coverage(question: str, sentence: str) -> float:
    """The weighted share of the question's key terms a sentence's own words cover (no context: what a sentence
    says about a sibling is not made about the asked thing by a title above it)."""
    terms = key_terms(question)
    return weighted_coverage(terms, sentence, term_weights(question, terms))[0]


def span_fails(got: Extraction, sentences: list[str], max_none: float) -> str:
    """Why the model's copy of the answer shows that the evidence does not state it ("" when nothing shows that):
    the model is likely to say there is none, or the span it copied is not in the evidence. (A span that repeats the question or lacks
    the asked kind also refused answerable questions on the calibration halves: not checked.)"""
    if got.none is not None and got.none >= max_none:
        return f"P(the model finds no answer to copy) {got.none:.2f} ≥ {max_none}"
    if not got.span:
        return ""  # it said none, but not with that probability
    if got.held_by([" ".join(sentences)]) is None:
        return f"the copied answer “{got.span}” is not in the evidence"
    return ""


_FILE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_NAME_GAPS = re.compile(r"[-_\s]+")


def _name_line(e: Evidence) -> str:
    """The file-name line of a sentence's context: scoring writes the section heading and then the document's name
    before the text that precedes the sentence in its chunk (rag/evidence.py), so it is the first line after the
    section's that reads as a file name."""
    lines = e.context.split("\n") if e.context else []
    section = e.section.strip()
    return next((line.strip() for prev, line in zip(lines, lines[1:])
                 if prev.strip() == section and _FILE_SUFFIX.search(line.strip())), "")


def document_name(e: Evidence) -> str:
    """The name of a sentence's document as scoring saw it ("" for a list item built without its chunk's context):
    the file name without its suffix, a title more often than not."""
    return _NAME_GAPS.sub(" ", _FILE_SUFFIX.sub("", _name_line(e))).strip()


def source_of(e: Evidence, title: str | None = None) -> str:
    """Where a sentence comes from, as the judge is shown it: its document's name (`title`, else read from its
    context) and its section heading, each once."""
    title = document_name(e) if title is None else title
    section = e.section.strip()
    if section and squashed(section) in squashed(title):
        section = ""
    return " · ".join(part for part in (title, section) if part)


def headings(e: Evidence) -> list[str]:
    """What a sentence's document says it is about: its title (the context's first line, when it reads as one; else
    its file name without the suffix) and its section heading, each once."""
    lines = e.context.split("\n") if e.context else []
    first = title_of(lines[0]) if lines and lines[0].strip() != e.section.strip() else ""
    out: list[str] = []
    for h in (first or document_name(e), e.section.strip()):
        key = squashed(h)
        if key and not any(key in squashed(o) for o in out):
            out.append(h)
    return out


def needed_source(e: Evidence, terms: list[str], spare: int = 0) -> str:
    """Where a single sentence comes from, when it leaves the question's key terms to it (the subject named only by
    the title, the holiday only by the section heading): all its headings, when they hold every key term the sentence
    lacks but at most `spare` of them (`GroundingSettings.spare_terms`: the asked attribute, which the sentence states
    as its value, "68比61" for 比分); "" when it lacks none, or more that neither it nor its headings hold (a sibling's
    sentence: "K2" asked, the T5's sales given under the same title), which is then judged bare."""
    sentence = e.text.lower()
    lacks = [t for t in terms if not term_in(t, sentence)]
    shown = headings(e)
    said = "\n".join(shown).lower()
    unheld = sum(not term_in(t, said) for t in lacks)
    return " · ".join(shown) if lacks and shown and unheld < len(lacks) and unheld <= spare else ""


def judged_view(evidence: EvidenceSet, sources: str = "always", spare: int = 0) -> tuple[list[str], list[str] | None]:
    """What the judge reads: the best sentences, as the model did, or a list with its items; and where each comes
    from (None without sources; `sources` is `GroundingSettings.judge_sources`). A list item takes its document's
    name from any scored sentence of that document. With `needed`, a single sentence is shown with the headings
    that hold the question's key terms it lacks, and with nothing when it lacks none (a heading shown beside every
    sentence vouched for same-topic questions the document does not answer)."""
    chosen = evidence.listed or evidence.ranked[:JUDGED_SENTENCES]
    if not evidence.listed and evidence.lang == "en":  # the best sentence and the one that continues it ("It became…")
        chosen = with_continuations(chosen, evidence.ranked, chosen[:1])
    if sources == "never" or (sources == "lists" and not evidence.listed):
        return [e.text for e in chosen], None
    if sources == "needed" and not evidence.listed:
        terms = key_terms(evidence.question)
        shown = [needed_source(e, terms, spare) for e in chosen]
        return [e.text for e in chosen], shown if any(shown) else None
    titles: dict[str, str] = {}
    for e in [*chosen, *evidence.ranked]:
        if e.doc_id not in titles and (name := document_name(e)):
            titles[e.doc_id] = name
    return [e.text for e in chosen], [source_of(e, titles.get(e.doc_id, "")) for e in chosen]
