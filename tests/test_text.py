from hypothesis import given, strategies as st

from rag.text import detect_lang, refusal_for, sentence_spans, tokenize, trim_span


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
    assert refusal_for("Who won?").startswith("The documents do not")
    assert refusal_for("谁赢了？") == "文档中没有找到相关信息，无法回答该问题。"


def test_tokenize_drops_stop_words_and_punctuation():
    tokens = tokenize("英国哪一年正式加入CPTPP？")
    assert "英国" in tokens and "cptpp" in tokens
    assert "哪一年" not in tokens and "？" not in tokens
