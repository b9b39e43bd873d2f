"""The grounding policy on hand-built evidence: each check refuses for its own reason, and only then."""

import pytest

from rag.backends.base import Draft
from rag.config import GroundingSettings, PairThresholds
from rag.evidence import Evidence, EvidenceSet, asked_types, contradicted, fills, key_terms, weighted_coverage
from rag.grounding import GroundingPolicy, judged_view, source_of, span_fails
from rag.judge import Extraction, _first_token_alternatives, yes_probability
from rag.schema import Citation

LOOSE = PairThresholds(min_score=0.5, min_coverage=0.6, strong=0.8, min_judge=0.3)


def _policy(**kw) -> GroundingPolicy:
    return GroundingPolicy(GroundingSettings(pairs={"zh-zh": LOOSE, "en-en": LOOSE}, **kw))


def _evidence(question: str, text: str, score: float = 0.9, coverage: float = 0.9, lang: str = "en",
              context: str = "") -> EvidenceSet:
    ev = Evidence("doc", "doc:0", 0, len(text), text, "", score, coverage, 0.9, 0, None, context or text, coverage,
                  [], lang)
    return EvidenceSet(question, lang, [ev])


class FixedJudge:
    def __init__(self, p):
        self.p, self.asked = p, []

    def probability(self, question, sentences, lang, sources=None):
        self.asked.append((question, sentences, lang))
        self.sources = sources
        return self.p

    def support(self, question, sentences, answer, lang, sources=None):
        self.asked.append((question, sentences, answer, lang))
        return self.p


class SpanJudge(FixedJudge):
    """A judge that says `p` and, asked to copy the answer, copies `span` with P(none) `none` (None: cannot be asked)."""

    def __init__(self, p, span, none=0.0):
        super().__init__(p)
        self.span, self.none = span, none

    def extract(self, question, sentences, lang, sources=None):
        self.asked.append(("extract", question, sentences, lang))
        return None if self.span is None else Extraction(self.span, self.none)


class TwoStageJudge(FixedJudge):
    """A quick support check that answers `quick`, a full one that answers `p`."""

    def __init__(self, quick, p):
        super().__init__(p)
        self.quick = quick

    def quick_support(self, question, sentences, answer, lang, sources=None):
        self.asked.append(("quick", answer))
        return self.quick


def test_answers_when_every_check_passes():
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.")
    verdict = _policy().decide(ev.question, ev)
    assert verdict.answer and verdict.reason == "grounded" and ev.strong


@pytest.mark.parametrize("score, coverage, reason", [(0.4, 0.9, "no_evidence"), (0.9, 0.5, "key_term_missing")])
def test_weak_evidence_is_refused_with_its_reason(score, coverage, reason):
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.", score, coverage)
    verdict = _policy().decide(ev.question, ev)
    assert not verdict.answer and verdict.reason == reason and not ev.answerable


def test_no_evidence_at_all():
    verdict = _policy().decide("Who?", EvidenceSet("Who?", "en"))
    assert (verdict.answer, verdict.reason) == (False, "no_evidence")


def test_a_question_about_another_year_is_a_contradiction():
    ev = _evidence("How many visitors came in 2021?", "In 2023 the museum had 41,000 visitors.")
    assert _policy().decide(ev.question, ev).reason == "contradiction"
    ev = _evidence("How many visitors came in 2021?", "The museum had 41,000 visitors.", context="Annual report 2021")
    assert _policy().decide(ev.question, ev).answer  # the year is in the sentence's context


def test_the_asked_kind_must_be_filled():
    ev = _evidence("How many staff does the museum employ?", "The museum employs curators and guides.")
    assert _policy().decide(ev.question, ev).reason == "type_not_filled"
    ev = _evidence("How many staff does the museum employ?", "The museum employs 14 curators and guides.")
    assert _policy().decide(ev.question, ev).answer
    assert _policy(check_types=False).decide(ev.question, _evidence(ev.question, "It employs guides.")).answer


def test_who_wants_a_name_the_question_does_not_already_give():
    q = "Who was chief curator before Dr. Hart?"
    assert not fills("person", "The chief curator is Dr. Hart.", q)
    assert fills("person", "Before Dr. Hart, the chief curator was Ann Lee.", q)
    assert "person" in asked_types(q) and "place" in asked_types("Where was it held?")
    assert fills("place", "会议在东京举行。", "会议在哪里举行？") and not fills("place", "会议于19日举行。", "会议在哪里举行？")


def test_judge_refuses_below_its_threshold_and_is_not_asked_without_one():
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.")
    judge = FixedJudge(0.1)
    verdict = _policy().decide(ev.question, ev, judge=judge)
    assert verdict.reason == "judged_unanswerable" and ev.judged == 0.1 and len(judge.asked) == 1
    assert _policy().decide(ev.question, ev, judge=FixedJudge(0.9)).answer
    assert _policy().decide(ev.question, ev, judge=FixedJudge(None)).answer  # a failed judge makes no judgement
    off = GroundingPolicy(GroundingSettings(pairs={"en-en": LOOSE.model_copy(update={"min_judge": 0.0})}))
    judge = FixedJudge(0.0)
    assert off.decide(ev.question, ev, judge=judge).answer and judge.asked == []


def _draft(text: str, failure: str | None = None) -> Draft:
    cit = Citation(n=1, doc_id="doc", chunk_id="doc:0", text="The board is chaired by Maria Lopez.", start=0, end=36,
                   score=0.9)
    return Draft(text=text, citations=[cit], grounding="fallback" if failure else "verified", failure=failure)


def test_a_model_refusal_stands_over_loose_evidence_only():
    loose = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.", score=0.6)
    policy = _policy()
    policy.decide(loose.question, loose)
    assert policy.decide(loose.question, loose, _draft("quote", "model_refused")).reason == "model_refused"
    strong = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.", score=0.95)
    policy.decide(strong.question, strong)
    assert policy.decide(strong.question, strong, _draft("The board is chaired by Maria Lopez.[1]", "model_refused")).answer


def test_an_answer_that_only_echoes_the_question_is_refused():
    ev = _evidence("大运会吉祥物是什么？", "大运会吉祥物是蓉宝。", lang="zh")
    policy = _policy()
    policy.decide(ev.question, ev)
    assert policy.decide(ev.question, ev, _draft("大运会吉祥物是 ...[1]")).reason == "echo"
    assert policy.decide(ev.question, ev, _draft("大运会吉祥物是蓉宝。[1]")).answer


def test_key_term_coverage_is_idf_weighted_and_stems_english():
    class Idf:
        def idf(self, term):
            return {"employ": 1.0, "staff": 3.0}.get(term, 1.0)

    terms = key_terms("How many staff does the library employ?")
    assert "many" not in terms and "staff" in terms and "employ" in terms
    coverage, missing = weighted_coverage(["staff", "employ"], "The library employed 40 people.", Idf())
    assert coverage == pytest.approx(0.25) and missing == ["staff"]


def test_the_full_support_check_is_asked_only_when_the_quick_one_is_not_sure():
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.")
    policy = GroundingPolicy(GroundingSettings(pairs={"en-en": LOOSE.model_copy(
        update={"min_support": 0.5, "sure_support": 0.85})}))
    policy.decide(ev.question, ev)
    draft = _draft("Maria Lopez chairs the board.[1]")
    sure = TwoStageJudge(quick=0.9, p=0.1)
    assert policy.decide(ev.question, ev, draft, judge=sure).answer  # the quick check is sure: no full check
    assert sure.asked == [("quick", "Maria Lopez chairs the board.")]
    unsure = TwoStageJudge(quick=0.8, p=0.1)
    verdict = policy.decide(ev.question, ev, draft, judge=unsure)
    assert verdict.reason == "unsupported" and len(unsure.asked) == 2  # the full check decides
    assert policy.decide(ev.question, ev, draft, judge=TwoStageJudge(quick=0.8, p=0.6)).answer
    assert policy.decide(ev.question, ev, draft, judge=TwoStageJudge(quick=None, p=0.1)).reason == "unsupported"


def test_contradiction_needs_another_year_in_the_sentence():
    ev = _evidence("2022年国庆节旅游收入是多少？", "国庆节假期旅游收入为119亿元。", lang="zh")
    assert not contradicted(ev.question, ev.ranked[0])  # no year at all: for the key-term check to judge
    # (春节 for 国庆节 is a sibling, a contradiction of its own: tests/test_keyterms.py)
    ev = _evidence("2022年国庆节旅游收入是多少？", "2023年国庆节旅游收入为119亿元。", lang="zh")
    assert contradicted(ev.question, ev.ranked[0])


def test_a_negated_english_question_is_contradicted_by_a_sentence_that_only_affirms():
    ev = _evidence("What notion does not keep its meaning in quantum mechanics?",
                   "The notion of force keeps its meaning in quantum mechanics.")
    assert contradicted(ev.question, ev.ranked[0])
    assert _policy().decide(ev.question, ev).reason == "contradiction"
    # with the answerability judge asked, the judge decides these (the check cost a right answer there)
    assert _policy().decide(ev.question, ev, judge=FixedJudge(0.99)).reason != "contradiction"
    ev = _evidence("Which signatory was not a Nobel laureate?",
                   "All signatories except Leopold Infeld were Nobel laureates.")
    assert not contradicted(ev.question, ev.ranked[0])
    ev = _evidence("How many liters does one No. 5 cartridge filter?", "One No. 5 cartridge filters 150 liters.")
    assert not contradicted(ev.question, ev.ranked[0])  # "No." is a number sign, not a negation


def test_judge_reads_llama_cpp_and_openai_logprobs():
    llama = {"logprobs": {"content": [{"token": "Yes", "logprob": -0.5, "top_logprobs": [
        {"token": "Yes", "logprob": -0.5}, {"token": "No", "logprob": -1.5}, {"token": "yes", "logprob": -4.0}]}]}}
    p = yes_probability(_first_token_alternatives(llama))
    assert p == pytest.approx((0.6065 + 0.0183) / (0.6065 + 0.0183 + 0.2231), abs=1e-3)
    legacy = {"logprobs": {"top_logprobs": [{"否": -0.1, "是": -2.4}]}}
    assert yes_probability(_first_token_alternatives(legacy)) < 0.2
    assert yes_probability(_first_token_alternatives({"logprobs": None})) is None


def test_a_question_about_another_ordinal_is_a_contradiction():
    ev = _evidence("日英第二次会议在哪里举行？", "日英首次会议在东京举行。", lang="zh")
    assert contradicted(ev.question, ev.ranked[0])
    ev = _evidence("Where was the second meeting held?", "The second meeting was held in Leeds.")
    assert not contradicted(ev.question, ev.ranked[0])


def test_a_list_is_judged_with_its_items():
    ev = _evidence("Which three steps prepare the cartridge?", "Prepare the cartridge as follows:")
    items = [Evidence("doc", "doc:0", 40 + i, 41 + i, t, "", 0.9, 0.9, 0.9, 0) for i, t in
             enumerate(["1. Soak it.", "2. Insert it.", "3. Rinse it."])]
    ev.listed = [ev.ranked[0]] + items
    judge = FixedJudge(0.9)
    assert _policy().decide(ev.question, ev, judge=judge).answer
    assert judge.asked[0][1] == ["Prepare the cartridge as follows:", "1. Soak it.", "2. Insert it.", "3. Rinse it."]


def test_an_answer_the_judge_finds_unsupported_is_refused():
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.")
    policy = GroundingPolicy(GroundingSettings(pairs={"en-en": LOOSE.model_copy(update={"min_support": 0.5})}))
    policy.decide(ev.question, ev)
    judge = FixedJudge(0.2)
    verdict = policy.decide(ev.question, ev, _draft("Maria Lopez chairs the board.[1]"), judge=judge)
    assert verdict.reason == "unsupported" and verdict.answer is False
    assert judge.asked == [(ev.question, ["The board is chaired by Maria Lopez."], "Maria Lopez chairs the board.", "en")]
    assert policy.decide(ev.question, ev, _draft("Maria Lopez chairs the board.[1]"), judge=FixedJudge(0.8)).answer
    assert policy.decide(ev.question, ev, _draft("Maria Lopez.[1]"), judge=FixedJudge(None)).answer  # judge failed
    judge = FixedJudge(0.0)  # without a threshold the judge is not asked
    assert _policy().decide(ev.question, ev, _draft("Maria Lopez.[1]"), judge=judge).answer and judge.asked == []


SPAN = LOOSE.model_copy(update={"max_none": 0.6, "sure_judge": 0.9})


@pytest.mark.parametrize("span, none, answers, why", [
    ("Maria Lopez", 0.1, True, ""),
    ("", 0.7, False, "no answer to copy"),  # the model is likely to find none
    ("", 0.4, True, ""),  # it said none, but not likely enough
    ("Maria Lopez", 0.6, False, "no answer to copy"),
    ("Ann Lee", 0.1, False, "not in the evidence"),  # copied from nowhere
    ("maria lopez", None, True, ""),  # case and punctuation aside, it is in the evidence
    (None, None, True, ""),  # the model could not be asked: no judgement
])
def test_an_unsure_judge_is_checked_by_the_span_the_model_copies(span, none, answers, why):
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.")
    judge = SpanJudge(0.8, span, none)
    verdict = GroundingPolicy(GroundingSettings(pairs={"en-en": SPAN})).decide(ev.question, ev, judge=judge)
    assert verdict.answer is answers and judge.asked[-1] == ("extract", ev.question, [ev.ranked[0].text], "en")
    if not answers:
        assert verdict.reason == "no_answer_span" and why in verdict.detail


def test_the_span_is_asked_for_only_when_the_judge_passed_but_is_not_sure():
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.")
    policy = GroundingPolicy(GroundingSettings(pairs={"en-en": SPAN}))
    for p, asked, reason in [(0.1, 1, "judged_unanswerable"), (0.95, 1, "grounded"), (0.8, 2, "no_answer_span")]:
        judge = SpanJudge(p, "", 0.9)
        assert policy.decide(ev.question, ev, judge=judge).reason == reason and len(judge.asked) == asked
    judge = SpanJudge(0.8, "", 0.9)
    assert _policy().decide(ev.question, ev, judge=judge).answer and len(judge.asked) == 1  # max_none 0: not asked


def test_a_copied_span_may_differ_from_the_evidence_by_punctuation_and_a_particle():
    sentences = ["英国于2024年12月正式加入CPTPP。"]
    assert span_fails(Extraction("2024年12月", 0.1), sentences, 0.6) == ""
    assert span_fails(Extraction("英国于2024年12月 正式加入 CPTPP", 0.1), sentences, 0.6) == ""
    assert "not in the evidence" in span_fails(Extraction("2023年", 0.1), sentences, 0.6)
    assert span_fails(Extraction("2024年12月，英国正式加入了CPTPP", 0.1), sentences, 0.6) == ""  # reworded, same words


def test_the_api_schema_names_every_refusal_reason():
    """API clients read `reason` from the OpenAPI description: a reason added to the policy must be listed there."""
    from rag.grounding import REASONS
    from rag.schema import AskResponse

    described = AskResponse.model_fields["reason"].description
    assert [r for r in REASONS if f"`{r}`" not in described] == []


def test_the_judge_reads_each_sentence_with_its_documents_name_and_section():
    text = "The foundation launched two new programs this year."
    ev = _evidence("Which programs started in 2025?", text,
                   context=f"{text}\nNew Programs\nmaple-creek-library_foundation-2025.txt")
    ev.ranked[0].section = "New Programs"
    judge = FixedJudge(0.9)
    assert _policy(judge_sources="always").decide(ev.question, ev, judge=judge).answer
    assert judge.sources == ["maple creek library foundation 2025 · New Programs"]
    for setting in ("never", "lists"):  # "lists": only a list's items are shown with their source
        judge = FixedJudge(0.9)
        _policy(judge_sources=setting).decide(ev.question, ev, judge=judge)
        assert judge.sources is None and judge.asked[0][1] == [text]
    ev.listed = [ev.ranked[0]]
    judge = FixedJudge(0.9)
    _policy(judge_sources="lists").decide(ev.question, ev, judge=judge)
    assert judge.sources == ["maple creek library foundation 2025 · New Programs"]


def test_a_section_the_documents_name_already_says_is_not_repeated():
    ev = _evidence("q", "s.", context="s.\nIslamism\nislamism.txt").ranked[0]
    ev.section = "Islamism"
    assert source_of(ev) == "islamism"
    assert source_of(_evidence("q", "s.", context="s.\n\n").ranked[0]) == ""  # no section, no name
    assert judged_view(_evidence("q", "s."), "never") == (["s."], None)


@pytest.mark.parametrize("score, p, answers", [(0.9, 0.7, True), (0.7, 0.7, False), (0.9, 0.5, False),
                                                 (0.7, 0.8, True)])
def test_the_strong_evidence_judge_bar_applies_only_on_strong_evidence(score, p, answers):
    th = PairThresholds(min_score=0.5, min_coverage=0.6, strong=0.8, min_judge=0.75, strong_judge=0.6)
    policy = GroundingPolicy(GroundingSettings(pairs={"en-en": th}))
    ev = _evidence("Who chairs the board?", "The board is chaired by Maria Lopez.", score=score)
    verdict = policy.decide(ev.question, ev, judge=FixedJudge(p))
    assert verdict.reason == ("grounded" if answers else "judged_unanswerable") and ev.strong is (score >= 0.8)
    off = GroundingPolicy(GroundingSettings(pairs={"en-en": th.model_copy(update={"strong_judge": 0.0})}))
    assert off.decide(ev.question, ev, judge=FixedJudge(p)).answer is (p >= 0.75)


def test_a_list_item_without_context_is_shown_with_its_documents_name():
    intro = _evidence("q", "Two programs started this year.", context="x\nNew Programs\nannual-report-2025.md").ranked[0]
    intro.section = "New Programs"
    item = Evidence("doc", "doc:0", 40, 60, "Story Lab opened in February.", "New Programs", 0.9, 0.0, 0.0, 0)
    ev = EvidenceSet("Which programs started in 2025?", "en", [intro])
    ev.listed = [intro, item]
    assert judged_view(ev) == ([intro.text, item.text], ["annual report 2025 · New Programs"] * 2)
