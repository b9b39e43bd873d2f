"""A sentence about something else than the question asks (another year, occurrence or a sibling thing) is demoted
in the ranking, every candidate alike (#12): a runner-up free of it that holds the answer comes first, and the
question is refused for it only when no free sentence is left to rank first."""

from __future__ import annotations

from llama_index.core.schema import NodeWithScore, TextNode

from conftest import NoSentenceVectors, ZeroEmbedder
from rag.bm25 import BM25
from rag.config import GroundingSettings, PairThresholds
from rag.evidence import EvidenceScorer
from rag.grounding import GroundingPolicy

LOOSE = PairThresholds(min_score=0.05, min_coverage=0.3, strong=0.8)


def _node(text: str) -> NodeWithScore:
    meta = {"doc_id": "d", "doc_name": "d.txt", "chunk_id": "d:0", "start": 0, "end": len(text), "section": ""}
    return NodeWithScore(node=TextNode(id_="d:0", text=text, metadata=meta), score=1.0)


def _score(question: str, text: str):
    nodes = [_node(text)]
    bm25 = BM25.build(["d:0", "x:0"], [text, "An unrelated passage about tides and harbours."])
    return EvidenceScorer(NoSentenceVectors(), ZeroEmbedder()).score(question, nodes, bm25)


def _decide(question: str, evidence) -> str:
    verdict = GroundingPolicy(GroundingSettings(pairs={"zh-zh": LOOSE, "en-en": LOOSE})).decide(question, evidence)
    return "answer" if verdict.answer else verdict.reason


def test_a_runner_up_free_of_a_sibling_ranks_first_and_answers():
    question = "How much will the Westside library branch renovation cost?"
    text = ("The Eastside library branch renovation will cost $7.5 million. "
            "For Westside the council set aside $2 million.")
    evidence = _score(question, text)
    sib = next(e for e in evidence.ranked if e.text.startswith("The Eastside"))
    assert "eastside library" in sib.about_else
    assert evidence.ranked[0].text.startswith("For Westside")
    assert _decide(question, evidence) == "answer"


def test_a_chinese_sibling_is_demoted_below_the_answer():
    question = "青州市国庆节假期旅游收入是多少？"
    text = "青州市春节假期旅游收入达到3.2亿元，接待游客126万人次。国庆节期间，全市收入为2.1亿元。"
    evidence = _score(question, text)
    assert evidence.ranked[0].text.startswith("国庆节期间")
    assert evidence.ranked[-1].about_else
    assert _decide(question, evidence) == "answer"


def test_refused_when_every_candidate_is_about_a_sibling():
    question = "青州市国庆节假期旅游收入是多少？"
    text = "青州市春节假期旅游收入达到3.2亿元。青州市元宵节旅游收入为1.1亿元。"
    evidence = _score(question, text)
    assert all(e.about_else for e in evidence.ranked)
    assert _decide(question, evidence) == "contradiction"



def test_a_sentence_under_another_year_is_about_that_year():
    """The sentence names no year, but the text it follows sets one: it is about that year, not the asked one."""
    question = "东岚大学2024年招收了多少名本科生？"
    text = "第一条 为做好2025年本科招生工作，制定本章程。第四条 学校设有以下六个学院招收本科生。"
    evidence = _score(question, text)
    assert all("another year" in e.about_else for e in evidence.ranked)
    assert _decide(question, evidence) == "contradiction"


def test_a_sentence_under_the_asked_year_is_free():
    question = "东岚大学2025年招收了多少名本科生？"
    text = "第一条 为做好2025年本科招生工作，制定本章程。第三条 学校面向全国招收本科生4200名。"
    evidence = _score(question, text)
    assert not any(e.about_else for e in evidence.ranked)
    assert evidence.ranked[0].text.startswith("第三条")


def test_a_sibling_whose_modifier_is_inside_a_question_word_is_still_a_sibling():
    """"men's race" is a sibling of "women's race": words are compared whole ("men" is inside "women"), and a
    possessive's "s" is no modifier."""
    question = "What was the winning time of the women's race?"
    text = "Daniel Oduya won the men's race in 2:08:41. Lena Kessler won the women's race in 2:24:05."
    evidence = _score(question, text)
    men = next(e for e in evidence.ranked if e.text.startswith("Daniel"))
    assert men.about_else and "men race" in men.about_else
    assert evidence.ranked[0].text.startswith("Lena Kessler")


def test_a_sentence_under_a_siblings_section_is_about_that_sibling_code():
    """"清风A3的滤网可以使用多长时间" over "它的滤网可使用12个月" under the heading 清风A5 (the title names both): the
    sentence is about the A5; under the A3's own heading, or naming the A3 itself, it is not."""
    from rag.evidence import Evidence, about_else, code_sibling

    def ev(text, section):
        return Evidence("d", "c", 0, len(text), text, section, 0.5, 0.5, 0.5, 0, context="两款对比：清风A3与清风A5\n" + section)

    asked = "清风A3的滤网可以使用多长时间？"
    assert code_sibling(asked, ev("它的滤网可使用12个月。", "清风A5")) == ("A5", "A3")
    assert "A5" in about_else(asked, ev("它的滤网可使用12个月。", "清风A5"))
    assert code_sibling(asked, ev("它的滤网可使用12个月。", "清风A3")) is None
    assert code_sibling(asked, ev("卧室较小的家庭可选择A3，客厅更适合A5。", "选购建议")) is None
    assert code_sibling("清风A5的滤网能用多久？", ev("它的滤网可使用12个月。", "清风A5")) is None
    assert code_sibling("What does the K2 cost?", ev("The K5 costs $199.", "")) == ("K5", "K2")
    assert code_sibling("What does the K2 cost?", ev("The T5 costs $199.", "")) is None  # other letters: not a sibling


def _score_under(question: str, text: str, section: str):
    meta = {"doc_id": "d", "doc_name": "d.txt", "chunk_id": "d:0", "start": 0, "end": len(text), "section": section}
    nodes = [NodeWithScore(node=TextNode(id_="d:0", text=text, metadata=meta), score=1.0)]
    bm25 = BM25.build(["d:0", "x:0"], [text, "An unrelated passage about tides and harbours."])
    return EvidenceScorer(NoSentenceVectors(), ZeroEmbedder()).score(question, nodes, bm25)


def test_a_year_in_the_text_before_is_a_comparison_under_a_heading_of_another_year():
    """The heading sets 2025; "比2024年的…" before the maize sentence compares, it does not make it about 2024."""
    question = "禾丰农场2024年玉米平均亩产是多少？"
    text = "水稻平均亩产672公斤，比2024年的641公斤提高31公斤。玉米平均亩产705公斤。"
    evidence = _score_under(question, text, "禾丰农场2025年秋粮收获")
    maize = next(e for e in evidence.ranked if e.text.startswith("玉米"))
    assert "another year" in maize.about_else
    rice = next(e for e in evidence.ranked if e.text.startswith("水稻"))
    assert not rice.about_else  # it names the asked year itself


def test_a_sentence_under_a_heading_of_the_asked_year_is_free():
    question = "禾丰农场2025年玉米平均亩产是多少？"
    text = "水稻平均亩产672公斤，比2024年的641公斤提高31公斤。玉米平均亩产705公斤。"
    evidence = _score_under(question, text, "禾丰农场2025年秋粮收获")
    assert evidence.ranked[0].text.startswith("玉米") and not evidence.ranked[0].about_else
