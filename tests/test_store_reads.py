"""The store's read side on a hand-built store: documents, their exact text back from the chunks, counts, and
the generation that tells readers something changed."""

from __future__ import annotations

import hashlib

import pytest

from index.ingest import add_document
from rag.embedding import get_embedder
from rag.store import Store

SHORT = "青禾科技年假制度。员工入职满五年后享有15天带薪年假。\n"
LONG = "".join(f"第{i}条：员工申请第{i}类假期时，应提前三个工作日提交书面申请，并由部门负责人审批后报人事部备案。\n"
               for i in range(1, 13))


@pytest.fixture
def store(fresh_settings):
    store = Store(fresh_settings)
    embedder = get_embedder()
    add_document(store, embedder, fresh_settings, "leave.txt", SHORT)
    add_document(store, embedder, fresh_settings, "rules.md", LONG)
    return store


def test_documents_are_listed_in_the_order_added_and_found_by_id_or_content(store):
    docs = store.list_documents()
    assert [(d.doc_id, d.name) for d in docs] == [("leave", "leave.txt"), ("rules", "rules.md")]
    assert [d.chars for d in docs] == [len(SHORT), len(LONG)]
    assert store.get_document("rules") == docs[1] and store.get_document("nope") is None
    assert store.find_by_sha256(hashlib.sha256(LONG.encode()).hexdigest()) == docs[1]
    assert store.find_by_sha256("0" * 64) is None


def test_the_text_comes_back_exactly_from_the_chunks(store):
    rules = store.get_document("rules")
    assert rules.chunks > 1  # long enough to be split
    assert store.document_text("rules") == LONG and store.document_text("leave") == SHORT
    assert store.document_text("nope") is None
    chunks = store.get_chunks(where={"doc_id": "rules"})
    assert len(chunks) == rules.chunks
    assert all(LONG[int(m["start"]):int(m["end"])] == text for _, text, m in chunks)


def test_counts_add_up(store):
    assert store.counts() == {"documents": 2, "chunks": sum(d.chunks for d in store.list_documents())}
    assert len(list(store.iter_chunks())) == store.counts()["chunks"]


def test_a_removal_changes_the_generation_and_the_reads(store):
    before = store.generation()
    assert store.delete_document("leave") is True
    assert store.generation() != before
    assert store.get_document("leave") is None and store.document_text("leave") is None
    assert store.get_chunks(where={"doc_id": "leave"}) == []
    assert [d.doc_id for d in store.list_documents()] == ["rules"]
    assert store.delete_document("leave") is False
