"""The word an asked value hangs on (#12): a "when" asks the date of one event, a "who" the holder of one role. A
sentence that gives a date or a name without that word gives another event's or person's, and the policy refuses it
(`key_term_missing`) where the pair is checked; a verb right after 什么时候 / 何时 is that event, not a kind of thing."""

from __future__ import annotations

import pytest
from conftest import evidence_of

from rag.config import GroundingSettings, PairThresholds
from rag.evidence import EvidenceSet, anchor, asked_for, key_terms, names_anchor
from rag.grounding import GroundingPolicy

LOOSE = PairThresholds(min_score=0.5, min_coverage=0.3, strong=0.8)

ZH_DOC = ("明湖区体育中心2025年建设进展\n"
          "明湖区体育中心游泳馆扩建项目计划于2026年5月开工，总投资约1200万元。"
          "中心副主任林晓东负责项目协调。体育中心全年接待市民约9.5万人次。")
EN_DOC = ("Fairhaven Transit: Spring Bulletin\n"
          "Work on the eastern tram extension is scheduled to start in 2029. "
          "The night bus fare rose by 5 percent in March. "
          "Ridership on the harbour ferry reached 410,000 trips.")


@pytest.mark.parametrize("question, word", [
    ("游泳馆扩建项目什么时候竣工？", "竣工"),  # after 什么时候: the event the date is of
    ("游泳馆扩建项目何时完工？", "完工"),
    ("体育中心主任是谁？", "主任"),  # nothing after the question word: the role before it
    ("体育中心副主任是谁？", "副主任"),  # with a one-character prefix jieba split off
    ("游泳馆扩建项目总投资是多少？", "总投资"),
    ("游泳馆建筑总面积为多少平方米？", "总面积"),  # not the value's unit
    ("演出什么时候开始？", "开始"),
    ("When will the eastern tram extension be completed?", "completed"),  # a participle after be
    ("How much did the night bus fare rise?", "rise"),  # a bare verb after did
])
def test_the_anchor_is_the_word_the_value_hangs_on(question, word):
    assert anchor(question) == word


@pytest.mark.parametrize("question", [
    "Who is the director of Fairhaven Transit?",  # after "is" only a participle would be the verb
    "What was the ferry's ridership?",  # no asked type
    "体育中心在城市规划中有什么作用",  # no value of a kind is asked
    "演出由谁主持？",  # who did it is often told with another verb: only a date's verb is its anchor
    "那次会议有哪两位大臣出席？",
    "快煮模式需要多长时间？",  # a light verb before the question word is no event
])
def test_no_anchor_without_an_asked_value_or_verb(question):
    assert anchor(question) == ""


def test_a_verb_after_what_time_is_a_key_term_not_an_asked_kind():
    assert "竣工" in key_terms("游泳馆扩建项目什么时候竣工？")
    assert "完工" in key_terms("游泳馆扩建项目何时完工？")
    assert "成立" in key_terms("该协会是哪一年成立的？")
    assert asked_for("哪三个目标已经完成？") == {"目标"}  # the noun right after a question word still is the kind
    assert asked_for("两国正在研发哪些武器？") == {"武器"}
    assert asked_for("Which substances are toxic?") == {"substances"}


def test_an_english_anchor_is_found_in_any_form():
    assert names_anchor("rise", "The night bus fare rose by 5 percent in March.")
    assert names_anchor("begin", "Construction began in 1990.")
    assert not names_anchor("completed", "Work is scheduled to start in 2029.")
    assert names_anchor("主持人", "会议由林晓东主持。")  # a word of the compound names it
    assert not names_anchor("副主任", "中心主任由林晓东担任。")  # its head without the prefix is another role


def _decide(question: str, doc: str, sentence: str, lang: str, pairs: list[str]) -> str:
    policy = GroundingPolicy(GroundingSettings(pairs={"zh-zh": LOOSE, "en-en": LOOSE}, anchor_pairs=pairs))
    evidence = EvidenceSet(question, lang, [_covering(doc, sentence, 0.95, lang)])
    verdict = policy.decide(question, evidence)
    return "answer" if verdict.answer else f"{verdict.reason}: {verdict.detail}"


def _covering(doc: str, sentence: str, score: float, lang: str):
    ev = evidence_of(doc, sentence, score, lang=lang)
    ev.coverage = 1.0  # every other key term is there: only the anchor decides
    return ev


START_ZH = "明湖区体育中心游泳馆扩建项目计划于2026年5月开工，总投资约1200万元。"
START_EN = "Work on the eastern tram extension is scheduled to start in 2029."


@pytest.mark.parametrize("question, sentence, lang, expected", [
    ("游泳馆扩建项目什么时候竣工？", START_ZH, "zh", "key_term_missing: no selected sentence names “竣工”, what the "
                                                 "asked value hangs on"),  # 开工 is another event of the same kind
    ("游泳馆扩建项目什么时候开工？", START_ZH, "zh", "answer"),
    ("体育中心主任是谁？", "体育中心全年接待市民约9.5万人次。", "zh", "key_term_missing: no selected sentence names "
                                                          "“主任”, what the asked value hangs on"),
    ("When will the eastern tram extension be completed?", START_EN, "en", "key_term_missing: no selected sentence "
                                                                        "names “completed”, what the asked value hangs on"),
    ("When will work on the eastern tram extension start?", START_EN, "en", "answer"),
    # the noun the question word carries says what is asked more exactly than the role before it
])
def test_a_value_of_another_event_is_refused(question, sentence, lang, expected):
    doc = ZH_DOC if lang == "zh" else EN_DOC
    assert _decide(question, doc, sentence, lang, ["zh-zh", "en-en"]) == expected


def test_the_noun_the_question_word_carries_may_stand_for_the_role_before_it():
    """"英国方面代表是哪两位大臣" is answered by a sentence naming the 大臣 without calling them 代表."""
    doc = "日英经济对话\n英国外交大臣拉米、商业和贸易大臣雷诺兹出席了首次会议。会议在东京举行。"
    question = "出席首次会议的英国方面代表是哪两位大臣？"
    assert anchor(question) == "代表" and asked_for(question) == {"大臣"}
    assert _decide(question, doc, "英国外交大臣拉米、商业和贸易大臣雷诺兹出席了首次会议。", "zh", ["zh-zh"]) == "answer"
    assert _decide(question, doc, "会议在东京举行。", "zh", ["zh-zh"]).startswith("key_term_missing")


def test_only_the_checked_pairs_refuse_for_it():
    question = "When will the eastern tram extension be completed?"
    assert _decide(question, EN_DOC, START_EN, "en", ["zh-zh"]) == "answer"
    assert _decide("游泳馆扩建项目什么时候竣工？", ZH_DOC, START_ZH, "zh", []) == "answer"


def test_a_runner_up_that_names_it_keeps_the_answer():
    question = "游泳馆扩建项目什么时候竣工？"
    done = ZH_DOC + "项目预计于2027年10月竣工。"
    policy = GroundingPolicy(GroundingSettings(pairs={"zh-zh": LOOSE}, anchor_pairs=["zh-zh"]))
    evidence = EvidenceSet(question, "zh", [_covering(done, START_ZH, 0.95, "zh"),
                                            _covering(done, "项目预计于2027年10月竣工。", 0.9, "zh")])
    assert policy.decide(question, evidence).answer
    evidence.ranked[1].score = 0.5  # not selected beside the best: the quote would not hold it
    assert policy.decide(question, evidence).reason == "key_term_missing"
