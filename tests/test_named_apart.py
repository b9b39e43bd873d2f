"""A key term the best sentence lacks but its document names in another sentence, apart from the best one's value:
that value is another thing's (a sibling branch, station, phase or town), and quoting it answers something else
(session 12, `rag/evidence.py` `named_apart`, checked in the policy as `key_term_missing`)."""

from __future__ import annotations

from conftest import evidence_of

from rag.config import GroundingSettings, PairThresholds
from rag.evidence import EvidenceSet, key_terms, named_apart, term_weights, weighted_coverage
from rag.grounding import GroundingPolicy

LOOSE = PairThresholds(min_score=0.1, min_coverage=0.3, strong=0.8)

ZH_DOC = ("两个院区分工不同。东院区以急诊和创伤为重点，全年急诊量为41.2万人次。"
          "西院区于2023年投入使用，全年分娩新生儿6420名。")
EAST = "东院区以急诊和创伤为重点，全年急诊量为41.2万人次。"
WEST = "西院区于2023年投入使用，全年分娩新生儿6420名。"

EN_DOC = ("Evacuation orders for Marston were lifted on Saturday. "
          "Pine Hollow remains under an evacuation order, and its residents were told to wait. "
          "The Golden Gull went to \"The Salt Orchard\". "
          "The Horizons section was won by \"Quiet Hours\".")


def _ev(question: str, doc: str, sentence: str, score: float, doc_id: str = "report", lang: str = "zh"):
    """Evidence as scoring builds it: coverage and missing terms over the sentence and the text before it."""
    ev = evidence_of(doc, sentence, score, doc=doc_id, lang=lang)
    ev.context = doc[:doc.index(sentence)]
    terms = key_terms(question)
    ev.coverage, ev.missing = weighted_coverage(terms, sentence + "\n" + ev.context, term_weights(question, terms))
    return ev


def _set(question: str, ranked, lang: str = "zh") -> EvidenceSet:
    return EvidenceSet(question, lang, ranked)


def _decide(question: str, ranked, lang: str = "zh", pairs: list[str] | None = None) -> str:
    settings = GroundingSettings(pairs={"zh-zh": LOOSE, "en-en": LOOSE}, anchor_pairs=[], check_types=False,
                                 **({} if pairs is None else {"apart_pairs": pairs}))
    verdict = GroundingPolicy(settings).decide(question, _set(question, ranked, lang))
    return "answer" if verdict.answer else verdict.reason


def test_a_sibling_branchs_figure_is_refused_when_the_asked_branch_is_named_apart():
    q = "西院区全年急诊量是多少？"
    ranked = [_ev(q, ZH_DOC, EAST, 0.9), _ev(q, ZH_DOC, WEST, 0.7)]
    term, holder = named_apart(q, _set(q, ranked))
    assert term == "西院" and holder.text == WEST
    assert _decide(q, ranked) == "key_term_missing"
    assert _decide(q, ranked, pairs=[]) == "answer"  # off for the pair: the sibling's figure is quoted


def test_a_runner_up_that_states_the_asked_thing_with_the_same_words_keeps_the_answer():
    doc = "东院区全年急诊量为41.2万人次。西院区全年急诊量为9.8万人次。"
    q = "西院区全年急诊量是多少？"
    ranked = [_ev(q, doc, "东院区全年急诊量为41.2万人次。", 0.9), _ev(q, doc, "西院区全年急诊量为9.8万人次。", 0.8)]
    assert named_apart(q, _set(q, ranked)) is None  # it may state the answer: not refused here


def test_a_term_named_only_in_another_document_says_nothing_about_this_one():
    q = "西院区全年急诊量是多少？"
    ranked = [_ev(q, ZH_DOC, EAST, 0.9), _ev(q, ZH_DOC, WEST, 0.7, doc_id="other")]
    assert named_apart(q, _set(q, ranked)) is None
    assert _decide(q, ranked) == "answer"


def test_a_name_the_best_sentence_lacks_is_named_apart_in_english():
    q = "When was the evacuation order for Pine Hollow lifted?"
    best = _ev(q, EN_DOC, "Evacuation orders for Marston were lifted on Saturday.", 0.9, lang="en")
    other = _ev(q, EN_DOC, "Pine Hollow remains under an evacuation order, and its residents were told to wait.", 0.5,
                lang="en")
    assert named_apart(q, _set(q, [best, other], "en"))[0] in ("pine", "hollow")
    assert _decide(q, [best, other], "en") == "answer"  # off for en-en by default (a right SQuAD answer lost)
    assert _decide(q, [best, other], "en", pairs=["en-en"]) == "key_term_missing"


def test_an_english_common_noun_the_best_sentence_lacks_is_the_asked_attribute_not_a_thing_apart():
    q = "What was the evacuation order's status in Marston?"  # "status" is named by no sentence as a value
    doc = "Evacuation orders for Marston were lifted on Saturday. The status of every evacuation order is online."
    best = _ev(q, doc, "Evacuation orders for Marston were lifted on Saturday.", 0.9, lang="en")
    other = _ev(q, doc, "The status of every evacuation order is online.", 0.5, lang="en")
    assert "status" in best.missing
    assert named_apart(q, _set(q, [best, other], "en")) is None


def test_a_name_before_the_best_sentence_is_what_the_document_is_about():
    q = "西院区全年急诊量是多少？"
    doc = "西院区全年工作总结。" + "全年急诊量为41.2万人次。"
    best = _ev(q, doc, "全年急诊量为41.2万人次。", 0.9)
    before = _ev(q, doc, "西院区全年工作总结。", 0.5)
    best.context, best.missing = "", ["西院"]  # as when the name lies beyond the text the sentence refers back to
    assert named_apart(q, _set(q, [best, before])) is None


def test_a_line_that_only_names_the_term_says_nothing_apart():
    q = "恒泰精密的客服热线号码是多少？"
    doc = "客服热线400-820-6688节日期间照常开通。\n恒泰精密制造股份有限公司 行政人事部"
    best = _ev(q, doc, "客服热线400-820-6688节日期间照常开通。", 0.9)
    signature = _ev(q, doc, "恒泰精密制造股份有限公司 行政人事部", 0.3)
    assert "恒泰" in best.missing
    assert named_apart(q, _set(q, [best, signature])) is None


def test_a_verb_the_best_sentence_rephrases_is_not_a_thing_named_apart():
    q = "Which film won the Golden Gull?"
    best = _ev(q, EN_DOC, "The Golden Gull went to \"The Salt Orchard\".", 0.9, lang="en")
    other = _ev(q, EN_DOC, "The Horizons section was won by \"Quiet Hours\".", 0.5, lang="en")
    assert "won" in best.missing
    assert named_apart(q, _set(q, [best, other], "en")) is None  # "won" told as "went to"
    assert _decide(q, [best, other], "en") == "answer"


def test_a_role_the_question_words_noun_restates_is_not_named_apart():
    """"英国方面代表是哪两位大臣": the best sentence names the two 大臣 without calling them 代表, and a later sentence
    of the document ("日英两国代表在本次会议中指出…") uses 代表 for the meeting's delegates in general."""
    doc = ("3月7日,英国外交大臣拉米、商业和贸易大臣雷诺兹在东京出席首次会议。"
           "日英两国代表在本次会议中指出,国际经济秩序正面临挑战。")
    best = "3月7日,英国外交大臣拉米、商业和贸易大臣雷诺兹在东京出席首次会议。"
    later = "日英两国代表在本次会议中指出,国际经济秩序正面临挑战。"
    q = "出席首次会议的英国方面代表是哪两位大臣？"
    assert named_apart(q, _set(q, [_ev(q, doc, best, 0.9), _ev(q, doc, later, 0.5)])) is None
    q = "出席首次会议的英国方面代表是谁？"  # no noun after the question word: 代表 stays the asked role
    assert named_apart(q, _set(q, [_ev(q, doc, best, 0.9), _ev(q, doc, later, 0.5)]))[0] == "代表"
