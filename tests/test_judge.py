"""The judge's prompts: the quick support check starts as the judge's prompt does, up to the question, so that
llama.cpp's prompt cache holds everything but the answer and its last line; the full check does not."""

from os.path import commonprefix

import pytest

from rag.judge import (AnswerabilityJudge, Extraction, extract_prompt, extraction, judge_prompt, quick_support_prompt,
                       support_prompt)

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


@pytest.mark.parametrize("reply, span", [
    ("NONE", ""), ("None.", ""), ("无", ""), ("“无”。", ""), ("", ""),
    ("2024年", "2024年"), ("\"42 plots\"\nThe passage says so.", "42 plots"),
    ("无锡市", "无锡市"), ("Nonesuch Press", "Nonesuch Press"),  # a span that only starts like "none" is a span
])
def test_a_copied_span_is_read_from_the_first_line_and_none_means_no_span(reply, span):
    assert extraction(reply).span == span


def test_the_extraction_is_asked_over_the_judges_passage_and_question():
    for lang in ("zh", "en"):
        prompt = extract_prompt(QUESTION[lang], EVIDENCE[lang], lang)
        judged = judge_prompt(QUESTION[lang], EVIDENCE[lang], lang)
        user = "<|im_start|>user\n"
        body = commonprefix([prompt[prompt.index(user):], judged[judged.index(user):]])
        assert all(s in body for s in EVIDENCE[lang]) and QUESTION[lang] in body
        assert ("无" if lang == "zh" else "NONE") in prompt[len(body):]


def test_the_judge_asks_the_server_for_a_short_span_and_reads_its_text(monkeypatch):
    sent = []

    class Reply:
        def raise_for_status(self):
            pass

        def json(self):
            return {"choices": [{"text": " 2024年\n"}]}

    def post(url, json, headers, timeout):
        sent.append(json)
        return Reply()

    monkeypatch.setattr("rag.judge.httpx.post", post)
    got = AnswerabilityJudge("http://127.0.0.1:1/v1").extract(QUESTION["zh"], EVIDENCE["zh"], "zh")
    assert got == Extraction("2024年")
    assert sent[0]["max_tokens"] > 1 and sent[0]["stop"] == ["\n"] and sent[0]["prompt"].endswith("assistant\n")

    def fail(*a, **k):
        raise OSError("down")

    monkeypatch.setattr("rag.judge.httpx.post", fail)
    assert AnswerabilityJudge("http://127.0.0.1:1/v1").extract(QUESTION["zh"], EVIDENCE["zh"], "zh") is None


def test_p_none_is_the_share_of_first_tokens_that_start_saying_there_is_none():
    top = [("无", -0.5), ("202", -1.5), ("NON", -3.0), ("英国", -4.0)]
    expected = (0.6065 + 0.0498) / (0.6065 + 0.2231 + 0.0498 + 0.0183)
    assert extraction("无", top).none == pytest.approx(expected, abs=1e-3)
    assert extraction("无锡", [("无锡", -0.1), ("无", -3.0)]).none < 0.1  # a word that starts with 无 is a span
    assert extraction("2024年").none is None  # no alternatives given: no probability


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_run_of_sentences_is_headed_once_by_where_it_comes_from(lang):
    sources = ["maple creek annual report 2025 · New Programs"] * 2
    prompt = judge_prompt(QUESTION[lang], EVIDENCE[lang], lang, sources)
    assert prompt.count("maple creek annual report 2025 · New Programs") == 1
    assert prompt.index("annual report 2025") < prompt.index(EVIDENCE[lang][0]) < prompt.index(EVIDENCE[lang][1])
    mixed = judge_prompt(QUESTION[lang], EVIDENCE[lang], lang, ["report A", "report B"])
    assert mixed.index("report A") < mixed.index(EVIDENCE[lang][0]) < mixed.index("report B") < mixed.index(
        EVIDENCE[lang][1])
    assert "report" not in judge_prompt(QUESTION[lang], EVIDENCE[lang], lang)  # no sources: bare sentences


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_with_sources_the_quick_check_still_shares_the_judges_prompt(lang):
    sources = ["garden report 2025", "garden report 2025"]
    before = judge_prompt(QUESTION[lang], EVIDENCE[lang], lang, sources)
    after = quick_support_prompt(QUESTION[lang], EVIDENCE[lang], ANSWER[lang], lang, sources)
    shared = commonprefix([before, after])
    assert "garden report 2025" in shared and shared.endswith(QUESTION[lang] + "\n")
