"""Evidence helpers on hand-built sentences: which sentences an answer quotes, the language pair, what a question
asks for and whether a sentence gives it."""

from __future__ import annotations

import pytest

from rag.evidence import Evidence, EvidenceSet, asked_types, fills, is_title_line, key_terms, numbers_agree, term_in


def ev(text: str, score: float, start: int, doc_id: str = "d", lang: str = "zh") -> Evidence:
    return Evidence(doc_id, f"{doc_id}:0", start, start + len(text), text, "", score, 0.5, 0.8, 0, lang=lang)


def test_selected_keeps_close_runners_up_in_document_order():
    best, close, far, late = ev("甲。", 0.9, 50), ev("乙。", 0.8, 10), ev("丙。", 0.5, 0), ev("丁。", 0.85, 90)
    evidence = EvidenceSet("问题？", "zh", [best, close, far, late])
    assert evidence.selected(3) == [close, best]  # 0.8 ≥ 0.85 × 0.9; 丙 is too weak; 丁 is fourth
    assert evidence.selected(4) == [close, best, late]
    assert evidence.selected(1) == [best]
    assert EvidenceSet("问题？", "zh").selected() == []


def test_the_pair_is_question_language_then_source_language():
    assert EvidenceSet("When?", "en", [ev("甲。", 0.9, 0)]).pair == "en-zh"
    assert EvidenceSet("何时？", "zh", [ev("In May.", 0.9, 0, lang="en")]).pair == "zh-en"
    assert EvidenceSet("When?", "en").pair == "en-en"  # nothing found: the question's own language


@pytest.mark.parametrize("question, kinds", [
    ("英国哪一年正式加入CPTPP？", ["year"]), ("Which year did the UK join?", ["year"]),
    ("日本外务大臣是谁？", ["person"]), ("会议在哪里举行？", ["place"]), ("有多少人参加？", ["number"]),
    ("How tall is Tokyo Tower?", []), ("快煮模式需要多长时间？", ["duration"]), ("扩容需要多久？", ["duration"]),
    ("运动会几点开始？", ["clock"]), ("What time does the concert start?", ["clock"]),
    ("At what time of year do geese migrate?", []), ("运动会什么时候开始？", ["date"]),
])
def test_asked_types(question, kinds):
    assert asked_types(question) == kinds


def test_key_terms_are_the_content_words_lower_cased():
    assert key_terms("英国哪一年正式加入CPTPP？") == ["英国", "正式", "加入", "cptpp"]  # a year asks for no kind of thing
    assert key_terms("Which year did the UK join?") == ["uk", "join"]


def test_a_how_long_or_how_many_phrase_and_its_pieces_are_not_key_terms():
    assert key_terms("快煮模式需要多长时间？") == ["快", "煮", "模式", "需要"]  # not 多长, 时间, 长时间, 多长时间
    assert key_terms("会议持续了多少天？") == ["会议", "持续"]


def test_a_duration_is_a_count_with_a_unit_of_time():
    question = "快煮模式需要多长时间？"
    assert fills("duration", "快煮模式约28分钟即可完成。", question)
    assert fills("duration", "扩容一次需要约两小时。", question)
    assert not fills("duration", "内置16种烹饪模式，包括快煮。", question)  # a count, but of modes


def test_a_time_of_day_is_not_given_by_a_date():
    question = "运动会几点开始？"
    assert fills("clock", "运动会于上午九点在田径场开幕。", question)
    assert fills("clock", "The concert begins at 7 p.m. in the hall.", "What time does the concert start?")
    assert fills("clock", "家长会定于周五14:30举行。", question)
    assert not fills("clock", "运动会定于4月18日至19日在学校田径场举行。", question)
    assert not fills("clock", "The concert is on May 3.", "What time does the concert start?")


def test_a_sentence_fills_the_asked_kind_only_with_a_value_the_question_does_not_give():
    assert fills("year", "英国于2024年加入。", "英国哪一年加入？")
    assert not fills("year", "英国已正式加入。", "英国哪一年加入？")
    assert not fills("year", "2024年英国加入。", "2024年英国哪一年加入？")  # only the question's own year


def test_numbers_in_the_question_must_appear_in_the_sentence():
    assert numbers_agree("2024年的GDP是多少？", "2024年GDP增长。")
    assert not numbers_agree("2024年的GDP是多少？", "2023年GDP增长。")


@pytest.mark.parametrize("chunk, line, title", [
    ("Northwind Handbook\nThe handbook applies to all staff.\n", "Northwind Handbook", True),
    ("一、背景\n订单系统运行在32台服务器上。\n", "一、背景", True),
    ("前言。\n一、背景\n订单系统运行在32台服务器上。\n", "一、背景", True),  # a heading above its paragraph
    ("正文。\n本文出自“世界知识”\n", "本文出自“世界知识”", False),  # a closing line, no paragraph below
    ("Intro.\n- Cartridge life: 150 liters\nMore.\n", "- Cartridge life: 150 liters", False),  # label: value
    ("Intro.\nThe meeting ended at noon.\nMore.\n", "The meeting ended at noon.", False),
    ("订单系统运行在32台服务器上，扩容一次需要约两小时，峰值", "峰值", False),  # the chunk ends inside a sentence
])
def test_a_title_line_is_a_whole_line_without_closing_punctuation(chunk, line, title):
    a = chunk.index(line)
    assert is_title_line(chunk, a, a + len(line), at_document_start=True) is title


def test_a_heading_that_opens_a_chunk_is_a_title_line():
    chunk = "3. Library renovation\nThe city manager presented the renovation plan and its budget in full.\n"
    assert is_title_line(chunk, 0, len("3. Library renovation"), at_document_start=False)
    chunk = "二、目标\n本次迁移设定三个目标，并在第二季度完成。\n"
    assert is_title_line(chunk, 0, len("二、目标"), at_document_start=False)


def test_a_chunk_that_starts_inside_a_sentence_does_not_open_a_title_line():
    chunk = "ended at noon\nThe council adjourned.\n"
    assert is_title_line(chunk, 0, len("ended at noon"), at_document_start=False) is False
    assert is_title_line(chunk, 0, len("ended at noon"), at_document_start=True) is True


def test_an_english_key_term_is_covered_by_another_form_of_its_word():
    assert term_in("coordinator", "she coordinates the volunteers")  # Snowball: both "coordin"
    assert term_in("employs", "the library employed 40 people")  # the crude stem: "employ"
    assert term_in("donation", "residents donated 300 books")
    assert not term_in("coordinator", "she leads the volunteers") and not term_in("staff", "40 people work there")
