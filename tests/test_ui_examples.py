"""Example questions come from what is indexed (or RAG_UI_EXAMPLES), and the page can answer them."""

from __future__ import annotations

from index.ingest import add_document
from rag.pipeline import Pipeline
from rag.schema import AskRequest
from ui.examples import CorpusExamples, cloze_questions, title_question

BAKERY = ("晨光面包坊\n晨光面包坊于2016年开业，每天清晨五点开始烘焙。店里共有12名员工，其中面包师5名。\n"
          "招牌产品\n招牌全麦面包每个售价18元，每天限量200个，通常上午十点前售完。\n")


def test_key_sentences_become_questions_that_hide_one_value():
    got = dict(cloze_questions(BAKERY, per_doc=10))
    assert got["晨光面包坊于哪一年开业？"] == "2016"
    assert got["店里共有多少名员工？"] == "12"
    assert got["招牌全麦面包每个售价多少元？"] == "18"
    assert all(value not in question for question, value in got.items())
    assert cloze_questions("第3号地块在1990至2000年间休耕。") == []  # an ordinal or a range is not asked


def test_titles_become_questions_in_their_language():
    assert title_question("招牌产品") == "关于“招牌产品”，文档里说了什么？"
    assert title_question("Opening hours") == "What does the document say about Opening hours?"
    assert title_question("“日英同盟”或将重现?") == "“日英同盟”或将重现?"


def test_examples_follow_the_indexed_documents_and_are_answerable(fresh_settings):
    pipeline = Pipeline(fresh_settings)
    examples = CorpusExamples(lambda: pipeline, [])
    assert examples.get() == []  # no documents, no examples (the page says how to add one)
    add_document(pipeline.store, pipeline.embedder, fresh_settings, "bakery.txt", BAKERY)
    shown = examples.get()
    assert shown and len(shown) <= 5
    for question in shown:
        answer = pipeline.ask(AskRequest(question=question, doc_ids=["bakery"]), backend="extractive")
        assert not answer.refused and {c.doc_id for c in answer.citations} == {"bakery"}, question
    pipeline.store.delete_document("bakery")
    assert examples.get() == []


def test_configured_examples_win():
    fixed = ["年假有多少天？", "How many days of leave?"]
    assert CorpusExamples(lambda: None, fixed).get() == fixed
