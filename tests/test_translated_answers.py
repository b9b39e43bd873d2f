"""English answers over Chinese sources: checked by what survives translation (numbers, Latin terms, pinyin names),
cited to the Chinese span; a quote that stands in says it is in the source's language."""

from rag.backends.generative import GroundedLLMBackend, build_messages
from rag.compose import quote_parts
from rag.evidence import Evidence, EvidenceSet
from rag.llm import FakeLLM
from rag.verify import Verifier, anchored_share, spelled_values

from conftest import ZeroEmbedder


def _ev(text: str, score: float, lang: str = "zh", context: str = "", start: int = 0) -> Evidence:
    return Evidence("doc", f"doc:{start}", start, start + len(text), text, "", score, 0.0, 0.9, 0, None,
                    context or text, 0.0, [], lang)


def _evidence(question: str, sentences: list[Evidence]) -> EvidenceSet:
    return EvidenceSet(question, "en", sentences, answerable=True)


def _backend() -> GroundedLLMBackend:
    return GroundedLLMBackend("fake", FakeLLM(), Verifier(ZeroEmbedder()))


def test_numbers_spelled_in_words_are_compared_by_value():
    assert spelled_values("计划配备战舰六艘、装甲巡洋舰六艘为核心，十年内建成。") == {6.0, 10.0}
    assert spelled_values("Six.") == {6.0}
    assert spelled_values("统一规划") == set()  # a numeral without a measure word is part of a word


def test_a_translated_short_answer_is_supported_by_its_number_and_units():
    plan = _ev("特别是，日本公布了十年海军建造的大计，计划配备战舰六艘、装甲巡洋舰六艘为核心。", 0.6)
    age = _ev("叶乔波10岁进入长春市业余体校速滑班，12岁入选八一速滑队。", 0.6)
    assert anchored_share("Six.", {"six"}, plan) == 1.0
    assert anchored_share("Seven.", {"seven"}, plan) == 0.0
    assert anchored_share("12 years old.", {"12", "years", "old"}, age) == 1.0
    assert anchored_share("13 years old.", {"13", "years", "old"}, age) == 0.0
    verifier = Verifier(ZeroEmbedder())
    q = "How many battleships did the plan call for?"
    assert verifier.support("Six battleships.", [plan], q).evidence is plan
    assert verifier.support("Eight battleships.", [plan], q) is None
    assert verifier.support("8 battleships.", [plan], q) is None


def test_a_year_the_sentence_leaves_to_its_chunk_supports_a_translated_date():
    chunk = "津蓟铁路市郊列车开通的消息于2015年4月17日被证实。目前客票已开始发售，4月30日正式开通运营。"
    sentence = _ev("目前客票已开始发售，4月30日正式开通运营。", 0.5, context=chunk)
    verifier = Verifier(ZeroEmbedder())
    q = "On what date did the suburban trains enter service?"
    assert verifier.support("April 30, 2015.", [sentence], q).evidence is sentence
    assert verifier.support("April 30, 2016.", [sentence], q) is None
    assert verifier.support("May 30, 2015.", [sentence], q) is None


def test_a_cited_sentence_ranked_below_the_share_supports_a_translated_answer_by_its_latin_term():
    q = "Which service mesh was chosen for the Kubernetes migration?"
    best = _ev("技术委员会决定于2025年第二季度将订单系统迁移到 Kubernetes 集群。", 0.52)
    mesh = _ev("容器运行时采用 containerd，服务网格选用 Istio 1.22，流水线基于 GitLab CI。", 0.36, start=100)
    draft = _backend().finish("Istio 1.22. [2]", [best, mesh], _evidence(q, [best, mesh]))
    assert draft.grounding == "verified" and draft.text == "Istio 1.22.[1]"
    assert [c.text for c in draft.citations] == [mesh.text]
    # a number the low-ranked sentence does not state is not supported there: the quote stands in, marked as Chinese
    wrong = _backend().finish("Istio 1.23. [2]", [best, mesh], _evidence(q, [best, mesh]))
    assert wrong.grounding == "fallback" and wrong.text.startswith("The closest passage in the documents (Chinese): ")


def test_a_low_ranked_sentence_in_the_questions_own_language_still_cannot_support():
    q = "Which service mesh was chosen?"
    best = _ev("The committee moved the order system to Kubernetes in 2025.", 0.9, lang="en")
    low = _ev("The service mesh is Istio 1.22.", 0.3, lang="en", start=100)
    draft = _backend().finish("Istio 1.22. [2]", [best, low], EvidenceSet(q, "en", [best, low], answerable=True))
    assert draft.grounding == "fallback"


def test_the_english_prompt_over_chinese_sources_asks_for_pinyin_digits_and_english_dates():
    chinese = [_ev("项目负责人为架构部总监李明远。", 0.5)]
    english = [_ev("The project lead is Li Mingyuan.", 0.5, lang="en")]
    across = build_messages("Who leads the project?", chinese, "en")[0].content
    within = build_messages("Who leads the project?", english, "en")[0].content
    assert "pinyin" in across and "pinyin" not in within


def test_a_list_quoted_across_languages_says_it_is_in_the_sources_language():
    items = [_ev("新增两项服务：", 0.5), _ev("一是夜间自习室；", 0.5, start=10), _ev("二是图书配送。", 0.5, start=20)]
    text, cited = quote_parts([items], "en")
    assert text.startswith("The closest passage in the documents (Chinese): 新增两项服务：[1]")
    assert len(cited) == 3
    same, _ = quote_parts([items], "zh")
    assert same.startswith("新增两项服务：[1]")


def test_an_answer_that_copies_a_description_gets_the_name_the_source_gives_it():
    from rag.backends.generative import named_after

    source = ("Bacteria use a unique defense mechanism, called the restriction modification system to protect "
              "themselves from viral pathogens, called bacteriophages.")
    assert named_after("Viral pathogens.", source) == ", called bacteriophages"
    assert named_after("bacteria", source) == ""  # nothing named right after it
    assert named_after("a unique defense mechanism", source) == ""  # what follows is a clause, not a name
    assert named_after("Phages.", source) == ""  # not copied from the source
    q = "Bacteria protect themselves from what pathogens?"
    sentence = _ev(source, 0.9, lang="en")
    draft = GroundedLLMBackend("fake", FakeLLM(), Verifier(ZeroEmbedder())).finish(
        "viral pathogens. [1]", [sentence], EvidenceSet(q, "en", [sentence], answerable=True))
    assert draft.grounding == "verified" and draft.text == "Viral pathogens, called bacteriophages.[1]"
