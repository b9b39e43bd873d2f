"""The sample article is a first-run convenience: indexed once on a fresh store, never brought back."""

from __future__ import annotations

import subprocess
import sys

from conftest import settings_env
from index.setup import ensure_index
from rag.store import Store


def test_sample_is_indexed_once_and_not_again_after_the_user_removed_everything(fresh_settings, capsys):
    ensure_index(fresh_settings)
    store = Store(fresh_settings)
    sample = [d.doc_id for d in store.list_documents()]
    assert sample == ["japan-uk-economic-2plus2"]
    assert "first start" in capsys.readouterr().err

    for doc_id in sample:
        store.delete_document(doc_id)
    ensure_index(fresh_settings)  # the next start
    assert Store(fresh_settings).counts()["documents"] == 0
    assert "rag index --sample" in capsys.readouterr().err

    r = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--sample"], env=settings_env(fresh_settings),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert [d.doc_id for d in Store(fresh_settings).list_documents()] == sample


def test_an_existing_store_is_marked_set_up_without_adding_the_sample(fresh_settings, tmp_path):
    from index.ingest import index_paths

    own = tmp_path / "notes.txt"
    own.write_text("会议纪要\n本周五下午三点在三楼会议室讨论新办公室的搬迁计划，预计下月完成搬迁。\n", encoding="utf-8")
    index_paths([own], fresh_settings, progress=False)
    ensure_index(fresh_settings)
    store = Store(fresh_settings)
    assert [d.doc_id for d in store.list_documents()] == ["notes"]
    store.delete_document("notes")
    ensure_index(fresh_settings)
    assert store.counts()["documents"] == 0
