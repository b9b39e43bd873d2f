"""What a sentence's key terms may be found in besides the sentence (#12): the document's title, its section and the
text before it, never the text after it. A term only in the next sentence belongs to what that sentence is about
(a sibling building, product or year), so it must not make a sentence about another thing look like the answer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from llama_index.core.schema import NodeWithScore, TextNode

from conftest import NoSentenceVectors, ZeroEmbedder
from index.chunker import chunk_text
from index.ingest import chunk_node
from rag.bm25 import BM25
from rag.evidence import EvidenceScorer, look_back
from rag.text import title_of
from rag.store import Store

REPORT = (
    "Pinecrest Marina: 2026 Season Report\n\n"
    "Docks\n"
    "The north dock was rebuilt in May at a cost of $61,000, paid by the harbour fund. A new fuel pier opened in "
    "August, built by the marina crew. It serves 40 boats a day during the summer.\n\n"
    "Staff\n"
    "The harbour master is Ines Duval, who joined in 2019. Her deputy is Tom Reyes. He runs the summer sailing "
    "school, which taught 120 children this year. The school's boats are kept in the west shed, which was painted "
    "in April. The shed also holds the rescue launch. It was bought in 2024 for $38,000 and is crewed by two "
    "volunteers on weekends.\n"
)


def _node(doc_id: str, chunk_id: str, text: str, start: int, section: str = "") -> NodeWithScore:
    meta = {"doc_id": doc_id, "doc_name": f"{doc_id}.txt", "chunk_id": chunk_id, "start": start,
            "end": start + len(text), "section": section}
    return NodeWithScore(node=TextNode(id_=chunk_id, text=text, metadata=meta), score=1.0)


def _score(question: str, nodes: list[NodeWithScore], store=None):
    bm25 = BM25.build([n.node.node_id for n in nodes], [n.node.get_content() for n in nodes])
    return EvidenceScorer(store or NoSentenceVectors(), ZeroEmbedder()).score(question, nodes, bm25)


def _sentence(evidence, starts_with: str):
    return next(e for e in evidence.ranked if e.text.startswith(starts_with))


def _stored(tmp_settings) -> tuple[Store, list[NodeWithScore]]:
    """REPORT chunked and written to a real store as the indexer writes it; the chunks as retrieval returns them."""
    store = Store(tmp_settings)
    chunks = chunk_text(REPORT)
    store.add_chunks([chunk_node("marina", "marina.txt", f"marina:{i:05d}", "v1", c, [1.0, 0.0, float(i)])
                      for i, c in enumerate(chunks)])
    return store, [_node("marina", f"marina:{i:05d}", c.text, c.start, c.section) for i, c in enumerate(chunks)]


def test_a_term_only_in_the_following_sentence_does_not_cover():
    chunk = ("The north dock was rebuilt in May at a cost of $61,000, paid by the harbour fund. A new fuel pier opened "
             "in August, built by the marina crew.")
    dock = _sentence(_score("How much did the new fuel pier cost?", [_node("m", "m:0", chunk, 0)]), "The north dock")
    assert {"fuel", "pier"} <= set(dock.missing)
    assert "fuel pier" not in dock.context


def test_a_term_in_a_preceding_sentence_covers():
    chunk = "A new fuel pier opened in August, built by the marina crew. It serves 40 boats a day."
    serves = _sentence(_score("How many boats a day does the fuel pier serve?", [_node("m", "m:0", chunk, 0)]), "It serves")
    assert "fuel" not in serves.missing and "pier" not in serves.missing


def test_the_same_sentences_in_the_other_order_swap_which_one_is_covered():
    before = "The fuel pier opened in August. It cost $9,000."
    after = "It cost $9,000. The fuel pier opened in August."
    question = "How much did the fuel pier cost?"
    assert "pier" not in _sentence(_score(question, [_node("m", "m:0", before, 0)]), "It cost").missing
    assert "pier" in _sentence(_score(question, [_node("m", "m:0", after, 0)]), "It cost").missing


@settings(max_examples=30, deadline=None)
@given(order=st.permutations(range(3)), asked=st.integers(0, 2))
def test_a_name_covers_exactly_the_sentences_after_it(order, asked):
    """Three sentences, each naming one thing; whatever their order, the asked thing's name counts for a sentence
    (is not missing) exactly when the sentence names it or comes after it."""
    names = ["heron", "kestrel", "osprey"]
    sentences = [f"The {names[i]} model was tested in spring." for i in order]
    evidence = _score(f"When was the {names[asked]} model tested?", [_node("m", "m:0", " ".join(sentences), 0)])
    at = order.index(asked)
    for pos, i in enumerate(order):
        e = _sentence(evidence, sentences[pos][:-1])
        assert (names[asked] not in e.missing) == (pos >= at), (sentences, names[asked], e.missing)


def test_the_title_and_the_previous_chunk_of_the_section_are_looked_back_to(fresh_settings):
    store, nodes = _stored(fresh_settings)
    staff = [n for n in nodes if n.node.metadata["section"] == "Staff"]
    assert len(staff) >= 2, "the Staff section should span two chunks"
    later = staff[1]
    title, earlier = look_back(store, [later])[later.node.node_id]
    assert title == "Pinecrest Marina: 2026 Season Report"
    assert "Tom Reyes" in earlier and "fuel pier" not in earlier  # the section's earlier text, not another section's


def test_the_title_covers_a_sentence_in_a_chunk_without_it(fresh_settings):
    store, nodes = _stored(fresh_settings)
    docks = next(n for n in nodes if n.node.metadata["section"] == "Docks")
    assert "Pinecrest" not in docks.node.get_content()
    question = "How many boats a day does the Pinecrest Marina fuel pier serve?"
    with_store = _sentence(_score(question, [docks], store), "It serves")
    assert "pinecrest" not in with_store.missing and "marina" not in with_store.missing
    alone = _sentence(_score(question, [docks]), "It serves")  # no document beyond the chunk: only the file name
    assert "pinecrest" in alone.missing and with_store.coverage > alone.coverage


def test_a_term_of_another_section_does_not_cover(fresh_settings):
    store, nodes = _stored(fresh_settings)
    staff = [n for n in nodes if n.node.metadata["section"] == "Staff"]
    evidence = _score("How much did the fuel pier cost?", staff, store)
    bought = _sentence(evidence, "It was bought in 2024")
    assert {"fuel", "pier"} <= set(bought.missing)


def test_a_title_is_a_short_first_line_without_a_sentence_end():
    assert title_of("Pinecrest Marina: 2026 Season Report\n\nDocks\n…") == "Pinecrest Marina: 2026 Season Report"
    assert title_of("临江市2025年节假日旅游数据\n\n春节假期\n…") == "临江市2025年节假日旅游数据"
    assert title_of("The marina reopened in May after a long winter.\nMore text.") == ""
    assert title_of("x" * 101 + "\nMore text.") == ""


def test_a_sentence_opening_with_a_pronoun_ranks_on_the_terms_of_the_sentence_before_it():
    """"It serves 40 boats a day." names the pier only through "It": its ranking score counts the terms of the sentence
    it refers back to; the same words after a sentence about something else, or after a sentence naming its own
    subject, rank on their own words only."""
    question = "How many boats a day does the fuel pier serve?"
    chunks = ["A new fuel pier opened in August, built by the marina crew. It serves 40 boats a day.",
              "Sailing dinghies are kept in the west shed. It serves 40 boats a day in summer.",
              "A new fuel pier opened in August, built by the marina crew. The west shed serves 40 boats a day."]
    evidence = _score(question, [_node(f"m{i}", f"m{i}:0", c, 0) for i, c in enumerate(chunks)])
    pier, shed = [e for e in evidence.ranked if e.text.startswith("It serves")]
    pier, shed = (pier, shed) if pier.doc_id == "m0" else (shed, pier)
    named = _sentence(evidence, "The west shed serves")
    assert pier.lexical > shed.lexical
    assert pier.lexical > named.lexical

def test_the_first_sentence_of_a_chunk_refers_back_into_the_previous_chunk():
    from rag.evidence import previous_sentence
    assert previous_sentence("Pinecrest Marina\nThe fuel pier opened in August. Boats queue.", "It serves 40.", 0) \
        == "Boats queue."
    text = "The fuel pier opened. It serves 40."
    assert previous_sentence("", text, text.index("It")).strip() == "The fuel pier opened."


def test_a_sentence_ranks_on_the_topic_its_heading_names():
    """Two documents say the same of their own company; the question names one. The sentence under that company's
    heading outranks the other's, though neither sentence names a company (ranking reads the heading too)."""
    question = "How many people will the new Norvale plant employ?"
    arden = _node("arden", "arden:0", "The new plant will employ 300 people.", 0, section="Arden Mills")
    norvale = _node("norvale", "norvale:0", "The new plant will employ 450 people.", 0, section="Norvale Foods")
    for nodes in ([arden, norvale], [norvale, arden]):  # whichever chunk retrieval ranked first
        best = _score(question, nodes).ranked[0]
        assert best.doc_id == "norvale", [(e.doc_id, e.score) for e in _score(question, nodes).ranked]
