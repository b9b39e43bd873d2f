import re

import pytest

from rag.backends.generative import GroundedLLMBackend, MarkerFilter, build_messages
from rag.llm import FakeLLM, chatml
from rag.schema import AskRequest
from rag.verify import Verifier, looks_like_refusal, split_sentences, strip_markers

CPTPP_Q = "英国哪一年正式加入CPTPP？"


@pytest.fixture
def fake(pipeline):
    llm = FakeLLM()
    pipeline._backends["fake"] = GroundedLLMBackend("fake", llm, Verifier(pipeline.embedder))
    yield llm
    pipeline._backends.pop("fake")


def _ask(pipeline, question, **kw):
    return pipeline.ask(AskRequest(question=question, **kw), backend="fake")


def _valid(r, corpus_text):
    assert {int(m) for m in re.findall(r"\[(\d+)\]", r.answer)} == {c.n for c in r.citations}
    assert all(corpus_text[c.start:c.end] == c.text for c in r.citations)


def test_invented_sentence_is_dropped_and_citation_reassigned(pipeline, fake, corpus_text):
    fake.enqueue("英国于2024年正式加入CPTPP[4]。英国还在2030年加入了北约[1]。")
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "verified" and r.backend == "fake"
    assert r.answer == "英国于2024年正式加入CPTPP。[1]"
    assert "2030" not in r.answer and "北约" not in r.answer
    assert len(r.citations) == 1 and "英国于2024年正式加入CPTPP" in r.citations[0].text
    _valid(r, corpus_text)


def test_two_sentences_cite_two_different_sources(pipeline, corpus_text):
    from rag.evidence import Evidence, EvidenceSet

    def ev(sentence, score):
        start = corpus_text.index(sentence)
        return Evidence("japan-uk-economic-2plus2", "c", start, start + len(sentence), sentence, "", score, 1.0, 0.9, 0)

    a, b = ev("英国于2024年正式加入CPTPP,成为该机制首个域外成员。", 0.9), ev("目前,日本是英国第三大外资来源国", 0.8)
    evidence = EvidenceSet("英国和日本的经贸关系？", "zh", [a, b], answerable=True)
    backend = GroundedLLMBackend("fake", FakeLLM(), Verifier(pipeline.embedder))
    draft = backend.finish("日本是英国第三大外资来源国[1]。英国于2024年正式加入CPTPP[1]。", [a, b], evidence)
    assert draft.grounding == "verified"
    assert draft.text == "日本是英国第三大外资来源国。[1]英国于2024年正式加入CPTPP。[2]"
    assert [c.text for c in draft.citations] == [b.text, a.text] and [c.n for c in draft.citations] == [1, 2]


def test_unsupported_answer_falls_back_to_quotes(pipeline, fake, corpus_text):
    fake.enqueue("The sky is red, according to the sources [1].")
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "fallback" and not r.refused and r.notice
    assert "2024" in r.answer and "sky" not in r.answer
    _valid(r, corpus_text)


def test_model_refusal_over_strong_evidence_falls_back_to_the_quote(pipeline, fake):
    fake.enqueue("文档中没有找到相关信息，无法回答该问题。")
    r = _ask(pipeline, CPTPP_Q)
    assert not r.refused and r.grounding == "fallback" and "no answer" in r.notice and "2024" in r.answer


def test_answer_missing_the_asked_type_falls_back(pipeline, fake):
    fake.enqueue("英国正式加入了CPTPP[1]。")
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "fallback" and "2024" in r.answer


def test_boilerplate_opening_is_removed(pipeline, fake):
    fake.enqueue("根据资料，英国于2024年正式加入CPTPP[1]。")
    r = _ask(pipeline, CPTPP_Q)
    assert r.answer.startswith("英国于2024年") and r.grounding == "verified"


def test_model_error_falls_back_with_notice(pipeline, fake):
    fake.enqueue(TimeoutError("slow"))
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "fallback" and "TimeoutError" in r.notice and "2024" in r.answer


def test_a_busy_local_model_is_answered_at_once_by_quoting(pipeline, fake):
    from rag.llm import ModelBusy

    fake.enqueue(ModelBusy("the local model is busy (9 questions ahead)"))
    r = _ask(pipeline, CPTPP_Q)
    assert r.grounding == "fallback" and "busy" in r.notice and "2024" in r.answer


def test_weak_evidence_never_calls_the_model(pipeline, fake):
    r = _ask(pipeline, "日英经济版“2+2”第二次会议将于何时举行？")
    assert r.refused and fake.prompts == []


def test_english_answer_is_verified_against_chinese_evidence(pipeline, fake, corpus_text):
    fake.enqueue("The UK formally joined the CPTPP in 2024 [1].")
    r = _ask(pipeline, "Which year did the UK formally join the CPTPP?")
    assert r.grounding == "verified", r.notice
    assert r.answer == "The UK formally joined the CPTPP in 2024.[1]"
    _valid(r, corpus_text)


def test_stream_hides_model_markers_and_ends_with_done(pipeline, fake):
    fake.enqueue("英国于2024年正式加入CPTPP[12]。")
    events = list(pipeline.events(AskRequest(question=CPTPP_Q), backend="fake"))
    deltas = "".join(p for k, p in events if k == "delta")
    assert [k for k, _ in events][-1] == "done" and "[12]" not in deltas and "2024" in deltas


def test_prompt_numbers_evidence_and_uses_chatml(pipeline, fake):
    fake.enqueue("英国于2024年正式加入CPTPP[1]。")
    _ask(pipeline, CPTPP_Q)
    prompt = fake.prompts[0]
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    assert "[1] " in prompt and "【问题】" + CPTPP_Q in prompt and "文档中没有找到相关信息" in prompt


def test_follow_up_prompt_carries_the_previous_question(pipeline, fake):
    fake.enqueue("延续英国脱欧前日本与欧盟的自由贸易条款[1]。")
    history = [{"role": "user", "content": "2020年日英两国签署了什么经贸协定？"},
               {"role": "assistant", "content": "《全面经济伙伴协定》"}]
    r = _ask(pipeline, "它延续了哪些条款？", history=history)
    assert "上一个问题：2020年日英两国签署了什么经贸协定？" in fake.prompts[0]
    assert r.grounding == "verified" and "欧盟" in r.answer


def test_marker_filter_handles_split_markers():
    f = MarkerFilter()
    assert f.feed("abc[") == "abc" and f.feed("1") == "" and f.feed("]def") == "def"
    assert f.feed("x[y") == "x[y" and f.flush() == ""
    assert f.feed("end【2") == "end" and f.flush() == "【2"


def test_verify_helpers():
    assert strip_markers("甲[1]。乙[2, 3]") == "甲。乙"
    assert split_sentences("甲乙[1]。丙丁！") == ["甲乙。", "丙丁！"]
    assert split_sentences("It was 1.5 degrees. Then 2050.") == ["It was 1.5 degrees.", "Then 2050."]
    assert looks_like_refusal("资料中没有提到这个信息。")
    assert chatml([]) == "<|im_start|>assistant\n"
    assert build_messages("Q?", [], "en")[-1].content.endswith("Question:Q?")


def test_backend_that_cannot_start_degrades_to_quotes(indexed_settings, tmp_path, corpus_text):
    from rag.pipeline import Pipeline

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"garbage")
    pipeline = Pipeline(indexed_settings.model_copy(update={"backend": "local", "llm_model_path": bad}))
    r = pipeline.ask(AskRequest(question=CPTPP_Q))
    assert r.grounding == "fallback" and "not a GGUF" in r.notice and "2024" in r.answer
    assert pipeline.backend_status().startswith("unavailable")
    _valid(r, corpus_text)


def test_english_answer_with_invented_names_falls_back(pipeline, fake):
    fake.enqueue("The first meeting was chaired by the British Foreign Secretary, Mr. Blair [1].")
    r = _ask(pipeline, "Who chaired the first Japan-UK economic 2+2 meeting?")
    assert "Blair" not in r.answer and r.grounding in ("fallback", "refused")


def test_unverifiable_names_rule():
    from rag.verify import unverifiable_names

    assert unverifiable_names("The UK joined the CPTPP in 2024.", "When did the UK join the CPTPP?", "英国 cptpp") == set()
    assert unverifiable_names("It was chaired by Mr. Blair.", "Who chaired it?", "拉米") == {"Blair"}


# Loose evidence: above the refusal gate, below the pair's `strong` threshold (the topic matches, the detail may
# not). Built by hand, so the tests do not hang on one question's scores.
LOOSE_CITY_Q = "2007年美俄战略安全对话是在哪座城市举行的？"
LOOSE_Q = "英国是CPTPP的第几个域外成员？"


def _loose(corpus_text, question, *sentences, strong=False):
    from rag.evidence import Evidence, EvidenceSet

    ranked = []
    for i, sentence in enumerate(sentences):
        start = corpus_text.index(sentence)
        ranked.append(Evidence("japan-uk-economic-2plus2", "japan-uk-economic-2plus2:00000", start,
                               start + len(sentence), sentence, "", 0.7 - 0.05 * i, 0.5, 0.85, i))
    return EvidenceSet(question, "zh", ranked, answerable=True, strong=strong)


def _answer(pipeline, llm, evidence, judge=None):
    from rag.backends.base import Draft

    backend = GroundedLLMBackend("fake", llm, Verifier(pipeline.embedder), judge=judge)
    draft = [d for d in backend.answer(evidence.question, evidence, []) if isinstance(d, Draft)][0]
    return draft, pipeline.policy.decide(evidence.question, evidence, draft)


CITY_SOURCES = ("一般认为由外交部长和国防部长共同主持的“2+2”会议机制正式起源于2007年的美俄战略安全对话,当时两国主要围绕美国在欧洲部署"
                "导弹防御系统等战略安全议题展开了磋商。",
                "首次美日经济版“2+2”会议于2022年7月在华盛顿举行")
MEMBER_SOURCES = ("英国于2024年正式加入CPTPP,成为该机制首个域外成员。", "日方欢迎英国加入《全面与进步跨太平洋伙伴关系协定》(CPTPP)")


def test_model_refusal_over_loose_evidence_is_asked_again_then_refused(pipeline, corpus_text):
    llm = FakeLLM().enqueue("文档中没有找到相关信息，无法回答该问题。", "资料中没有提到举行会议的城市。")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, LOOSE_CITY_Q, *CITY_SOURCES))
    assert draft.failure == "model_refused" and (verdict.answer, verdict.reason) == (False, "model_refused")
    assert len(llm.prompts) == 2 and "[2] " in llm.prompts[0] and "[2] " not in llm.prompts[1]


def test_model_refusal_over_loose_evidence_retried_with_the_best_sentence_can_answer(pipeline, corpus_text):
    llm = FakeLLM().enqueue("文档中没有找到相关信息，无法回答该问题。", "英国是CPTPP的首个域外成员[1]。")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, LOOSE_Q, *MEMBER_SOURCES))
    assert verdict.answer and draft.grounding == "verified" and "首个" in draft.text
    assert draft.citations[0].text == MEMBER_SOURCES[0]


def test_model_refusal_over_strong_evidence_is_not_retried_and_falls_back(pipeline, corpus_text):
    llm = FakeLLM().enqueue("文档中没有找到相关信息，无法回答该问题。")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, LOOSE_Q, *MEMBER_SOURCES, strong=True))
    assert verdict.answer and draft.grounding == "fallback" and draft.failure == "model_refused"
    assert len(llm.prompts) == 1


def test_city_question_answered_without_a_place_over_loose_evidence_is_refused(pipeline, corpus_text):
    llm = FakeLLM().enqueue("2007年美俄战略安全对话主要围绕导弹防御系统展开[1]。")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, LOOSE_CITY_Q, *CITY_SOURCES))
    assert draft.failure == "type_not_filled" and (verdict.answer, verdict.reason) == (False, "type_not_filled")


def test_answer_that_stops_inside_a_list_falls_back_to_the_whole_sentence(pipeline, fake, corpus_text):
    fake.enqueue("美国国务卿布林肯[1]。")
    r = _ask(pipeline, "首次美日经济版“2+2”会议的美方主持人是谁？")
    assert r.grounding == "fallback" and "list" in r.notice
    assert "布林肯" in r.answer and "雷蒙多" in r.answer
    _valid(r, corpus_text)
    fake.enqueue("美国国务卿布林肯和商务部长雷蒙多[1]。")
    r = _ask(pipeline, "首次美日经济版“2+2”会议的美方主持人是谁？")
    assert r.grounding == "verified" and "雷蒙多" in r.answer


def test_a_list_item_the_question_singles_out_by_its_title_is_a_whole_answer(pipeline, fake, corpus_text):
    fake.enqueue("日本外务大臣是岩屋毅[1]。")  # the source goes on "、经济产业大臣武藤容治…": another title
    r = _ask(pipeline, "日本外务大臣是谁？")
    assert r.grounding == "verified" and r.answer.startswith("日本外务大臣是岩屋毅") and "武藤容治" not in r.answer
    _valid(r, corpus_text)
    fake.enqueue("岩屋毅[1]。")  # a place ("日本") in common does not single the item out
    r = _ask(pipeline, "日本方面由谁主持召开首次日英经济2+2会议？")
    assert r.grounding == "fallback" and "list" in r.notice and "武藤容治" in r.answer


def test_fallback_quote_has_at_most_two_sentences(pipeline, fake):
    fake.enqueue("The sky is red [1].")
    r = _ask(pipeline, "日英经济版2+2会议讨论的四个领域分别是什么？")
    assert r.grounding == "fallback" and 1 <= len(r.citations) <= 2


def test_english_prompt_has_a_worked_example_and_chinese_has_none():
    zh = build_messages("问题？", [], "zh")
    en = build_messages("Question?", [], "en")
    assert len(zh) == 2 and not any(m.content.isascii() and "Wang" in m.content for m in zh)
    assert len(en) == 4 and en[2].role.value == "assistant" and en[-1].content.endswith("Question:Question?")


def test_cited_sentences_keep_the_models_numbers():
    from rag.verify import cited_sentences

    assert cited_sentences("美国国务卿布林肯。依据资料[1]。") == [("美国国务卿布林肯。", {1})]
    assert cited_sentences("It joined in 2024. [3] Then more [2].") == [("It joined in 2024.", {3}), ("Then more.", {2})]
    assert cited_sentences("甲乙[1]。丙丁[2, 3]！") == [("甲乙。", {1}), ("丙丁！", {2, 3})]


def test_a_supporting_sentence_the_model_cited_wins_a_near_tie(pipeline, corpus_text):
    from rag.evidence import Evidence

    def ev(sentence):
        start = corpus_text.index(sentence)
        return Evidence("japan-uk-economic-2plus2", "c", start, start + len(sentence), sentence, "", 0.5, 0.0, 0.8, 0)

    a = ev("日方欢迎英国加入《全面与进步跨太平洋伙伴关系协定》(CPTPP)")
    b = ev("英国于2024年正式加入CPTPP,成为该机制首个域外成员。")
    v = Verifier(pipeline.embedder)
    assert v.support("英国加入CPTPP。", [a, b], "", preferred=[b]).evidence is b
    assert v.support("英国加入CPTPP。", [a, b], "", preferred=[a]).evidence is a
    got = v.verify("英国加入CPTPP。[2]", [a, b], "", numbered=[a, b])
    assert [s.evidence for s in got] == [b]


class Copier:
    """A judge's model asked only to copy the answer's span: copies `span` (\"\" = it says there is none)."""

    def __init__(self, span):
        self.span, self.asked = span, []

    def extract(self, question, sentences, lang, sources=None):
        from rag.judge import Extraction

        self.asked.append(sentences)
        return Extraction(self.span)


def test_failed_answer_quotes_the_best_sentence_and_the_one_holding_the_span_the_model_copies(pipeline, corpus_text):
    # the best-ranked sentence does not answer; the runner-up holds what the model copies when asked for the span
    llm = FakeLLM().enqueue("文档中没有找到相关信息，无法回答该问题。")
    copier = Copier("首个域外成员")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, LOOSE_Q, *reversed(MEMBER_SOURCES), strong=True),
                             judge=copier)
    assert verdict.answer and draft.grounding == "fallback"
    assert draft.copied.held_by(list(reversed(MEMBER_SOURCES))) == 1  # the runner-up holds the copied span
    assert [c.text for c in draft.citations] == [MEMBER_SOURCES[1], MEMBER_SOURCES[0]]  # the best, then the holder
    assert copier.asked == [list(reversed(MEMBER_SOURCES))]  # it reads what the model read


def test_failed_answer_is_refused_when_the_model_copies_no_span(pipeline, corpus_text):
    llm = FakeLLM().enqueue("文档中没有找到相关信息，无法回答该问题。")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, LOOSE_Q, *MEMBER_SOURCES, strong=True),
                             judge=Copier(""))
    assert draft.grounding == "fallback" and draft.copied.held_by(list(MEMBER_SOURCES)) is None
    assert (verdict.answer, verdict.reason) == (False, "no_answer_span")


def test_failed_answer_is_refused_when_the_copied_span_is_in_a_sentence_about_something_else(pipeline, corpus_text):
    # the best sentence names the asked dialogue but no city; the city the model copies is in a runner-up about
    # another meeting, which covers few of the question's key terms: a sibling's value, not the answer
    question = LOOSE_CITY_Q
    llm = FakeLLM().enqueue("2007年美俄战略安全对话在华盛顿举行。[2]")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, question, *CITY_SOURCES, strong=True),
                             judge=Copier("华盛顿"))
    assert draft.grounding == "fallback" and draft.copied_from.text == CITY_SOURCES[1]
    assert (verdict.answer, verdict.reason) == (False, "no_answer_span") and "华盛顿" not in verdict.detail


def test_a_copied_span_in_the_best_sentence_keeps_the_quote_whatever_it_covers(pipeline, corpus_text):
    question = LOOSE_CITY_Q
    llm = FakeLLM().enqueue("2007年美俄战略安全对话在莫斯科举行。[1]")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, question, *CITY_SOURCES, strong=True),
                             judge=Copier("美俄战略安全对话"))
    assert draft.grounding == "fallback" and draft.copied_from.text == CITY_SOURCES[0] and verdict.answer


def test_the_holder_check_is_off_across_languages(pipeline, corpus_text):
    assert pipeline.settings.grounding.thresholds("en-zh").min_holder_coverage == 0
    assert pipeline.settings.grounding.thresholds("zh-zh").min_holder_coverage > 0


def test_a_copied_span_the_sources_lack_keeps_the_best_quote(pipeline, corpus_text):
    # often a paraphrase of a right answer: the quote of the best sentences stands, as without the check
    llm = FakeLLM().enqueue("文档中没有找到相关信息，无法回答该问题。")
    draft, verdict = _answer(pipeline, llm, _loose(corpus_text, LOOSE_Q, *MEMBER_SOURCES, strong=True),
                             judge=Copier("第三个域外成员加入于2030年"))
    assert verdict.answer and draft.grounding == "fallback" and draft.copied.held_by(list(MEMBER_SOURCES)) is None
    assert {c.text for c in draft.citations} == set(MEMBER_SOURCES)  # the best sentences, as without the check


def test_a_pair_whose_calibration_says_so_keeps_the_quote_when_the_model_copies_none(pipeline, corpus_text):
    evidence = _loose(corpus_text, "Which member of the CPTPP is the UK?", *MEMBER_SOURCES, strong=True)
    evidence.lang = "en"  # an English question over these Chinese sentences: en-zh does not refuse on it
    llm = FakeLLM().enqueue("The sources do not contain the answer.")
    draft, verdict = _answer(pipeline, llm, evidence, judge=Copier(""))
    assert evidence.pair == "en-zh" and draft.copied is not None and not draft.copied.span and verdict.answer
    assert not pipeline.settings.grounding.thresholds("en-en").uncopied_refuses  # nor en-en (calibration)


def test_copy_check_off_keeps_the_quote_without_asking_for_a_span(pipeline, corpus_text):
    from rag.backends.base import Draft

    copier = Copier("")
    backend = GroundedLLMBackend("fake", FakeLLM(), Verifier(pipeline.embedder), judge=copier, copy_check=False)
    evidence = _loose(corpus_text, LOOSE_Q, *MEMBER_SOURCES, strong=True)
    draft = backend.finish("文档中没有找到相关信息，无法回答该问题。", evidence.ranked, evidence)
    assert isinstance(draft, Draft) and draft.copied is None and copier.asked == []
    assert pipeline.policy.decide(LOOSE_Q, evidence, draft).answer  # off: the quote stands as before


@pytest.mark.parametrize("judged,kept", [(0.6, False), (0.8, True)])
def test_an_english_question_over_chinese_sources_keeps_a_failed_answers_quote_only_when_the_judge_was_sure(
        pipeline, corpus_text, judged, kept):
    # a failed answer over Chinese sources the judge was unsure of: the model mostly took a sibling's value
    # (xling_en_zh calibration); quoting the Chinese sentence then answers an unanswerable question
    from rag.backends.base import Draft

    evidence = _loose(corpus_text, "Which member of the CPTPP is the UK?", *MEMBER_SOURCES, strong=True)
    evidence.lang, evidence.judged = "en", judged
    draft = Draft("The closest passage in the documents (Chinese): …", grounding="fallback", failure="unsupported")
    verdict = pipeline.policy.decide(evidence.question, evidence, draft)
    assert evidence.pair == "en-zh" and verdict.answer is kept
    assert kept or verdict.reason == "unsupported"


def test_an_english_question_over_chinese_sources_is_refused_when_the_judge_doubts_it(pipeline, corpus_text):
    class Judge:
        def probability(self, question, sentences, lang, sources=None):
            return 0.4  # below the en-zh bar, above the one it had before the xling_en_zh calibration

    evidence = _loose(corpus_text, "Which member of the CPTPP is the UK?", *MEMBER_SOURCES, strong=True)
    evidence.lang = "en"
    verdict = pipeline.policy.decide(evidence.question, evidence, judge=Judge())
    assert evidence.pair == "en-zh" and (verdict.answer, verdict.reason) == (False, "judged_unanswerable")
