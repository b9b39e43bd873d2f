from hypothesis import given, settings as hsettings, strategies as st

from index.chunker import chunk_text, find_headings

SENTENCE = st.text(alphabet="日英两国经济安全合作供应链ab12 ", min_size=0, max_size=120).map(
    lambda s: s + "。")
DOCUMENT = st.lists(st.one_of(SENTENCE, st.just("\n"), st.just("短标题\n")), max_size=40).map("".join)


def _assert_exact_and_covering(text, chunks):
    assert all(text[c.start:c.end] == c.text for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert covered == set(range(len(text)))


@hsettings(max_examples=200, deadline=None)
@given(DOCUMENT, st.integers(20, 120), st.integers(0, 200))
def test_offsets_are_exact_and_chunks_cover_the_document(text, min_chars, extra):
    max_chars = min_chars + 40 + extra
    chunks = chunk_text(text, min_chars, max_chars)
    _assert_exact_and_covering(text, chunks)
    # chunks only exceed the limit when a tail is absorbed (at most 1.5x)
    assert all(len(c.text) <= max_chars * 3 // 2 for c in chunks)


def test_article_headings_become_sections(corpus_text):
    titles = [corpus_text[a:b] for a, b in find_headings(corpus_text)]
    assert titles == ["聚焦经济安全和自由贸易", "经济版“2+2”缘何兴起", "“日英同盟”或将重现?"]
    chunks = chunk_text(corpus_text)
    _assert_exact_and_covering(corpus_text, chunks)
    assert {c.section for c in chunks} == {"", *titles}
    cptpp = next(c for c in chunks if "英国于2024年正式加入CPTPP" in c.text)
    assert cptpp.section == "“日英同盟”或将重现?"


def test_article_chunks_respect_size_and_overlap(corpus_text):
    chunks = chunk_text(corpus_text, 150, 300)
    assert all(len(c.text) <= 450 for c in chunks)
    same_section = [(a, b) for a, b in zip(chunks, chunks[1:]) if a.section == b.section]
    assert same_section and all(b.start < a.end for a, b in same_section)  # one sentence of overlap


def test_long_sentence_is_cut_only_when_needed():
    text = "甲" * 700 + "。短句。"
    chunks = chunk_text(text, 50, 300)
    _assert_exact_and_covering(text, chunks)
    assert max(len(c.text) for c in chunks) <= 300
