import re

from rag.backends.base import Draft
from rag.backends.extractive import ExtractiveBackend
from rag.condense import is_follow_up, standalone_question
from rag.evidence import asked_types, numbers_agree
from rag.schema import AskRequest


def _check_invariants(response, corpus_text):
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", response.answer)}
    assert markers == {c.n for c in response.citations}
    for c in response.citations:
        assert corpus_text[c.start:c.end] == c.text


def test_extractive_answers_with_sentence_level_citation(pipeline, corpus_text):
    r = pipeline.ask(AskRequest(question="英国哪一年正式加入CPTPP？"))
    assert not r.refused and r.grounding == "verified" and r.backend == "extractive"
    assert "2024" in r.answer and "[1]" in r.answer
    assert "英国于2024年正式加入CPTPP" in r.citations[0].text
    assert len(r.citations[0].text) < 120  # a sentence, not the whole chunk
    _check_invariants(r, corpus_text)


def test_english_question_answers_from_chinese_source(pipeline, corpus_text):
    r = pipeline.ask(AskRequest(question="Which year did the UK formally join the CPTPP?"))
    assert not r.refused and "2024" in r.answer
    _check_invariants(r, corpus_text)


def test_unanswerable_question_is_refused_in_its_language(pipeline):
    r = pipeline.ask(AskRequest(question="日英经济版“2+2”第二次会议将于何时举行？"))
    assert r.refused and r.citations == [] and r.grounding == "refused"
    assert r.answer == "文档中没有找到相关信息，无法回答该问题。"
    r = pipeline.ask(AskRequest(question="Who won the most recent UK general election?"))
    assert r.refused and r.answer.startswith("The documents do not")


def test_follow_up_uses_the_conversation(pipeline, corpus_text):
    history = [{"role": "user", "content": "2020年日英两国签署了什么经贸协定？"},
               {"role": "assistant", "content": "《全面经济伙伴协定》[1]"}]
    r = pipeline.ask(AskRequest(question="它延续了哪些条款？", history=history))
    assert not r.refused and "欧盟的自由贸易条款" in r.answer
    _check_invariants(r, corpus_text)


def test_events_stream_deltas_then_one_done(pipeline):
    events = list(pipeline.events(AskRequest(question="日本外务大臣是谁？")))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and kinds.count("done") == 1 and set(kinds[:-1]) == {"delta"}
    assert "".join(p for k, p in events[:-1]) == events[-1][1].answer


def test_backend_ends_with_a_draft(pipeline):
    evidence = pipeline.scorer.score("岩屋毅是什么职务？", pipeline.retriever().retrieve("岩屋毅是什么职务？"),
                                     pipeline.corpus.get().bm25)
    items = list(ExtractiveBackend().answer("岩屋毅是什么职务？", evidence, []))
    assert isinstance(items[-1], Draft) and items[0] == items[-1].text


def test_question_type_and_number_rules():
    assert asked_types("英国哪一年正式加入CPTPP？") == ["year"]
    assert "number" in asked_types("How many member countries does the CPTPP have?")
    assert numbers_agree("第二次会议何时举行？", "首次会议") is False
    assert numbers_agree("2007年的对话", "起源于2007年的美俄战略安全对话") is True


def test_standalone_question_rules():
    history = [{"role": "user", "content": "首次会议在哪里召开？"}]
    assert is_follow_up("那次会议由谁主持？")
    assert standalone_question("那次会议由谁主持？", history) == "首次会议在哪里召开？ 那次会议由谁主持？"
    assert standalone_question("英国哪一年正式加入CPTPP？", history) == "英国哪一年正式加入CPTPP？"
    assert standalone_question("那次会议由谁主持？", []) == "那次会议由谁主持？"
