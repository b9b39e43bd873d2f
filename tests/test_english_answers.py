"""English answers over English sources: a sentence that refers back to the best one, and a failed answer over
evidence the judge was unsure of (rag/backends/generative.py `continued`, rag/grounding.py `fallback_judge`)."""

from conftest import evidence_of

from rag.backends.base import Draft
from rag.backends.generative import GroundedLLMBackend, continued
from rag.config import GroundingSettings
from rag.evidence import Evidence, EvidenceSet
from rag.grounding import GroundingPolicy
from rag.llm import FakeLLM
from rag.verify import Verifier

DOC = ("The after-school homework club met four afternoons a week and enrolled 85 children. "
       "It is run by retired teacher Grace Moyo. The senior walking group met every Tuesday morning. "
       "The Kestrel cart is its second product. It launched in May 2025 and is priced at $14,900 per unit.")


def _ev(sentence: str, score: float, lang: str = "en", doc: str = "report") -> Evidence:
    return evidence_of(DOC, sentence, score, doc, lang)


CLUB = _ev("The after-school homework club met four afternoons a week and enrolled 85 children.", 0.87)
RUN_BY = _ev("It is run by retired teacher Grace Moyo.", 0.45)
WALKING = _ev("The senior walking group met every Tuesday morning.", 0.5)
LAUNCHED = _ev("It launched in May 2025 and is priced at $14,900 per unit.", 0.47)


def test_a_sentence_referring_back_to_a_relevant_one_is_relevant_too():
    assert continued([CLUB], [CLUB, WALKING, RUN_BY]) == [CLUB, RUN_BY]


def test_only_a_pronoun_opening_right_after_a_relevant_sentence_continues_it():
    # the sentence it follows ("The Kestrel cart…") was not among the relevant ones: a sibling's value stays out
    assert continued([CLUB], [CLUB, LAUNCHED]) == [CLUB]
    # right after the relevant one but naming its own subject
    assert continued([RUN_BY], [RUN_BY, WALKING]) == [RUN_BY]
    # in another document at the same offsets
    other = Evidence("other", "other:0", RUN_BY.start, RUN_BY.end, RUN_BY.text, "", 0.45, 0.5, 0.8, 0, lang="en")
    assert continued([CLUB], [CLUB, other]) == [CLUB]


def test_an_answer_from_the_sentence_that_continues_the_best_one_is_verified():
    question = "Who runs the after-school homework club at Harbor Street?"
    evidence = EvidenceSet(question, "en", [CLUB, WALKING, RUN_BY], answerable=True)
    backend = GroundedLLMBackend("fake", FakeLLM(), Verifier(None))
    draft = backend.finish("Grace Moyo. [3]", evidence.ranked, evidence, question)
    assert draft.grounding == "verified" and draft.text == "Grace Moyo.[1]"
    assert [c.text for c in draft.citations] == [RUN_BY.text]


def test_a_value_from_a_sentence_after_an_unread_sibling_is_not_verified():
    question = "How much does the Heron arm cost?"
    heron = Evidence("report", "report:1", 0, 10, "The Heron arm sold 1,150 units during the year.", "", 0.88, 0.7,
                     0.8, 0, lang="en")
    evidence = EvidenceSet(question, "en", [heron, LAUNCHED], answerable=True)
    draft = GroundedLLMBackend("fake", FakeLLM(), Verifier(None)).finish("$14,900 per unit. [2]", evidence.ranked,
                                                                        evidence, question)
    assert draft.grounding == "fallback" and draft.failure == "unsupported"


def _fallback(failure: str) -> Draft:
    return Draft(text=f"According to the documents: {CLUB.text}[1]", grounding="fallback", failure=failure)


def _judged(p: float, lang: str = "en") -> EvidenceSet:
    evidence = EvidenceSet("Who coaches the homework club?", lang, [_ev(CLUB.text, 0.87, lang)], answerable=True)
    evidence.judged = p
    return evidence


def test_a_failed_answer_over_evidence_the_judge_was_unsure_of_is_refused():
    policy = GroundingPolicy(GroundingSettings())
    bar = policy.settings.thresholds("en-en").fallback_judge
    verdict = policy.decide("Who coaches the homework club?", _judged(bar - 0.05), _fallback("unsupported"))
    assert not verdict.answer and verdict.reason == "unsupported"
    assert policy.decide("Who coaches the homework club?", _judged(bar + 0.05), _fallback("unsupported")).answer


def test_the_judge_bar_after_a_failed_answer_leaves_lists_unjudged_and_other_pairs_alone():
    policy = GroundingPolicy(GroundingSettings())
    # a list cut short is quoted whole from the sentences the model used: its answer was supported
    assert policy.decide("Who coaches the homework club?", _judged(0.3), _fallback("list_cut_short")).answer
    # no judgement made (the judge could not be asked): nothing to read
    assert policy.decide("Who coaches the homework club?", _judged(None), _fallback("unsupported")).answer
    # calibrated on English only: a Chinese question's quote after a failed answer is not judged this way
    zh = EvidenceSet("谁负责课后作业俱乐部？", "zh", [_ev(CLUB.text, 0.87, "zh")], answerable=True)
    zh.judged = 0.3
    assert policy.decide("谁负责课后作业俱乐部？", zh, _fallback("unsupported")).answer


def test_a_runner_up_about_another_thing_is_not_on_the_best_sentences_topic():
    from dataclasses import replace

    from rag.compose import same_topic

    question = "How much did the new dental wing cost?"  # key terms: new, dental, wing, cost
    best = replace(CLUB, coverage=0.75, missing=["cost"])
    assert same_topic(replace(WALKING, coverage=0.5, missing=["new", "cost"]), best, question)
    assert not same_topic(replace(WALKING, coverage=0.3, missing=["new", "cost"]), best, question)  # under half
    # as covered, but only by the asked value's word: another thing's cost
    assert not same_topic(replace(WALKING, coverage=0.5, missing=["new", "dental", "wing"]), best, question)
    # a best sentence covering nothing leaves only the share to compare
    assert same_topic(replace(WALKING, coverage=0.0, missing=["new", "dental", "wing", "cost"]),
                      replace(CLUB, coverage=0.0, missing=["new", "dental", "wing", "cost"]), question)


class _Copier:
    """The judge's model asked to copy the answer's span: copies `span`."""

    def __init__(self, span):
        self.span = span

    def extract(self, question, sentences, lang, sources=None):
        from rag.judge import Extraction

        return Extraction(self.span)


def _failed_quote(holder: Evidence) -> Draft:
    from dataclasses import replace

    question = "How much did the homework club cost?"
    best = replace(CLUB, coverage=0.8)
    evidence = EvidenceSet(question, "en", [best, holder], answerable=True)
    backend = GroundedLLMBackend("fake", FakeLLM(), Verifier(None), judge=_Copier("$14,900"))
    return backend.finish("$14,900. [2]", evidence.ranked, evidence, question)


def test_a_failed_answer_copied_from_a_sentence_about_something_else_quotes_the_best_sentence_alone():
    from dataclasses import replace

    draft = _failed_quote(replace(LAUNCHED, score=0.5, coverage=0.2))  # the span's holder: another product's price
    assert draft.grounding == "fallback" and [c.text for c in draft.citations] == [CLUB.text]
    draft = _failed_quote(replace(LAUNCHED, score=0.5, coverage=0.6))  # a holder about the same thing is quoted too
    assert [c.text for c in draft.citations] == [CLUB.text, LAUNCHED.text]
