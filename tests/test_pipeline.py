"""The pipeline end to end on a hand-built store, with the deterministic fake backend (RAG_BACKEND=fake):
retrieval, evidence, the grounding policy, the generative path and verification, without a model."""

from __future__ import annotations

import re

import pytest

from conftest import make_settings
from index.ingest import add_document
from rag.pipeline import Pipeline
from rag.schema import AskRequest

LEAVE = "青禾科技年假制度。\n员工入职满五年后享有15天带薪年假。年假须提前三个工作日申请。\n"
OFFICE = "青禾科技办公室搬迁通知。\n新办公室位于杭州市西湖区文三路100号，于2025年3月启用。\n"


def fake_pipeline(data_dir, documents: dict[str, str]) -> Pipeline:
    """A pipeline on the fake model over a private store holding these documents."""
    settings = make_settings(data_dir, backend="fake")
    pipeline = Pipeline(settings)
    for name, text in documents.items():
        add_document(pipeline.store, pipeline.embedder, settings, name, text)
    return pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return fake_pipeline(tmp_path_factory.mktemp("pipeline"), {"leave.txt": LEAVE, "office.txt": OFFICE})


@pytest.fixture
def model(pipeline):
    model = pipeline.backend().llm
    model.prompts.clear()
    model.replies.clear()
    return model


def cited_exactly(r) -> bool:
    texts = {"leave": LEAVE, "office": OFFICE}
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", r.answer)}
    return markers == {c.n for c in r.citations} and all(texts[c.doc_id][c.start:c.end] == c.text for c in r.citations)


def test_an_answerable_question_is_answered_by_the_backend_and_verified(pipeline, model):
    r = pipeline.ask(AskRequest(question="员工入职满五年后有多少天带薪年假？"))
    assert (r.backend, r.grounding, r.refused, r.reason) == ("fake", "verified", False, "grounded")
    assert r.answer == "员工入职满五年后享有15天带薪年假。[1]" and r.citations[0].doc_id == "leave"
    assert len(model.prompts) == 1 and cited_exactly(r)


def test_the_stream_is_the_answer_without_the_models_markers(pipeline, model):
    events = list(pipeline.events(AskRequest(question="新办公室位于哪里？")))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and kinds.count("done") == 1 and kinds.count("delta") > 1
    streamed = "".join(p for k, p in events if k == "delta")
    final = events[-1][1]
    assert final.grounding == "verified" and "文三路100号" in final.answer
    assert streamed == re.sub(r"\[\d+\]", "", final.answer)


def test_a_question_the_documents_do_not_answer_is_refused_without_asking_the_model(pipeline, model):
    r = pipeline.ask(AskRequest(question="公司的年营业额是多少？"))
    assert r.refused and r.grounding == "refused" and r.citations == [] and model.prompts == []


class SupportJudge:
    """Answers every answerability question yes and every support question (quick or full) with a fixed probability."""

    def __init__(self, support: float):
        self.p, self.checked, self.quick = support, [], []

    def probability(self, question, sentences, lang, sources=None):
        return 1.0

    def quick_support(self, question, sentences, answer, lang, sources=None):
        self.quick.append(answer)
        return self.p

    def support(self, question, sentences, answer, lang, sources=None):
        self.checked.append(answer)
        return self.p


@pytest.mark.parametrize("support, refused", [(0.2, True), (0.95, False)])
def test_an_answer_the_model_does_not_find_supported_is_refused(pipeline, model, support, refused):
    backend, judge = pipeline.backend(), SupportJudge(support)
    backend.judge = judge
    try:
        r = pipeline.ask(AskRequest(question="员工入职满五年后有多少天带薪年假？"))
    finally:
        backend.judge = None
    answer = "员工入职满五年后享有15天带薪年假。"
    # the quick check is asked first; only when it is not sure does the full check decide
    assert judge.quick == [answer] and judge.checked == ([answer] if refused else []) and len(model.prompts) == 1
    assert (r.refused, r.reason) == ((True, "unsupported") if refused else (False, "grounded"))


def test_a_follow_up_is_asked_with_the_previous_question(pipeline, model):
    history = [{"role": "user", "content": "新办公室位于哪里？"}, {"role": "assistant", "content": "文三路100号。"}]
    r = pipeline.ask(AskRequest(question="那里什么时候启用？", history=history))
    assert not r.refused and "2025" in r.answer and cited_exactly(r)
    asked = model.prompts[0].rsplit("<|im_start|>user\n", 1)[1]  # the last user turn
    assert "（上一个问题：新办公室位于哪里？）" in asked


def test_a_two_part_question_is_grounded_part_by_part(pipeline, model):
    r = pipeline.ask(AskRequest(question="员工入职满五年后有多少天带薪年假？新办公室位于哪里？"))
    assert not r.refused and {c.doc_id for c in r.citations} == {"leave", "office"}
    assert "15天" in r.answer and "文三路100号" in r.answer and cited_exactly(r)
    ids = [c.chunk_id for c in r.retrieved]
    assert len(ids) == len(set(ids)) and {c.doc_id for c in r.retrieved} >= {"leave", "office"}


def test_an_unknown_backend_is_a_clear_error(pipeline):
    with pytest.raises(ValueError, match="unknown answer backend 'gpt'"):
        pipeline.ask(AskRequest(question="员工入职满五年后有多少天带薪年假？"), backend="gpt")


LIBRARY = ("Library renovation report.\n"
           "The city manager presented the library renovation plan to the council in March. "
           "The library project is funded from two sources: $1.6 million from the city's capital fund and "
           "$0.8 million from a state culture grant. Work starts in May.\n")
KETTLE = ("云岭电水壶说明。\n"
          "云岭电水壶适合三口之家使用，容量1.7升，额定功率1800瓦。\n"
          "随机配件包括以下几种：滤网一个、清洁刷一把、说明书一本。\n")


@pytest.fixture(scope="module")
def lists_pipeline(tmp_path_factory):
    return fake_pipeline(tmp_path_factory.mktemp("lists"), {"library.txt": LIBRARY, "kettle.txt": KETTLE})


def test_a_model_answer_that_drops_items_of_a_listed_sentence_is_replaced_by_that_sentence(lists_pipeline):
    model = lists_pipeline.backend().llm
    model.enqueue("$1.6 million from the city's capital fund.[1]")
    r = lists_pipeline.ask(AskRequest(question="Which two sources fund the library project?"))
    assert not r.refused and r.grounding == "fallback"
    assert "capital fund" in r.answer and "state culture grant" in r.answer
    assert any("state culture grant" in c.text for c in r.citations)
    assert all(LIBRARY[c.start:c.end] == c.text for c in r.citations)


def test_a_model_answer_with_every_item_is_kept(lists_pipeline):
    model = lists_pipeline.backend().llm
    model.enqueue("The city's capital fund ($1.6 million) and a state culture grant ($0.8 million).[1]")
    r = lists_pipeline.ask(AskRequest(question="Which two sources fund the library project?"))
    assert r.grounding == "verified" and r.answer.startswith("The city's capital fund ($1.6 million)")


def test_a_list_question_is_answered_with_the_sentence_that_names_the_asked_kind_and_lists_it(lists_pipeline):
    r = lists_pipeline.ask(AskRequest(question="云岭电水壶附带哪些配件？"))
    assert not r.refused and [c.text for c in r.citations] == ["随机配件包括以下几种：滤网一个、清洁刷一把、说明书一本。"]
    assert all(k in r.answer for k in ("滤网", "清洁刷", "说明书"))


MEETING = ("部长会议纪要\n"
           "3月7日，双方在东京举行首次部长会议，英方由外交大臣拉米和商业大臣雷诺兹出席。会议内容聚焦于两大领域：\n"
           "一是经济安全。\n"
           "二是能源合作。\n")


def test_a_question_of_another_kind_is_not_answered_with_a_list_a_runner_up_announces(tmp_path):
    from rag.evidence import Evidence, EvidenceSet

    meeting = fake_pipeline(tmp_path, {"meeting.txt": MEETING})
    corpus = meeting.corpus.get()
    doc_id = meeting.store.list_documents()[0].doc_id

    def sentence(text, score):
        start = MEETING.index(text)
        chunk_id, (_, meta) = next((c, v) for c, v in corpus.chunks.items()
                                   if int(v[1]["start"]) <= start < int(v[1]["end"]))
        return Evidence(doc_id, chunk_id, start, start + len(text), text, meta.get("section", ""), score, 0.5, 0.8,
                        0, lang="zh")

    who = sentence("3月7日，双方在东京举行首次部长会议，英方由外交大臣拉米和商业大臣雷诺兹出席。", 0.80)
    intro = sentence("会议内容聚焦于两大领域：", 0.78)
    question = "英方由哪位外交大臣出席会议？"
    assert meeting._list_evidence(question, EvidenceSet(question, "zh", [who, intro]), corpus) is None
    # the announcing sentence may even rank first for a "who" question: still no list
    assert meeting._list_evidence(question, EvidenceSet(question, "zh", [intro, who]), corpus) is None
    listed = meeting._list_evidence("会议内容聚焦于什么？", EvidenceSet(question, "zh", [intro, who]), corpus)
    assert [e.text for e in listed] == ["会议内容聚焦于两大领域：", "一是经济安全。", "二是能源合作。"]
