"""The judge's prompts: the check after the answer continues the judge's own conversation, so that llama.cpp's
prompt cache holds everything but its last turn."""

import pytest

from rag.judge import judge_prompt, support_prompt

EVIDENCE = {"zh": ["英国于2024年12月正式加入CPTPP。", "日英首次经济版“2+2”会议在东京举行。"],
            "en": ["The garden rents out 42 plots.", "Volunteers gave 1,240 hours of work."]}
QUESTION = {"zh": "英国哪一年加入CPTPP？", "en": "How many plots does the garden rent out?"}
ANSWER = {"zh": "英国于2024年加入。", "en": "42 plots."}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_support_prompt_starts_with_the_judge_prompt(lang):
    before = judge_prompt(QUESTION[lang], EVIDENCE[lang], lang)
    after = support_prompt(QUESTION[lang], EVIDENCE[lang], ANSWER[lang], lang)
    assert after.startswith(before)
    tail = after[len(before):]
    # only the answer and the new question follow; the evidence is not repeated
    assert ANSWER[lang] in tail and not any(s in tail for s in EVIDENCE[lang])
    assert tail.endswith("<|im_start|>assistant\n") and tail.count("<|im_start|>user\n") == 1


def test_the_support_prompt_changes_with_the_answer_only_in_its_last_turn():
    a = support_prompt(QUESTION["zh"], EVIDENCE["zh"], "英国于2024年加入。", "zh")
    b = support_prompt(QUESTION["zh"], EVIDENCE["zh"], "英国于2023年加入。", "zh")
    prefix = judge_prompt(QUESTION["zh"], EVIDENCE["zh"], "zh")
    assert a != b and a.startswith(prefix) and b.startswith(prefix)
