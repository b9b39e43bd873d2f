"""What the judge is shown beside a single sentence (`judge_sources="needed"`): the document's title and section
heading, only when the sentence leaves some of the question's key terms to them. A sentence that does not name its
subject ("It serves 40 boats a day") is answered for its document's subject; one that names everything asked is
judged bare, so a heading cannot vouch for a same-topic question the sentence does not answer."""

from __future__ import annotations

from test_evidence_context import _score, _sentence, _stored

from rag.config import GroundingSettings, PairThresholds
from rag.grounding import GroundingPolicy, document_name, headings, judged_view, needed_source, source_of
from rag.evidence import key_terms


class Recorder:
    def __init__(self, p: float):
        self.p, self.sources = p, "unset"

    def probability(self, question, sentences, lang, sources=None):
        self.sentences, self.sources = sentences, sources
        return self.p


def _scored(question: str, fresh_settings):
    store, nodes = _stored(fresh_settings)
    return _score(question, nodes, store)


def test_scored_context_gives_the_documents_name_title_and_section(fresh_settings):
    ev = _scored("Who is the harbour master of Pinecrest Marina?", fresh_settings)
    tom = _sentence(ev, "Her deputy is Tom Reyes")
    assert document_name(tom) == "marina"
    assert headings(tom) == ["Pinecrest Marina: 2026 Season Report", "Staff"]
    assert source_of(tom) == "marina · Staff"


def test_a_sentence_lacking_the_subject_is_shown_with_its_headings(fresh_settings):
    question = "How many boats a day does Pinecrest Marina serve during the summer?"
    serves = _sentence(_scored(question, fresh_settings), "It serves 40 boats")
    assert needed_source(serves, key_terms(question)) == "Pinecrest Marina: 2026 Season Report · Docks"


def test_a_gap_the_headings_do_not_fill_leaves_the_sentence_bare(fresh_settings):
    # "fuel pier" is in the sentence before, not in a heading: the headings would only vouch for the marina
    question = "How many boats a day does the Pinecrest Marina fuel pier serve?"
    serves = _sentence(_scored(question, fresh_settings), "It serves 40 boats")
    assert needed_source(serves, key_terms(question)) == ""
    # a sentence that names every key term needs no heading either
    named = "Who is the deputy of the harbour master?"
    assert needed_source(_sentence(_scored(named, fresh_settings), "Her deputy is Tom Reyes"), key_terms(named)) == ""


def test_needed_sources_reach_the_judge_only_where_a_heading_fills_a_gap(fresh_settings):
    th = PairThresholds(min_score=0.0, min_coverage=0.0, strong=2.0, min_judge=0.5)
    ev = _scored("How many boats a day does Pinecrest Marina serve during the summer?", fresh_settings)
    ev.ranked.insert(0, _sentence(ev, "It serves 40 boats"))
    judge = Recorder(0.9)
    GroundingPolicy(GroundingSettings(pairs={"en-en": th}, judge_sources="needed")).decide(ev.question, ev, judge=judge)
    # the sentence it continues is read right before it (rag/compose.py `with_continuations`)
    at = next(i for i, s in enumerate(judge.sentences) if s.startswith("It serves 40 boats"))
    assert judge.sentences[at - 1].startswith("A new fuel pier opened in August")
    assert judge.sources[at] == "Pinecrest Marina: 2026 Season Report · Docks"
    for setting in ("never", "lists"):  # single sentences stay bare there
        judge = Recorder(0.9)
        GroundingPolicy(GroundingSettings(pairs={"en-en": th}, judge_sources=setting)).decide(ev.question, ev,
                                                                                               judge=judge)
        assert judge.sources is None


def test_no_heading_fills_a_gap_means_no_sources_at_all(fresh_settings):
    ev = _scored("Who is Tom Reyes the deputy of?", fresh_settings)
    ev.ranked.insert(0, _sentence(ev, "Her deputy is Tom Reyes"))
    sentences, sources = judged_view(ev, "needed")
    at = next(i for i, s in enumerate(sentences) if s.startswith("Her deputy is Tom Reyes"))
    assert sources is None or sources[at] == ""


def test_a_spare_term_lets_the_headings_show_though_the_sentence_words_the_asked_thing_its_own_way(fresh_settings):
    # "vessels" is in neither the sentence ("boats") nor a heading; the headings hold the rest it lacks (the marina)
    question = "How many vessels a day does Pinecrest Marina serve during the summer?"
    serves = _sentence(_scored(question, fresh_settings), "It serves 40 boats")
    terms = key_terms(question)
    assert needed_source(serves, terms) == ""
    assert needed_source(serves, terms, spare=1) == "Pinecrest Marina: 2026 Season Report · Docks"
    # two terms neither holds (another thing asked about, worded its own way): still bare
    other = "How many vessels a day does the Pinecrest Marina ferry serve?"
    assert needed_source(serves, key_terms(other), spare=1) == ""


def test_the_policy_shows_the_judge_the_headings_its_spare_terms_allow(fresh_settings):
    th = PairThresholds(min_score=0.0, min_coverage=0.0, strong=2.0, min_judge=0.5)
    ev = _scored("How many vessels a day does Pinecrest Marina serve during the summer?", fresh_settings)
    ev.ranked.insert(0, _sentence(ev, "It serves 40 boats"))
    for spare, shown in ((0, False), (1, True)):
        judge = Recorder(0.9)
        settings = GroundingSettings(pairs={"en-en": th}, judge_sources="needed", spare_terms=spare)
        GroundingPolicy(settings).decide(ev.question, ev, judge=judge)
        at = next(i for i, s in enumerate(judge.sentences) if s.startswith("It serves 40 boats"))
        assert (judge.sources is not None and judge.sources[at] == "Pinecrest Marina: 2026 Season Report · Docks") \
            is shown
