"""Multi-part questions, lists and composed quotes (rag/compose.py) on hand-built questions and documents."""

from __future__ import annotations

import pytest

from rag.compose import (announces_asked, asks_for_list, asks_how, breakdown, drops_items, inline_list, list_items,
                          missing_note, naming_part, own_terms, quote_parts, split_question)
from rag.evidence import Evidence, EvidenceSet


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
    # a second phrase of several words after its article is taken whole, up to what both parts share
    ("What is the length and the total climb of the trail?",
     ["What is the length of the trail?", "What is the total climb of the trail?"]),
    # "when and where" stays one question: one sentence mostly holds both, and the model answers them together
    ("When and where was the meeting held?", ["When and where was the meeting held?"]),
    ("Who won the men's and women's 100 m?", ["Who won the men's 100 m?", "Who won the women's 100 m?"]),
    ("Who chaired the meeting and the closing dinner on Friday?",
     ["Who chaired the meeting on Friday?", "Who chaired the closing dinner on Friday?"]),
    ("What is the relationship between Japan and the UK?", ["What is the relationship between Japan and the UK?"]),
    ("What are the goals of research and development?", ["What are the goals of research and development?"]),
    # clauses that each ask with a question word of their own; a noun before "and" is an item of its own
    ("公司的董事长是谁，研发中心由谁负责？", ["公司的董事长是谁？", "研发中心由谁负责？"]),
    ("Who are the club's treasurer and volunteer coordinator?",
     ["Who are the club's treasurer?", "Who are the club's volunteer coordinator?"]),
    ("How are the particle forces and accelerations explained?",  # plurals share what follows them
     ["How are the particle forces explained?", "How are the particle accelerations explained?"]),
    # a follow-up about the items of a list stays out: the items' sentences answer it
    ("公司今年推出了哪些新产品，分别在什么时候发布？", ["公司今年推出了哪些新产品？"]),
    ("Which programs did the club launch, and when did each start?", ["Which programs did the club launch?"]),
    ("随着形势变化，两国走近有哪两方面意涵？", ["随着形势变化，两国走近有哪两方面意涵？"]),
    # two attributes after one owner's 的, one question word, 分别 left unsaid: each has its own value
    ("星禾的首席财务官和研发中心负责人是谁？", ["星禾的首席财务官是谁？", "星禾的研发中心负责人是谁？"]),
    ("这款手机的屏幕尺寸和电池容量是多少？", ["这款手机的屏幕尺寸是多少？", "这款手机的电池容量是多少？"]),
    # but owners before a shared head, or both asked together, stay one question
    ("中国和美国的贸易额是多少？", ["中国和美国的贸易额是多少？"]),
    ("星禾的研发中心和生产基地之间的距离是多少？", ["星禾的研发中心和生产基地之间的距离是多少？"]),
    ("该公司的员工和门店一共有多少？", ["该公司的员工和门店一共有多少？"]),
])
def test_split_question(question, parts):
    assert split_question(question) == parts


def test_asks_for_list():
    assert asks_for_list("会议聚焦于哪些领域？") and asks_for_list("双方确定了哪三项工作？")
    assert not asks_for_list("会议在哪里举行？")
    assert asks_for_list("What work does the library renovation include?")
    assert not asks_for_list("When does the library renovation start?")
    # a count of the things wanted makes a list question without 哪 / which
    assert asks_for_list("公司的三大核心技术是什么？") and asks_for_list("今年推出的三款新产品是什么？")
    assert asks_for_list("What three results did the pilot produce?") and asks_for_list("What are the two programs?")
    assert not asks_for_list("日本是英国的第三大外资来源国吗？") and not asks_for_list("What happened two years later?")
    assert asks_for_list("Which new programs did the club launch?") and not asks_for_list("In which city was it held?")


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


def test_an_intro_that_holds_the_first_item_counts_it_and_the_next_paragraph_is_not_an_item():
    doc = ("工程主要包括三项内容：一是新建一座深度处理车间；二是更换老旧供水管网27公里；三是建设智慧水务监控平台。\n\n"
           "工程由县水务集团负责建设，青石镇人民政府负责协调征地和群众工作。\n")
    intro = "工程主要包括三项内容：一是新建一座深度处理车间；"
    items = list_items(Evidence("d", "d:0", 0, len(intro), intro, "", 0.9, 0.5, 0.8, 0), doc,
                       lambda doc_id, offset: ("d:0", "") if 0 <= offset < len(doc) else None, "工程主要包括哪三项内容？")
    assert [i.text for i in items] == ["二是更换老旧供水管网27公里；", "三是建设智慧水务监控平台。"]


def test_no_list_after_a_plain_sentence_or_from_an_item_itself():
    assert list_items(sentence("其他事项另行通知，会议于下午结束。"), DOC, one_section, "会议有哪些事项？") == []
    assert list_items(sentence("二是自由开放的国际贸易。"), DOC, one_section, "有哪些领域？") == []


def test_quote_parts_cites_each_span_once_and_names_missing_parts():
    a, b = sentence("一是经济安全。"), sentence("三是能源转型。")
    text, cited = quote_parts([[a], [b], missing_note(" 会议是在哪里举行的？ ", "zh")], "zh")
    assert text == "一是经济安全。[1]三是能源转型。[2]文档未提及：会议是在哪里举行的？" and cited == [a, b]
    text, cited = quote_parts([[a, b], [b]], "en")
    # an English question's parts quoted from Chinese sentences say so first
    assert text == "The closest passage in the documents (Chinese): 一是经济安全。[1] 三是能源转型。[2]" and cited == [a, b]
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


@pytest.mark.parametrize("text, inline", [
    ("随机配件包括以下几种：量杯一个、饭勺一把、蒸笼一个。", True),
    ("The work includes the following: a new roof, a ramp and a reading garden.", True),
    ("The kit contains spare parts such as hinges and screws.", True),
    ("会议内容聚焦于四大领域:", False),  # announces a list that follows
    ("Follow these steps before first use:", False),
    ("Note: the lid is not dishwasher-safe.", False),  # one thing after the colon
    ("The meeting was adjourned at 8 p.m.", False),
])
def test_a_sentence_carries_its_list_inline_when_two_items_follow_the_intro(text, inline):
    assert inline_list(text) is inline


MINUTES = ("2. Public comment\n"
           "Three residents spoke. Ms. Ana Ruiz asked for a bus stop; Mr. Li Wei raised parking; Dr. Omar Sy urged "
           "tree planting.\n"
           "3. Library renovation\n"
           "Work includes the following: a new roof, a ramp and a reading garden.\n"
           "4. Next meeting\n")


def minutes_sentence(text: str) -> Evidence:
    start = MINUTES.index(text)
    return Evidence("m", "m:0", start, start + len(text), text, "", 0.9, 0.5, 0.8, 0)


def minutes_section(doc_id, offset):
    return ("m:0", "") if 0 <= offset < len(MINUTES) else None


def test_the_announced_number_of_sentences_after_a_count_in_its_paragraph_are_the_items():
    items = list_items(minutes_sentence("Three residents spoke."), MINUTES, minutes_section,
                       "Which three residents spoke?")
    assert [i.text.split(" asked")[0].split(" raised")[0].split(" urged")[0] for i in items] == [
        "Ms. Ana Ruiz", "Mr. Li Wei", "Dr. Omar Sy"]
    assert all(MINUTES[i.start:i.end] == i.text for i in items)
    # four asked, three announced: the sentence announces nothing the question asks for
    assert list_items(minutes_sentence("Three residents spoke."), MINUTES, minutes_section,
                      "Which four residents spoke?") == []


def test_a_sentence_with_its_items_inline_is_not_followed_into_the_next_section():
    intro = minutes_sentence("Work includes the following: a new roof, a ramp and a reading garden.")
    assert list_items(intro, MINUTES, minutes_section, "What work does the library renovation include?") == []


def ranked(*texts_scores) -> EvidenceSet:
    evidence = EvidenceSet("q", "zh")
    start = 0
    for text, score in texts_scores:
        evidence.ranked.append(Evidence("d", "d:0", start, start + len(text), text, "", score, 0.5, 0.8, 0))
        start += len(text)
    return evidence


def test_each_part_quotes_a_close_sentence_that_names_it_over_a_best_one_that_does_not():
    parts = ["迁移方案中日志采用什么？", "迁移方案中监控采用什么？"]
    own = own_terms(parts)
    assert own == [["日志"], ["监控"]]
    evidence = ranked(("迁移方案采用 VM 部署。", 0.70), ("日志采用 Loki，监控采用 Prometheus。", 0.60), ("其他。", 0.5))
    assert naming_part(evidence, own[0]).text.startswith("日志采用")
    # a best sentence that names the part stays; a runner-up far below the best is not taken
    assert naming_part(ranked(("日志保存30天。", 0.7), ("日志采用 Loki。", 0.65)), own[0]).text == "日志保存30天。"
    assert naming_part(ranked(("迁移方案采用 VM 部署。", 0.9), ("日志采用 Loki。", 0.3)), own[0]).text.startswith("迁移")


@pytest.mark.parametrize("answer, dropped", [
    ("$1.6 million from the city's capital fund and $0.8 million from a state grant.", False),
    ("The capital fund and a state grant.", False),
    ("$1.6 million from the city's capital fund.", True),
])
def test_an_answer_that_names_some_items_of_an_enumeration_drops_the_others(answer, dropped):
    source = "The project is budgeted at $2.4 million: $1.6 million from the city's capital fund and $0.8 million " \
             "from a state grant."
    assert drops_items(answer, source, "Which two sources fund the project?") is dropped


def test_items_are_enumerated_by_the_chinese_list_comma_within_a_clause():
    source = "会议于7月在北京举行,由外交部长王林、商务部长赵敏与财政部长孙立共同主持,标志着机制启动。"
    question = "会议由哪几位部长共同主持？"
    assert not drops_items("王林、赵敏和孙立。", source, question)
    assert drops_items("王林和赵敏。", source, question)
    assert not drops_items("会议在北京举行。", source, "会议在哪里举行？")  # names no item of the run


def test_an_intro_that_holds_the_first_marked_item_is_followed_to_the_next_ones():
    doc = "风险与应对\n主要风险有两点：一是数据可能丢失，应先备份；二是经验不足，应先培训。\n其他事项。\n"
    start = doc.index("主要")
    first = "主要风险有两点：一是数据可能丢失，应先备份；"
    intro = Evidence("r", "r:0", start, start + len(first), first, "", 0.9, 0.5, 0.8, 0)
    items = list_items(intro, doc, lambda d, o: ("r:0", ""), "主要风险有哪两点？")
    assert [i.text for i in items] == ["二是经验不足，应先培训。"]


def test_an_answer_with_as_many_items_as_the_question_asks_for_drops_nothing():
    source = "日方外务大臣岩屋毅、经济产业大臣武藤容治和英方外交大臣拉米、商务大臣雷诺兹出席会议。"
    assert not drops_items("英方有拉米和雷诺兹出席。", source, "英方有哪两位大臣出席？")
    assert drops_items("英方有拉米出席。", source, "英方有哪两位大臣出席？")


FUNDING = ("Annual report\n"
           "The renovation will cost $1.2 million. The city's capital budget covers $600,000. A state grant adds "
           "$400,000. The remaining $200,000 comes from donors. Work starts in May.\n"
           "基地总投资1.8亿元。其中1亿元来自自有资金。另有5000万元为银行贷款。其余3000万元由产业基金投入。基地于2026年投产。\n"
           "基地总投资2亿元。其中1亿元来自自有资金。另有5000万元为银行贷款。\n"
           "2026年将重点推进以下工作：\n"
           "扩大产能。\n"
           "设立海外办事处。\n"
           "\n"
           "其他事项另行通知。\n")


def funding_sentence(text: str, start_at: int = 0) -> Evidence:
    start = FUNDING.index(text, start_at)
    return Evidence("f", "f:0", start, start + len(text), text, "", 0.9, 0.5, 0.8, 0)


def funding_section(doc_id, offset):
    return ("f:0", "") if 0 <= offset < len(FUNDING) else None


def test_a_total_is_followed_by_the_sentences_whose_sums_add_up_to_it():
    assert asks_how("How is the renovation funded?") and asks_how("基地投资是怎样筹集的？")
    assert not asks_how("How much will the renovation cost?")
    items = breakdown(funding_sentence("The renovation will cost $1.2 million."), FUNDING, funding_section)
    assert [i.text.split()[-1] for i in items] == ["$600,000.", "$400,000.", "donors."]
    items = breakdown(funding_sentence("基地总投资1.8亿元。"), FUNDING, funding_section)
    assert [i.text[:4] for i in items] == ["其中1亿", "另有50", "其余30"]
    # the total named by the question, shared out over sentences of the paragraph of one of them
    share = funding_sentence("A state grant adds $400,000.")
    items = breakdown(share, FUNDING, funding_section, "How is the $1.2 million funded?")
    assert [i.text.split()[-1] for i in items] == ["$600,000.", "$400,000.", "donors."]
    assert breakdown(share, FUNDING, funding_section, "How is the $2 million funded?") == []
    # shares that do not add up to the total are not its breakdown
    assert breakdown(funding_sentence("基地总投资2亿元。"), FUNDING, funding_section) == []


def test_a_line_ending_with_a_colon_is_followed_line_by_line_up_to_a_blank_line():
    items = list_items(funding_sentence("2026年将重点推进以下工作："), FUNDING, funding_section, "2026年的重点工作是什么？")
    assert [i.text for i in items] == ["扩大产能。", "设立海外办事处。"]


def test_a_part_passes_over_the_title_and_the_terms_of_the_title_and_prefers_a_dated_sentence_for_when():
    titled = ranked(("Maple Library Annual Report", 0.93), ("The library is chaired by Dana Whitfield.", 0.68))
    assert naming_part(titled, ["chairs", "maple", "library"], "Who chairs the Maple Library?").text.startswith("The")
    company = ranked(("星禾公司成立于2016年，现有员工420人。", 0.82), ("公司董事长是何建平。", 0.64))
    assert naming_part(company, ["星禾", "董事长"], "星禾的董事长是谁？", "星禾公司年度简报").text == "公司董事长是何建平。"
    assert naming_part(company, ["星禾", "董事长"], "星禾的董事长是谁？").text.startswith("星禾公司")  # no title given
    base = ranked(("基地总投资1.8亿元。", 0.9), ("扩大基地产能。", 0.77), ("基地预计于2026年投产。", 0.75))
    assert naming_part(base, ["基地"], "基地预计何时投产？").text == "基地预计于2026年投产。"
