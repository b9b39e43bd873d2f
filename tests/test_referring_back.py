"""An English sentence whose subject is a pronoun is read with the sentence it refers back to, by the model and by the
judge (rag/compose.py `with_continuations`, used by rag/backends/generative.py and rag/grounding.py `judged_view`)."""

from conftest import evidence_of
from test_english_answers import _Copier

from rag.backends.generative import GroundedLLMBackend, continued
from rag.compose import continues, with_continuations
from rag.evidence import Evidence, EvidenceSet
from rag.grounding import judged_view
from rag.llm import FakeLLM
from rag.verify import Verifier

DOC = ("The Ferry Cooperative opened a dock at Gull Cove in May. The dock has room for nine boats. "
       "Skipper Ada Voss launched a night crossing in April. It carried 12,300 passengers in its first season. "
       "A new ticket office opened on Pier Road.")


def _ev(sentence: str, score: float, doc: str = "letter", lang: str = "en") -> Evidence:
    return evidence_of(DOC, sentence, score, doc, lang)


LAUNCHED = _ev("Skipper Ada Voss launched a night crossing in April.", 0.93)
CARRIED = _ev("It carried 12,300 passengers in its first season.", 0.28)
DOCK = _ev("The Ferry Cooperative opened a dock at Gull Cove in May.", 0.6)
ROOM = _ev("The dock has room for nine boats.", 0.55)
OFFICE = _ev("A new ticket office opened on Pier Road.", 0.4)


def test_a_pronoun_sentence_right_after_another_continues_it():
    assert continues(CARRIED, LAUNCHED)
    assert not continues(LAUNCHED, CARRIED)  # order matters
    assert not continues(ROOM, DOCK)  # "The dock …" names its subject
    assert not continues(OFFICE, CARRIED)  # no pronoun
    other = Evidence("other", "other:0", CARRIED.start, CARRIED.end, CARRIED.text, "", 0.3, 0.5, 0.8, 0, lang="en")
    assert not continues(other, LAUNCHED)  # another document


def test_a_continued_sentence_is_followed_by_its_continuation_wherever_that_ranks():
    ranked = [LAUNCHED, DOCK, ROOM, OFFICE, CARRIED]
    assert with_continuations(ranked[:3], ranked, [LAUNCHED]) == [LAUNCHED, CARRIED, DOCK, ROOM]
    # a sentence that is not an anchor is not extended
    assert with_continuations(ranked[:3], ranked, [DOCK]) == ranked[:3]


def test_a_sentence_referring_back_is_preceded_by_the_one_it_continues():
    ranked = [CARRIED, DOCK, LAUNCHED, ROOM]
    assert with_continuations(ranked[:3], ranked, [CARRIED]) == [LAUNCHED, CARRIED, DOCK]
    assert with_continuations(ranked[:2], ranked, [CARRIED]) == [LAUNCHED, CARRIED, DOCK]


def test_the_judge_reads_the_best_sentence_with_what_it_refers_back_to():
    question = "How many passengers did the night crossing carry?"
    ranked = [CARRIED, DOCK, ROOM, LAUNCHED]
    sentences, _ = judged_view(EvidenceSet(question, "en", ranked), "never")
    assert sentences == [LAUNCHED.text, CARRIED.text, DOCK.text, ROOM.text]
    # in Chinese nothing is moved (the pronoun test is English)
    zh = [_ev(e.text, e.score, lang="zh") for e in ranked]
    assert judged_view(EvidenceSet(question, "zh", zh), "never")[0] == [e.text for e in zh[:3]]


def test_the_model_reads_the_continuation_of_a_relevant_sentence():
    question = "How many passengers did the night crossing carry?"
    evidence = EvidenceSet(question, "en", [LAUNCHED, DOCK, ROOM, OFFICE, CARRIED], answerable=True)
    llm = FakeLLM().enqueue("12,300 passengers. [2]")
    backend = GroundedLLMBackend("fake", llm, Verifier(None))
    items = list(backend.answer(question, evidence, []))
    prompt = llm.prompts[0]
    assert f"[1] {LAUNCHED.text}\n[2] {CARRIED.text}\n[3] {DOCK.text}" in prompt
    draft = items[-1]
    assert draft.grounding == "verified" and draft.text == "12,300 passengers.[1]"
    assert [c.text for c in draft.citations] == [CARRIED.text]


def test_the_sentence_a_relevant_one_refers_back_to_is_relevant_too():
    # "What did the skipper launch?" ranks the pronoun sentence first: the one it continues supports the answer
    assert continued([CARRIED], [CARRIED, DOCK, LAUNCHED]) == [CARRIED, LAUNCHED]
    assert continued([CARRIED], [CARRIED, DOCK]) == [CARRIED]


MEET = "A record crowd of 6,400 attended the two-day meet at Riverside Stadium. "
WEEKEND = "About 39,500 visitors came to the county over the weekend."
RESULTS = MEET + WEEKEND


def _results_ev(sentence: str, score: float, coverage: float, missing: list[str]) -> Evidence:
    start = RESULTS.index(sentence)
    return Evidence("results", "results:0", start, start + len(sentence), sentence, "", score, coverage, 0.8, 0,
                    lang="en", missing=missing)


def _strayed_run(*replies: str):
    question = "How many people attended the Riverside meet?"  # key terms: people, attended, riverside, meet
    best = _results_ev(MEET.strip(), 0.86, 0.75, ["people"])
    sibling = _results_ev(WEEKEND, 0.4, 0.25, ["attended", "riverside", "meet"])
    evidence = EvidenceSet(question, "en", [best, sibling], answerable=True)
    llm = FakeLLM().enqueue(*replies)
    backend = GroundedLLMBackend("fake", llm, Verifier(None), judge=_Copier("39,500 visitors"))
    return list(backend.answer(question, evidence, []))[-1], llm


def test_an_answer_taken_from_a_sibling_is_asked_again_over_the_best_sentence():
    draft, llm = _strayed_run("39,500 visitors attended. [2]", "6,400 people attended. [1]")
    assert len(llm.prompts) == 2 and WEEKEND not in llm.prompts[1].split("Sources:")[-1]
    assert draft.grounding == "verified" and draft.text == "6,400 people attended.[1]"
    assert [c.text for c in draft.citations] == [MEET.strip()]


def test_a_retry_that_fails_too_leaves_the_quote_of_the_best_sentence():
    draft, llm = _strayed_run("39,500 visitors attended. [2]", "Nobody knows. [1]")
    assert len(llm.prompts) == 2
    assert draft.grounding == "fallback" and [c.text for c in draft.citations] == [MEET.strip()]
    assert draft.copied_from is not None and draft.copied_from.text == WEEKEND


def test_a_verb_after_a_number_is_not_its_unit():
    from rag.verify import claimed_quantities, quantities, quantities_supported

    crowd = "A record crowd of 6,400 attended the two-day meet at Riverside Stadium."
    assert quantities_supported(claimed_quantities("6,400 people attended."), crowd)
    assert quantities_supported(claimed_quantities("6,400 people."), crowd)
    # a unit phrase that goes on past its participle is still a unit, and units still have to agree
    assert quantities("1,000 registered voters")[0].unit == ("en", "registered", "voters")
    assert not quantities_supported(claimed_quantities("1,240 volunteers."), "Volunteers gave 1,240 hours in all.")
