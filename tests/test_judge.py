"""The judge's prompts: the check after the answer starts as the judge's prompt does, up to the question, so that
llama.cpp's prompt cache holds everything but the answer and its last line."""

from os.path import commonprefix

import pytest

from rag.judge import judge_prompt, support_prompt

EVIDENCE = {"zh": ["英国于2024年12月正式加入CPTPP。", "日英首次经济版“2+2”会议在东京举行。"],
            "en": ["The garden rents out 42 plots.", "Volunteers gave 1,240 hours of work."]}
QUESTION = {"zh": "英国哪一年加入CPTPP？", "en": "How many plots does the garden rent out?"}
ANSWER = {"zh": "英国于2024年加入。", "en": "42 plots."}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_support_prompt_shares_the_judge_prompt_up_to_the_question(lang):
    before = judge_prompt(QUESTION[lang], EVIDENCE[lang], lang)
    after = support_prompt(QUESTION[lang], EVIDENCE[lang], ANSWER[lang], lang)
    shared = commonprefix([before, after])
    assert shared.startswith("<|im_start|>system\n") and shared.endswith(QUESTION[lang] + "\n")
    assert all(s in shared for s in EVIDENCE[lang])
    tail = after[len(shared):]  # what llama.cpp still has to evaluate: the answer and the question about it
    assert ANSWER[lang] in tail and not any(s in tail for s in EVIDENCE[lang])
    assert len(tail) < len(shared) / 2


def test_only_the_last_line_of_the_support_prompt_depends_on_the_answer():
    a = support_prompt(QUESTION["zh"], EVIDENCE["zh"], "英国于2024年加入。", "zh")
    b = support_prompt(QUESTION["zh"], EVIDENCE["zh"], "英国于2023年加入。", "zh")
    assert a != b and commonprefix([a, b]).endswith("【回答】英国于202")
