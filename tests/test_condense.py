"""Follow-up questions borrow the subject of the previous user question; others stand alone."""

from rag.condense import asked_part, is_follow_up, previous_question, standalone_question

HISTORY = [{"role": "user", "content": " 日英经济版2+2会议在哪里举行？ "},
           {"role": "assistant", "content": "在东京举行。[1]"}]


def test_previous_question_is_the_last_non_empty_user_turn():
    assert previous_question(HISTORY) == "日英经济版2+2会议在哪里举行？"
    assert previous_question(HISTORY + [{"role": "user", "content": "  "}]) == "日英经济版2+2会议在哪里举行？"
    assert previous_question([{"role": "assistant", "content": "你好"}]) is None
    assert previous_question([]) is None


def test_a_follow_up_is_prefixed_with_the_previous_question():
    assert standalone_question("那次会议由谁主持？", HISTORY) == "日英经济版2+2会议在哪里举行？ 那次会议由谁主持？"
    assert standalone_question("What about its date?", HISTORY).endswith(" What about its date?")


def test_a_self_contained_question_or_no_history_is_left_alone():
    q = "英国哪一年正式加入CPTPP成为首个域外成员？"
    assert not is_follow_up(q)
    assert standalone_question(q, HISTORY) == q
    assert standalone_question("那次会议由谁主持？", []) == "那次会议由谁主持？"


def test_a_very_short_question_counts_as_a_follow_up():
    assert is_follow_up("时间？") and not is_follow_up("Who chaired the second meeting of the dialogue?")


def test_a_request_or_thanks_after_the_question_is_not_part_of_what_is_asked():
    assert asked_part("英国哪一年加入CPTPP？请给出出处。") == "英国哪一年加入CPTPP？"
    assert asked_part("Who is the chief librarian? Thanks!") == "Who is the chief librarian?"
    # context before the question and a second question stay; text without a question mark is left alone
    assert asked_part("背景：A公司收购了B。它花了多少钱？") == "背景：A公司收购了B。它花了多少钱？"
    assert asked_part("英国哪一年加入CPTPP？具体是怎样的？") == "英国哪一年加入CPTPP？具体是怎样的？"
    assert asked_part("请介绍会议的内容") == "请介绍会议的内容"
