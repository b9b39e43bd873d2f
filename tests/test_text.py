from hypothesis import given, settings, strategies as st

from rag.text import detect_lang, has_letters, refusal_for, sentence_spans, tokenize, trim_span


@given(st.text(alphabet="日英两国。！？；,\n ab1", max_size=200))
def test_sentence_spans_partition_the_text(text):
    spans = sentence_spans(text)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(b > a for a, b in spans)


def test_sentence_spans_split_on_chinese_terminators(corpus_text):
    spans = sentence_spans("一是经济安全。双方确认合作！好吗？")
    assert len(spans) == 3


def test_trim_span_strips_whitespace():
    assert trim_span(" ab \n", 0, 5) == (1, 3)


def test_detect_lang():
    assert detect_lang("英国哪一年正式加入CPTPP？") == "zh"
    assert detect_lang("Which year did the UK join the CPTPP?") == "en"


def test_detect_lang_mixed_text_goes_by_its_function_words_not_its_names():
    assert detect_lang("In which year was ASE (日月光半导体) founded?") == "en"
    assert detect_lang("What did 张小龙 create at Tencent?") == "en"
    assert detect_lang("OpenAI的CEO是谁？") == "zh"
    assert detect_lang("The Beatles的成员有哪些？") == "zh"
    assert detect_lang("1996年创作了个人第一部音乐专辑《The Gate Of Dreams》。") == "zh"
    assert detect_lang("2016年，日月光荣获评鉴A级评价 (The Climate A List 2016)。") == "zh"
    assert refusal_for("Who won?").startswith("The documents do not")
    assert refusal_for("谁赢了？") == "文档中没有找到相关信息，无法回答该问题。"


def test_tokenize_drops_stop_words_and_punctuation():
    tokens = tokenize("英国哪一年正式加入CPTPP？")
    assert "英国" in tokens and "cptpp" in tokens
    assert "哪一年" not in tokens and "？" not in tokens


# --- any-language segmentation ---------------------------------------------------------------------------------

from hypothesis import assume  # noqa: E402

from rag.text import EXTRA_ABBREVIATIONS  # noqa: E402

_ABBREVIATIONS = ["Dr.", "Mr.", "Mrs.", "Prof.", "U.S.", "U.K.", "e.g.", "i.e.", "No.", "Fig.", "Inc.", "St.", "approx."]
_words = st.sampled_from(["the", "report", "Hart", "library", "rose", "in", "branch", "said", "percent", "会议", "合作"])


def _cuts(text: str) -> set[int]:
    return {a for a, _ in sentence_spans(text)[1:]}


@settings(deadline=None)
@given(st.lists(st.tuples(_words, st.sampled_from([" ", ". ", "。", "! ", "\n", ", "])), max_size=40))
def test_sentence_spans_cover_mixed_text_exactly(pieces):
    text = "".join(w + sep for w, sep in pieces)
    spans = sentence_spans(text)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(b > a for a, b in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))


@settings(deadline=None)
@given(st.sampled_from(_ABBREVIATIONS), _words, _words, st.integers(0, 999), st.integers(0, 99))
def test_never_splits_inside_an_abbreviation_or_a_number(abbr, w1, w2, whole, frac):
    number = f"{whole}.{frac}"
    text = f"The {w1} met {abbr} Hart on {number} days. Then {w2} {number} left."
    cuts = _cuts(text)
    for token in (abbr, number):
        at = 0
        while (at := text.find(token, at)) >= 0:
            assert not any(at < c < at + len(token) + 1 for c in cuts), (token, text, cuts)
            at += 1
    assume(abbr not in ("No.", "Fig."))  # these take a number after them, never a name
    assert text.index("Then") in cuts


def test_english_prose_is_split_into_sentences():
    text = ("The chief librarian is Dr. Hart. She came from the U.S. Library of Congress in 2019. "
            "Visits rose 2.4 percent to 1.2 million, e.g. at the Main branch.")
    sentences = [text[a:b].strip() for a, b in sentence_spans(text)]
    assert sentences == ["The chief librarian is Dr. Hart.", "She came from the U.S. Library of Congress in 2019.",
                         "Visits rose 2.4 percent to 1.2 million, e.g. at the Main branch."]


def test_list_items_headings_and_chinese_with_english():
    text = "Opening hours\n1. Monday to Friday.\n2. Saturday. Closed Sunday.\n他说：“合作很好。”Then it ended."
    sentences = [text[a:b].strip() for a, b in sentence_spans(text)]
    assert sentences == ["Opening hours", "1. Monday to Friday.", "2. Saturday.", "Closed Sunday.", "他说：“合作很好。”",
                         "Then it ended."]


def test_extra_abbreviations_are_lower_case_without_final_dot():
    assert all(a == a.lower() and not a.endswith(".") for a in EXTRA_ABBREVIATIONS)


def test_a_cut_before_a_lower_case_word_or_after_an_unknown_short_abbreviation_is_undone():
    text = ("The pitcher is dishwasher-safe (top rack, max. 50 °C). It weighs approx. 3 kg when full. "
            "Mix it with sth. else first. I saw it. 25 people came.")
    sentences = [text[a:b].strip() for a, b in sentence_spans(text)]
    assert sentences == ["The pitcher is dishwasher-safe (top rack, max. 50 °C).", "It weighs approx. 3 kg when full.",
                         "Mix it with sth. else first.", "I saw it.", "25 people came."]


def test_has_letters():
    assert has_letters("只有") and has_letters("50 °C") and not has_letters(":212–219") and not has_letters("2019. ")


def test_squashed_compares_spellings_of_one_heading():
    from rag.text import cjk_runs, squashed
    assert squashed("Rates: 2025") == squashed("rates 2025") == "rates2025"
    assert squashed("《招生 规则》") == "招生规则"
    assert cjk_runs("Zhou 周立群, 副总经理") == ["周立群", "副总经理"]
