"""An English sentence whose subject is a pronoun is read with the sentence it refers back to, by the model and by the
judge (rag/compose.py `with_continuations`, used by rag/backends/generative.py and rag/grounding.py `judged_view`)."""

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
    start = DOC.index(sentence)
    return Evidence(doc, f"{doc}:0", start, start + len(sentence), sentence, "", score, 0.5, 0.8, 0, lang=lang)


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
