"""Multi-part questions, lists and composed quotes (rag/compose.py) on hand-built questions and documents."""

from __future__ import annotations

import pytest

from rag.compose import announces_asked, asks_for_list, list_items, missing_note, quote_parts, split_question
from rag.evidence import Evidence


@pytest.mark.parametrize("question, parts", [
    ("会议是何时、在哪里举行的？", ["会议是何时举行的？", "会议是在哪里举行的？"]),
    ("2022年和2023年各录取了多少人？", ["2022年录取了多少人？", "2023年录取了多少人？"]),
    ("日本和英国的外务大臣分别是谁？", ["日本的外务大臣是谁？", "英国的外务大臣是谁？"]),
    ("英国哪一年加入CPTPP？日本外务大臣是谁？", ["英国哪一年加入CPTPP？", "日本外务大臣是谁？"]),
    ("When was the meeting held and who chaired it?", ["When was the meeting held?", "Who chaired it?"]),
    ("Who were the primary and secondary caregivers respectively?",
     ["Who were the primary caregivers?", "Who were the secondary caregivers?"]),
    ("What did they do in January and in February?",
     ["What did they do in January?", "What did they do in February?"]),
    ("英国哪一年加入CPTPP？", ["英国哪一年加入CPTPP？"]),
    # a request, thanks or a follow-up stays with its question
    ("英国哪一年加入CPTPP？谢谢", ["英国哪一年加入CPTPP？谢谢"]),
    ("英国哪一年加入CPTPP？请给出出处。", ["英国哪一年加入CPTPP？请给出出处。"]),
    ("英国哪一年加入CPTPP？具体是怎样的？", ["英国哪一年加入CPTPP？具体是怎样的？"]),
    ("Who is the chief librarian? Thanks!", ["Who is the chief librarian? Thanks!"]),
    ("英国哪一年加入CPTPP？会议在哪里举行？", ["英国哪一年加入CPTPP？", "会议在哪里举行？"]),
    ("Who chaired the meeting and the dinner?", ["Who chaired the meeting?", "Who chaired the dinner?"]),
    ("What is the relationship between Japan and the UK?", ["What is the relationship between Japan and the UK?"]),
    ("What are the goals of research and development?", ["What are the goals of research and development?"]),
])
def test_split_question(question, parts):
    assert split_question(question) == parts


def test_asks_for_list():
    assert asks_for_list("会议聚焦于哪些领域？") and asks_for_list("双方确定了哪三项工作？")
    assert not asks_for_list("会议在哪里举行？")


DOC = ("会议纪要\n"
       "会议内容聚焦于四大领域:\n"
       "一是经济安全。\n"
       "二是自由开放的国际贸易。\n"
       "三是能源转型。\n"
       "四是科技合作。\n"
       "双方强调两点。一是加强沟通。二是定期会晤。\n"
       "其他事项另行通知，会议于下午结束。\n")


def sentence(text: str, score: float = 0.9) -> Evidence:
    start = DOC.index(text)
    return Evidence("d", "d:0", start, start + len(text), text, "", score, 0.5, 0.8, 0)


def one_section(doc_id, offset):
    return ("d:0", "") if 0 <= offset < len(DOC) else None


def test_an_announced_list_is_followed_to_each_item_up_to_the_announced_number():
    items = list_items(sentence("会议内容聚焦于四大领域:"), DOC, one_section, "会议聚焦于哪些领域？")
    assert [i.text for i in items] == ["一是经济安全。", "二是自由开放的国际贸易。", "三是能源转型。", "四是科技合作。"]
    assert all(DOC[i.start:i.end] == i.text for i in items)


def test_items_inside_the_intro_paragraph_are_found():
    items = list_items(sentence("双方强调两点。"), DOC, one_section, "双方强调了哪两点？")
    assert [i.text for i in items] == ["一是加强沟通。", "二是定期会晤。"]


def test_no_list_after_a_plain_sentence_or_from_an_item_itself():
    assert list_items(sentence("其他事项另行通知，会议于下午结束。"), DOC, one_section, "会议有哪些事项？") == []
    assert list_items(sentence("二是自由开放的国际贸易。"), DOC, one_section, "有哪些领域？") == []


def test_quote_parts_cites_each_span_once_and_names_missing_parts():
    a, b = sentence("一是经济安全。"), sentence("三是能源转型。")
    text, cited = quote_parts([[a], [b], missing_note(" 会议是在哪里举行的？ ", "zh")], "zh")
    assert text == "一是经济安全。[1]三是能源转型。[2]文档未提及：会议是在哪里举行的？" and cited == [a, b]
    text, cited = quote_parts([[a, b], [b]], "en")
    assert text == "一是经济安全。[1] 三是能源转型。[2]" and cited == [a, b]
    text, cited = quote_parts([[a], [b], [a]], "zh")
    assert text == "一是经济安全。[1]三是能源转型。[2][1]" and cited == [a, b]
    assert missing_note("When?", "en") == "The documents do not say: When?"


SERVICES = ("本季度推出了两项新服务，覆盖更多城市。\n"
            "上门维修：工程师在二十四小时内上门，费用按次计算，首次上门免费。\n"
            "远程诊断：通过视频通话由技师在线判断故障原因，并给出处理建议。\n")


def test_a_list_announced_by_the_count_the_question_asks_for_is_followed():
    def section(doc_id, offset):
        return ("s:0", "") if 0 <= offset < len(SERVICES) else None

    start = SERVICES.index("本季度")
    intro = Evidence("s", "s:0", start, SERVICES.index("\n"), "本季度推出了两项新服务，覆盖更多城市。", "", 0.9, 0.5, 0.8, 0)
    items = list_items(intro, SERVICES, section, "本季度推出了哪两项新服务？")
    assert [i.text[:4] for i in items] == ["上门维修", "远程诊断"]
    # without a matching count the sentence announces nothing
    assert list_items(intro, SERVICES, section, "本季度推出了哪三项新服务？") == []


def test_a_runner_up_introduces_a_list_only_when_it_announces_what_is_asked():
    assert announces_asked("本次迁移设定以下三个目标：", "迁移设定了哪些目标？")  # the asked noun
    assert announces_asked("迁移分三个阶段进行。", "迁移分哪三个阶段？")  # the asked count
    assert announces_asked("The kit contains the following parts:", "Which parts does the kit contain?")
    assert not announces_asked("Follow these steps before first use:", "Which substances does the filter reduce?")
