import json

import pytest

from evals.dataset import load_dataset
from evals.harness import Config, aggregate, check_thresholds, score_turn
from evals.dataset import Row, Turn
from evals.metrics import answer_correct, citation_support, faithfulness, first_hit_rank


def test_answer_correct_is_whitespace_and_case_insensitive():
    assert answer_correct("The UK joined in 2024 [1]", ["2024"], [])
    assert answer_correct("拉米 和 雷诺兹", ["拉米", "雷诺兹"], [])
    assert not answer_correct("拉米", ["拉米", "雷诺兹"], [])
    assert answer_correct("in TOKYO", [], ["Tokyo", "东京"])
    assert not answer_correct("in Osaka", [], ["Tokyo", "东京"])


def test_first_hit_rank_and_citation_support():
    assert first_hit_rank(["abc", "x 2024 年", "2024年"], "2024年") == 2
    assert first_hit_rank(["abc"], "2024") is None
    cites = [{"doc_id": "d", "start": 0, "end": 5}, {"doc_id": "d", "start": 10, "end": 12},
             {"doc_id": "e", "start": 0, "end": 5}]
    assert citation_support(cites, (4, 8), "d") == [True, False, False]


def test_faithfulness_counts_content_found_in_citations():
    assert faithfulness("英国于2024年加入CPTPP[1]", ["英国于2024年正式加入CPTPP"]) == 1.0
    half = faithfulness("英国于2030年加入CPTPP", ["英国加入CPTPP"])
    assert 0 < half < 1


def test_dataset_loader_reports_bad_rows_with_line_numbers(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "question": "谁？", "answers": ["x"], "extra": 1}),
        "{not json",
        json.dumps({"id": "b", "question": ""}),
        json.dumps({"id": "c", "turns": [{"question": "一"}, {"question": "二", "answers": ["y"]}]}),
        json.dumps({"id": "d", "question": "q", "answers": "notalist"}),
    ]), encoding="utf-8")
    rows, problems = load_dataset(path)
    assert [r.id for r in rows] == ["a", "c"] and rows[1].multi_turn
    assert [p.split(":")[1] for p in problems] == ["2", "3", "5"]


def _result(**kw):
    row = Row("r", [Turn("q", ["2024"], [], "2024年")], unanswerable=kw.pop("unanswerable", False))
    docs = {"d": "英国于2024年加入"}
    return score_turn(row, 0, kw, docs)


def test_aggregate_on_hand_made_cases():
    good = _result(answer="2024年[1]", refused=False, citations=[{"n": 1, "doc_id": "d", "start": 3, "end": 8, "text": "2024年"}],
                   retrieved=[{"text": "英国于2024年加入"}], timings_ms={"total": 10})
    wrong_cite = _result(answer="2024 [1]", refused=False, citations=[{"n": 1, "doc_id": "d", "start": 0, "end": 2, "text": "英国"}],
                         retrieved=[{"text": "x"}, {"text": "2024年"}], timings_ms={"total": 30})
    refused = _result(answer="无法回答", refused=True, citations=[], retrieved=[], timings_ms={"total": 20}, unanswerable=True)
    summary = aggregate([good, wrong_cite, refused])
    assert summary["accuracy"] == 1.0 and summary["refusal_accuracy"] == 1.0
    assert summary["hit@1"] == 0.5 and summary["mrr"] == 0.75
    assert summary["offset_validity"] == 1.0
    assert summary["citation_precision"] == 0.5 and summary["citation_recall"] == 0.5
    assert summary["p50_total_ms"] == 20


def test_thresholds_and_config_parsing():
    assert Config.parse("extractive:hybrid:5").name == "extractive:hybrid:5"
    with pytest.raises(ValueError):
        Config.parse("extractive")
    summary = {"c": {"accuracy": 0.8, "p95_total_ms": 300.0}}
    assert check_thresholds(summary, {"accuracy": 0.7}) == []
    assert len(check_thresholds(summary, {"accuracy": 0.9, "p95_total_ms": 200})) == 2


def test_eval_command_writes_report_and_fails_under(indexed_settings, tmp_path):
    import subprocess
    import sys

    from conftest import settings_env

    data = tmp_path / "mini.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "1", "question": "英国哪一年正式加入CPTPP？", "answers": ["2024"], "evidence": "英国于2024年正式加入CPTPP"},
        {"id": "2", "question": "英国的国内生产总值是多少？", "unanswerable": True},
    ]), encoding="utf-8")
    env = settings_env(indexed_settings)
    cmd = [sys.executable, "-m", "rag.cli", "eval", "--dataset", str(data), "--config", "extractive:hybrid:3",
           "--out", str(tmp_path / "out")]
    ok = subprocess.run(cmd + ["--fail-under", "accuracy=0.5"], capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr
    for name in ("report.md", "results.jsonl", "metrics.png", "latency.png"):
        assert (tmp_path / "out" / name).exists()
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 2
    bad = subprocess.run(cmd + ["--fail-under", "p50_total_ms=0.001"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 1 and "FAIL" in bad.stderr
