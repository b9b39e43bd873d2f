"""Questions over sources in the other language: the pair's own thresholds, and answers in the question's language."""

from rag.backends.extractive import quote
from rag.backends.generative import build_messages
from rag.config import GroundingSettings, PairThresholds
from rag.evidence import Evidence, EvidenceSet
from rag.grounding import GroundingPolicy

STRICT = PairThresholds(min_score=0.7, min_coverage=0.5, strong=0.8)
ACROSS = PairThresholds(min_score=0.3, min_coverage=0.0, strong=0.0)


def _evidence(question: str, q_lang: str, texts: list[str], s_lang: str, score: float = 0.5,
              coverage: float = 0.0) -> EvidenceSet:
    ranked, start = [], 0
    for i, text in enumerate(texts):
        ranked.append(Evidence("doc", f"doc:{i}", start, start + len(text), text, "", score - i * 0.01, coverage, 0.9,
                               0, None, text, coverage, [], s_lang))
        start += len(text) + 1
    return EvidenceSet(question, q_lang, ranked)


def test_the_pair_is_question_language_then_source_language_and_picks_its_thresholds():
    policy = GroundingPolicy(GroundingSettings(pairs={"en-en": STRICT, "zh-zh": STRICT, "en-zh": ACROSS,
                                                      "zh-en": ACROSS}))
    over_chinese = _evidence("How many days is the holiday?", "en", ["2025年春节放假共8天。"], "zh")
    over_english = _evidence("How many days is the holiday?", "en", ["The holiday lasts 8 days."], "en")
    assert over_chinese.pair == "en-zh" and policy.decide(over_chinese.question, over_chinese).answer
    assert over_english.pair == "en-en"
    assert policy.decide(over_english.question, over_english).reason == "no_evidence"
    chinese_over_english = _evidence("假期有几天？", "zh", ["The holiday lasts 8 days."], "en", score=0.2)
    assert chinese_over_english.pair == "zh-en"
    assert policy.decide(chinese_over_english.question, chinese_over_english).reason == "no_evidence"


def test_an_extractive_quote_across_languages_is_introduced_in_the_questions_language():
    en_over_zh = quote(_evidence("How many days is the holiday?", "en", ["2025年春节放假共8天。"], "zh"))
    assert en_over_zh.text.startswith("The closest passage in the documents (Chinese): 2025年春节放假共8天。[1]")
    assert "According to the documents" not in en_over_zh.text
    zh_over_en = quote(_evidence("假期有几天？", "zh", ["The holiday lasts 8 days."], "en"))
    assert zh_over_en.text.startswith("文档中最相关的原文（英文）：The holiday lasts 8 days.[1]")
    same = quote(_evidence("How many days is the holiday?", "en", ["The holiday lasts 8 days."], "en"))
    assert same.text == "According to the documents: The holiday lasts 8 days.[1]"
    # in an index of both languages the label follows the quoted sentences, not the best one's language alone
    mixed = _evidence("假期有几天？", "zh", ["The holiday lasts 8 days."], "en")
    chinese = _evidence("假期有几天？", "zh", ["春节放假共8天。"], "zh").ranked
    assert mixed.pair == "zh-en" and quote(mixed, sentences=chinese).text == "春节放假共8天。[1]"
    # the first quoted sentence sets the lead: an English sentence then its Chinese translation is no Chinese passage
    english = _evidence("How many days is the holiday?", "en", ["The holiday lasts 8 days."], "en")
    both = quote(english, sentences=english.ranked + _evidence("", "en", ["春节放假共8天。"], "zh").ranked)
    assert both.text.startswith("According to the documents: The holiday lasts 8 days.[1]") and "(Chinese)" not in both.text
    first_chinese = quote(english, sentences=_evidence("", "en", ["春节放假共8天。"], "zh").ranked + english.ranked)
    assert first_chinese.text.startswith("The closest passage in the documents (Chinese): 春节放假共8天。[1]")


def test_a_chinese_question_over_english_sources_is_told_to_answer_in_chinese():
    english = _evidence("假期有几天？", "zh", ["The holiday lasts 8 days."], "en").ranked
    chinese = _evidence("假期有几天？", "zh", ["春节放假共8天。"], "zh").ranked
    across = build_messages("假期有几天？", english, "zh")
    within = build_messages("假期有几天？", chinese, "zh")
    assert "请用中文回答" in across[0].content and "请用中文回答" not in within[0].content
    assert len(within) == 2  # a prompt within one language is unchanged: system and question
    example_answer = next(m.content for m in across if m.role.value == "assistant")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in example_answer)  # the worked example answers in Chinese
    assert "The holiday lasts 8 days." in across[-1].content


def test_an_english_question_over_chinese_sources_keeps_its_worked_example():
    chinese = _evidence("How many days is the holiday?", "en", ["春节放假共8天。"], "zh").ranked
    messages = build_messages("How many days is the holiday?", chinese, "en")
    assert "answer in English" in messages[0].content
    assert [m.role.value for m in messages] == ["system", "user", "assistant", "user"]


def test_quoted_english_sentences_keep_a_space_between_them_and_chinese_ones_run_on():
    english = _evidence("How long is the holiday?", "en", ["The holiday lasts 8 days.", "It starts on May 1."], "en")
    english.ranked[1].score = english.ranked[0].score  # both close enough to be quoted
    assert quote(english).text == "According to the documents: The holiday lasts 8 days.[1] It starts on May 1.[2]"
    chinese = _evidence("假期多长？", "zh", ["假期共8天。", "从5月1日开始。"], "zh")
    chinese.ranked[1].score = chinese.ranked[0].score
    assert quote(chinese).text == "假期共8天。[1]从5月1日开始。[2]"
