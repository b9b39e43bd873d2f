"""The judge's prompts: the quick support check starts as the judge's prompt does, up to the question, so that
llama.cpp's prompt cache holds everything but the answer and its last line; the full check does not."""

from os.path import commonprefix

import pytest

from rag.judge import judge_prompt, quick_support_prompt, support_prompt

EVIDENCE = {"zh": ["英国于2024年12月正式加入CPTPP。", "日英首次经济版“2+2”会议在东京举行。"],
            "en": ["The garden rents out 42 plots.", "Volunteers gave 1,240 hours of work."]}
QUESTION = {"zh": "英国哪一年加入CPTPP？", "en": "How many plots does the garden rent out?"}
ANSWER = {"zh": "英国于2024年加入。", "en": "42 plots."}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_quick_support_prompt_shares_the_judge_prompt_up_to_the_question(lang):
    before = judge_prompt(QUESTION[lang], EVIDENCE[lang], lang)
    after = quick_support_prompt(QUESTION[lang], EVIDENCE[lang], ANSWER[lang], lang)
    shared = commonprefix([before, after])
    assert shared.startswith("<|im_start|>system\n") and shared.endswith(QUESTION[lang] + "\n")
    assert all(s in shared for s in EVIDENCE[lang])
    tail = after[len(shared):]  # what llama.cpp still has to evaluate: the answer and the question about it
    assert ANSWER[lang] in tail and not any(s in tail for s in EVIDENCE[lang])
    assert len(tail) < len(shared) / 2


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_full_check_asks_the_same_question_under_its_own_system_message(lang):
    quick = quick_support_prompt(QUESTION[lang], EVIDENCE[lang], ANSWER[lang], lang)
    full = support_prompt(QUESTION[lang], EVIDENCE[lang], ANSWER[lang], lang)
    user = "<|im_start|>user\n"
    assert quick != full and quick[quick.index(user):] == full[full.index(user):]
