"""Sentence-by-sentence verification on hand-built evidence: what survives, and which source it is cited to."""

from __future__ import annotations

import numpy as np
import pytest

from rag.evidence import Evidence
from rag.text import REFUSAL
from rag.verify import (Verifier, cited_sentences, clean_sentence, looks_like_refusal, quantities, split_sentences,
                        strip_markers)


def ev(text: str, start: int = 0, vector=None, doc_id: str = "d") -> Evidence:
    return Evidence(doc_id, f"{doc_id}:0", start, start + len(text), text, "", 0.9, 0.5, 0.8, 0, vector=vector)


JOINED = ev("英国于2024年正式加入CPTPP，成为首个域外成员。")
INVEST = ev("日本是英国第三大外资来源国。", start=100)


class FixedEmbedder:
    """Embeds every sentence as the same vector: the cross-language check then rests on the evidence's vector."""

    def __init__(self, vector):
        self.vector = vector
        self.calls = 0

    def get_query_embedding(self, text):
        self.calls += 1
        return self.vector


def test_markers_are_stripped_and_attached_to_their_sentence():
    assert strip_markers("英国于2024年加入[1]【2】(3)[编号4][source 5]。") == "英国于2024年加入。"
    assert cited_sentences("英国于2024年加入[1]。它是首个域外成员【2】。[3]") == [
        ("英国于2024年加入。", {1}), ("它是首个域外成员。", {2, 3})]
    assert split_sentences("The UK joined in 2024 [1]. It was the first [2].") == [
        "The UK joined in 2024.", "It was the first."]


def test_boilerplate_openers_and_refusals_are_recognised():
    assert clean_sentence("根据资料，英国于2024年加入。") == "英国于2024年加入。"
    assert clean_sentence("according to the documents, the UK joined.") == "The UK joined."
    assert looks_like_refusal("文档中没有找到相关信息，无法回答该问题。[1]")
    assert looks_like_refusal("The sources do not contain the answer.")
    assert not looks_like_refusal("英国于2024年加入。")


@pytest.mark.parametrize("text", [
    REFUSAL["zh"], REFUSAL["en"],
    "The documents do not mention who chaired the meeting.",
    "The sources don't say when the programme starts [1].",
    "The provided context does not contain this information.",
    "The documents do not explicitly mention the budget.",
    "The date is not mentioned in the sources.",
    "There is no information about the budget in the documents.",
    "I cannot answer this question from the sources.",
    "资料中没有提到举行会议的城市。",
    "文档中并未提及该协议的期限。",
    "根据提供的资料，无法确定会议地点。",
    "未找到相关信息。",
    "无法回答该问题。",
])
def test_common_refusal_phrasings_are_recognised(text):
    assert looks_like_refusal(text)


@pytest.mark.parametrize("text", [
    "The agreement does not contain a sunset clause [1].",
    "The UK did not join the EU customs union; it joined the CPTPP in 2024 [1].",
    "This is not a trade agreement but a security dialogue.",
    "英国没有加入欧盟关税同盟，而是于2024年加入CPTPP[1]。",
    "日本没有提供军事援助。",
])
def test_an_answer_with_a_negation_is_not_a_refusal(text):
    assert not looks_like_refusal(text)


def test_a_supported_sentence_is_kept_and_an_invented_one_dropped():
    verifier = Verifier(embedder=None)  # within one language no embedding is needed
    kept = verifier.verify("英国于2024年正式加入CPTPP[2]。英国于2030年加入了北约[1]。", [JOINED, INVEST],
                           "英国哪一年加入CPTPP？")
    assert [(s.text, s.evidence) for s in kept] == [("英国于2024年正式加入CPTPP。", JOINED)]


def test_a_number_must_appear_in_the_supporting_sentence():
    verifier = Verifier(embedder=None)
    assert verifier.verify("英国于2025年正式加入CPTPP，成为首个域外成员。", [JOINED], "英国哪一年加入CPTPP？") == []


def test_a_sentence_that_only_repeats_the_question_is_not_an_answer():
    assert Verifier(embedder=None).support("英国加入CPTPP", [JOINED], "英国哪一年加入CPTPP？") is None


def test_the_cited_source_wins_when_both_support_the_sentence():
    twin = ev("英国于2024年正式加入CPTPP，成为首个域外成员。", start=200, doc_id="e")
    verifier = Verifier(embedder=None)
    assert verifier.verify("英国于2024年正式加入CPTPP[2]。", [JOINED, twin], "哪一年？")[0].evidence is twin
    assert verifier.verify("英国于2024年正式加入CPTPP[1]。", [JOINED, twin], "哪一年？")[0].evidence is JOINED


def test_across_languages_the_embedding_vouches_only_above_its_threshold():
    unit = np.ones(4, dtype=np.float32) / 2.0  # norm 1
    near = ev(JOINED.text, vector=unit)
    far = ev(JOINED.text, vector=np.array([1, 0, 0, 0], dtype=np.float32))  # cosine 0.5 with `unit`
    sentence = "The UK formally joined the CPTPP in 2024."
    embedder = FixedEmbedder(unit)
    assert Verifier(embedder).support(sentence, [near], "When did the UK join?").evidence is near
    assert Verifier(embedder).support(sentence, [far], "When did the UK join?") is None
    assert embedder.calls == 2


def vouched(text: str) -> tuple[Evidence, Verifier]:
    """A Chinese source and a verifier whose embedding always vouches for it: only the other checks can fail."""
    unit = np.ones(4, dtype=np.float32) / 2.0
    return ev(text, vector=unit), Verifier(FixedEmbedder(unit))


def test_a_chinese_name_of_the_sources_written_in_pinyin_can_be_vouched_for_an_invented_one_cannot():
    leader, verifier = vouched("项目负责人为县水务集团副总经理周立群。")
    question = "Who leads the project?"
    assert verifier.support("The project is led by Zhou Liqun.", [leader], question).evidence is leader
    assert verifier.support("It is led by Zhou Li-qun, the deputy manager.", [leader], question) is not None
    assert verifier.support("The project is led by Wang Fang.", [leader], question) is None
    assert verifier.support("The project is led by Zhou Liming.", [leader], question) is None


# --- a number is supported only as the same value with a compatible unit -------------------------------------------

GARDEN = ev("Volunteers logged 1,240 hours in the community garden last year.", doc_id="g")
EXAMS = ev("2024年考研报名人数为438万人，高考报名人数为1342万人。", doc_id="x")
REVENUE = ev("公司2023年收入为1193万元，员工共有85名。", doc_id="r")


@pytest.mark.parametrize("answer, evidence", [
    ("The garden has 1,240 volunteers.", GARDEN),  # the span counts hours
    ("考研报名人数为1342万人，高考报名人数为1342万人。", EXAMS),  # one figure copied into both slots
    ("考研报名人数为1342万，高考报名人数为1342万。", EXAMS),  # the same without a unit
    ("公司2023年收入为119亿元。", REVENUE),  # 119 is only a part of 1193
    ("公司2023年收入为1193万美元。", REVENUE),  # another currency
    ("公司员工共有85天。", REVENUE),  # a count of people read as days
])
def test_a_number_with_another_unit_or_value_is_not_supported(answer, evidence):
    assert Verifier(embedder=None).verify(answer, [evidence], "?") == []


@pytest.mark.parametrize("answer, evidence", [
    ("Volunteers logged 1,240 hours.", GARDEN),
    ("They logged 1,240 hours.", ev("They logged 1,240 volunteer hours at the garden.")),  # adjective between
    ("The garden logged 1,240 volunteer hours.", GARDEN),  # the answer's phrase shares the span's unit
    ("The garden counted 1,240 in total.", GARDEN),  # a number without a unit: only its value is checked
    ("Delivery takes 5 days.", ev("Delivery takes 3 to 5 days.")),  # a range states its unit once
    ("Delivery takes 3 days at least.", ev("Delivery takes 3 to 5 days.")),
    ("The city has about 2.4 million residents.", ev("The city has 2,400,000 residents.")),
    ("The city has 2,400,000 residents.", ev("The city has 2.4 million residents.")),
    ("Prices rose 12 percent.", ev("Prices rose 12% in March.")),
    ("The garden opened in 2019 with volunteers.", ev("The garden opened in 2019, run by volunteers.")),
    ("公司2023年收入为1193万元。", REVENUE),
    ("公司2023年收入为1193万元，员工共有85人。", REVENUE),  # 名 and 人 both count people
    ("考研报名人数为438万人，高考报名人数为1342万人。", EXAMS),
    ("报名人数约为4380000人。", ev("考研报名人数为438万人。")),  # 万 scales the value
    ("Objects fall at 9.81 meters per second squared (9.81 m/s²).",  # a value restated in one clause
     ev("Near the surface, objects fall at 9.81 meters per second squared.")),
])
def test_the_same_value_with_a_compatible_unit_is_supported(answer, evidence):
    kept = Verifier(embedder=None).verify(answer, [evidence], "?")
    assert [s.evidence for s in kept] == [evidence]


def test_units_are_compared_only_within_one_language():
    near, verifier = vouched("考研报名人数为438万人。")
    question = "How many people registered for the graduate exam?"
    assert verifier.support("4.38 million people registered for the graduate exam.", [near], question).evidence is near
    assert verifier.support("4.83 million people registered for the graduate exam.", [near], question) is None


@pytest.mark.parametrize("text, expected", [
    ("1,240 volunteer hours", [(1240.0, ("en", "volunteer", "hours"))]),
    ("2.4 million people", [(2.4e6, ("en", "people"))]),
    ("1193万人", [(1.193e7, ("zh", "人"))]),
    ("119亿元", [(1.19e10, ("zh", "元"))]),
    ("3至5天", [(3.0, ("zh", "天")), (5.0, ("zh", "天"))]),
    ("in 2019 volunteers", [(2019.0, ())]),  # a year does not count the word after it
    ("May 5, 2019", [(5.0, ()), (2019.0, ())]),
    ("12.5%", [(12.5, ("%",))]),
])
def test_quantities_read_value_and_unit(text, expected):
    assert [(q.value, q.unit) for q in quantities(text)] == expected


def test_a_year_the_question_states_is_restated_when_the_sentence_leaves_it_to_its_title():
    from rag.evidence import Evidence

    def ev(text, context):
        return Evidence("d", "d:0", 0, len(text), text, "五一假期", 0.8, 0.7, 0.9, 0, None, context, 0.7, [], "zh")

    v = Verifier(None)
    question = "临江市2025年五一假期星级酒店平均入住率是多少？"
    answer = "临江市2025年五一假期星级酒店平均入住率是86%。"
    rate = "全市星级酒店平均入住率达到86%，比上年提高4个百分点。"
    assert v.support(answer, [ev(rate, "临江市2025年节假日旅游数据\n五一假期")], question) is not None
    # the sentence's context does not state the year: the answer claims it
    assert v.support(answer, [ev(rate, "临江市节假日旅游数据\n五一假期")], question) is None
    # a sentence that names another year is about that year, whatever its title says
    other = "2024年全市星级酒店平均入住率达到86%。"
    assert v.support(answer, [ev(other, "临江市2025年节假日旅游数据\n五一假期")], question) is None
    # a value the question does not state is still a claim the sentence must hold
    assert v.support("临江市2025年五一假期星级酒店平均入住率是87%。", [ev(rate, "临江市2025年节假日旅游数据")],
                     question) is None


def english(text: str) -> Evidence:
    return Evidence("d", "d:0", 0, len(text), text, "", 0.9, 0.5, 0.8, 0, lang="en")


@pytest.mark.parametrize("question, answer, evidence", [
    ("How tall is the tower?", "22 meters.", "The lookout tower, built in 1932, stands 22 metres tall."),
    ("How long is the walk?", "3.8 kilometers.", "The Millpond Walk is an easy 3.8-kilometre path."),
    ("Where is the finish?", "At Harbour Square.", "The new finish line is at Harbor Square."),
    ("How long should hikers allow?", "5 to 6 hours.", "Hikers should allow five to six hours."),
    ("How many children did he have?", "Seven children.", "He had 7 children."),
    ("What did the company do?", "It ran three stores.", "The company runs three stores in the city."),
    ("How many visits were counted?", "212 thousand visits.", "Last year the district counted 212,000 visits."),
    ("How much did visits rise?", "9 percent.", "Visits rose 9% from the year before."),
    ("What does the centre offer?", "Free childcare.", "The centre offers free child care."),
])
def test_an_english_answer_may_reword_its_source(question, answer, evidence):
    """Another form, spelling or compound of a word, or a number in words for digits, is the same claim."""
    assert Verifier(None).support(answer, [english(evidence)], question) is not None


@pytest.mark.parametrize("question, answer, evidence", [
    ("How tall is the tower?", "23 meters.", "The lookout tower, built in 1932, stands 22 metres tall."),
    ("How long should hikers allow?", "5 to 7 hours.", "Hikers should allow five to six hours."),
    ("How many children did he have?", "Seven children.", "He had 8 children."),
    ("How many visits were counted?", "212 thousand visits.", "Last year the district counted 21,200 visits."),
    ("What does the centre offer?", "Free parking.", "The centre offers free child care."),
])
def test_a_reworded_english_answer_with_another_value_or_word_is_not_supported(question, answer, evidence):
    assert Verifier(None).support(answer, [english(evidence)], question) is None


@pytest.mark.parametrize("text, unit", [
    ("A crowd of 6,400 attended.", ()),  # what the subject did, not what is counted
    ("Of the members, 310 voted.", ()),
    ("Of the 40 bids, 12 won.", ()),  # an irregular past tense
    ("a 3 speed gearbox", ("en", "speed", "gearbox")),  # "speed" ends in -ed but is no past tense
])
def test_a_past_tense_right_after_a_number_is_not_its_unit(text, unit):
    from rag.verify import quantities

    assert quantities(text)[-1].unit == unit


@pytest.mark.parametrize("question, answer, other", [
    ("How many homes has the Cedar Ridge fire destroyed?", "14,600 acres", True),  # the fire's area, not its homes
    ("How many homes has the Cedar Ridge fire destroyed?", "37 homes.", False),
    ("How many people attended?", "6,400 attended the meet.", False),  # no unit written: not judged
    ("临江市春节接待游客多少人次？", "36.2米", True),
    ("临江市春节接待游客多少人次？", "158万人次", False),
    ("有多少人参加？", "约300名学生参加。", False),  # 人 and 名 count the same
    ("运动会几点开始？", "运动会定于4月18日举行。", True),  # a day for an hour
    ("What was the total budget?", "$312 million", False),  # not a count question
])
def test_an_answer_that_counts_something_else_than_asked(question, answer, other):
    from rag.verify import counts_other

    assert counts_other(question, answer) is other
