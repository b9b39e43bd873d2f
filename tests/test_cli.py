import json
import subprocess
import sys

from conftest import settings_env


def _rag(settings, *args):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=settings_env(settings), timeout=120)


def test_cli_ask_json(indexed_settings, corpus_text):
    out = _rag(indexed_settings, "ask", "英国哪一年正式加入CPTPP？", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert "2024" in body["answer"]
    c = body["citations"][0]
    assert corpus_text[c["start"]:c["end"]] == c["text"]


def test_cli_index_and_docs(fresh_settings, tmp_path):
    doc = tmp_path / "extra.txt"
    doc.write_text("测试文档说明了一件事。东京是日本首都。\n", encoding="utf-8")
    out = _rag(fresh_settings, "index", str(doc))
    assert out.returncode == 0 and "indexed 1 docs" in out.stdout
    out = _rag(fresh_settings, "docs", "list")
    assert out.stdout.startswith("extra\textra.txt")
    assert _rag(fresh_settings, "docs", "rm", "extra").returncode == 0
    assert _rag(fresh_settings, "docs", "rm", "extra").returncode == 1


def test_cli_rejects_empty_question(indexed_settings):
    out = _rag(indexed_settings, "ask", "  ")
    assert out.returncode == 2 and "empty" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_second_document_answerable_then_refused_after_rm(indexed_copy, tmp_path):
    settings = indexed_copy
    doc = tmp_path / "leave.txt"
    doc.write_text("青禾科技年假制度。员工入职满五年后享有15天带薪年假。\n", encoding="utf-8")
    question = "员工入职满五年后有多少天带薪年假？"
    assert json.loads(_rag(settings, "ask", question, "--json").stdout)["refused"] is True
    assert _rag(settings, "index", str(doc)).returncode == 0
    body = json.loads(_rag(settings, "ask", question, "--json").stdout)
    assert not body["refused"] and "15" in body["answer"] and body["citations"][0]["doc_id"] == "leave"
    assert _rag(settings, "docs", "rm", "leave").returncode == 0
    assert json.loads(_rag(settings, "ask", question, "--json").stdout)["refused"] is True
