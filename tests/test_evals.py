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


def test_answer_correct_ignores_punctuation_and_thousands_separators_but_no_number_changes():
    assert answer_correct("The cellular and humoral theories of immunity.", ['"cellular" and "humoral"'], [])
    assert answer_correct("a polynomial-time reduction", ["polynomial time"], [])
    assert answer_correct("Mi’kmaq and the Abenaki", ["Mi'kmaq and the Abenaki"], [])
    assert answer_correct("612000 passengers", ["612,000"], []) and answer_correct("３月３１日", [], ["3月31日"])
    assert not answer_correct("2.4 million", ["24"], [])  # a decimal point stays
    assert not answer_correct("pages 1,2", ["12"], [])  # a comma that is no thousands separator stays
    assert not answer_correct("1990-1995", ["19901995"], [])  # so does a dash between digits
    assert not answer_correct("15 people", ["15%"], [])  # a sign that says something stays


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
    assert Config.parse("extractive:dense:7").name == "extractive:dense:7"
    assert Config.parse("extractive", mode="bm25", top_k=3).name == "extractive:bm25:3"
    assert Config.parse("local:dense", top_k=4).name == "local:dense:4"
    assert Config.parse("extractive::2", mode="hybrid").name == "extractive:hybrid:2"
    for bad in ("extractive:hybrid:x", "gpt", "extractive:sparse:5", "extractive:hybrid:5:1", ""):
        with pytest.raises(ValueError):
            Config.parse(bad)
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

    # as a user types it: the backend alone, mode and top_k from the settings
    short = subprocess.run([sys.executable, "-m", "rag.cli", "eval", "--dataset", str(data), "--config", "extractive",
                            "--out", str(tmp_path / "short")], capture_output=True, text=True,
                           env={**env, "RAG_RETRIEVAL_MODE": "bm25", "RAG_TOP_K": "2"}, timeout=300)
    assert short.returncode == 0, short.stderr
    rows = [json.loads(line) for line in (tmp_path / "short" / "results.jsonl").read_text().splitlines()]
    assert {r["config"] for r in rows} == {"extractive:bm25:2"} and not any("error" in r for r in rows)
    assert max(r["retrieved_n"] for r in rows) == 2


# ---- multi-part / list rows, corpus manifests, committed datasets ----

from evals.dataset import corpus_for, parse_row  # noqa: E402
from evals.metrics import norm  # noqa: E402

DOCS = {"d": "甲公司的董事长是张三。总经理是李四。财务总监是王五。", "e": "另一份文件。"}


def _cite(doc, text):
    start = DOCS[doc].index(text)
    return {"doc_id": doc, "start": start, "end": start + len(text), "text": text}


def _multi_row(**kw):
    return parse_row({"id": "m", "question": "董事长和总经理分别是谁？", "kind": "multi", "parts": [
        {"answers": ["张三"], "evidence": "董事长是张三"},
        {"answers": ["李四"], "evidence": "总经理是李四"},
        {"answers": ["赵六"], "evidence": "", "missing": True},
    ], **kw}, 1)


def test_parts_fill_the_row_answers_and_evidence_and_missing_parts_are_not_required():
    row = _multi_row()
    assert row.turns[0].evidence == "董事长是张三"
    assert [p.answers for p in row.required_parts] == [["张三"], ["李四"]]
    with pytest.raises(ValueError):
        parse_row({"question": "q", "kind": "several"}, 1)
    with pytest.raises(ValueError):
        parse_row({"question": "q", "parts": [{"evidence": "x"}]}, 1)
    assert parse_row({"question": "q", "parts": [{"any": ["4th", "fourth"]}]}, 1).parts[0].any == ["4th", "fourth"]


def test_item_recall_all_items_and_parts_cited():
    row = _multi_row()
    both = score_turn(row, 0, {"answer": "董事长是张三[1]，总经理是李四[2]。", "refused": False,
                               "citations": [_cite("d", "董事长是张三"), _cite("d", "总经理是李四")]}, DOCS)
    one = score_turn(row, 0, {"answer": "董事长是张三[1]。", "refused": False,
                              "citations": [_cite("d", "甲公司的董事长是张三。")]}, DOCS)
    refused = score_turn(row, 0, {"answer": "无法回答", "refused": True, "citations": []}, DOCS)
    single = score_turn(parse_row({"id": "s", "question": "谁是财务总监？", "answers": ["王五"],
                                   "evidence": "财务总监是王五"}, 1),
                        0, {"answer": "王五[1]", "refused": False, "citations": [_cite("d", "财务总监是王五")]}, DOCS)
    assert both["items"] == [True, True] and one["items"] == [True, False] and single["items"] is None
    summary = aggregate([both, one, refused, single])
    assert summary["item_recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert summary["all_items"] == pytest.approx(1 / 3)
    assert summary["parts_cited"] == 0.5  # refused rows are not in it; `one` cites only the first part
    assert summary["accuracy_multi"] == pytest.approx(1 / 3) and summary["accuracy_single"] == 1.0
    assert summary["accuracy_list"] is None


def test_list_row_without_parts_counts_each_answer_key():
    row = parse_row({"id": "l", "question": "有哪些高管？", "kind": "list", "answers": ["张三", "李四", "王五"],
                     "evidence": "董事长是张三"}, 1)
    r = score_turn(row, 0, {"answer": "张三、王五[1]", "refused": False, "citations": [_cite("d", "董事长是张三")]}, DOCS)
    assert r["items"] == [True, False, True] and r["parts_cited"] is True
    assert aggregate([r])["item_recall"] == pytest.approx(2 / 3)


def test_repeated_citation_rate_and_reason_field():
    row = parse_row({"id": "s", "question": "q", "answers": ["张三"], "evidence": "董事长是张三"}, 1)
    twice = score_turn(row, 0, {"answer": "张三[1][2]", "refused": False, "reason": None,
                                "citations": [_cite("d", "董事长是张三"), _cite("d", "董事长是张三")]}, DOCS)
    once = score_turn(row, 0, {"answer": "张三[1]", "refused": False, "citations": [_cite("d", "董事长是张三")]}, DOCS)
    refusal = score_turn(parse_row({"id": "u", "question": "q", "unanswerable": True}, 1), 0,
                         {"answer": "无法回答", "refused": True, "reason": "no_evidence", "citations": []}, DOCS)
    assert refusal["reason"] == "no_evidence" and refusal["repeated_citation"] is None
    assert aggregate([twice, once, refusal])["repeated_citation_rate"] == 0.5


def test_manifest_names_the_corpus_relative_to_itself(tmp_path):
    (tmp_path / "corpora" / "c").mkdir(parents=True)
    sets = tmp_path / "datasets" / "s"
    sets.mkdir(parents=True)
    (sets / "test.jsonl").write_text("", encoding="utf-8")
    assert corpus_for(sets / "test.jsonl") is None
    (sets / "manifest.json").write_text(json.dumps({"corpus": "../../corpora/c"}), encoding="utf-8")
    assert corpus_for(sets / "test.jsonl") == [(tmp_path / "corpora" / "c").resolve()]
    (sets / "manifest.json").write_text(json.dumps({"corpus": ["../../corpora/nope"]}), encoding="utf-8")
    with pytest.raises(FileNotFoundError):
        corpus_for(sets / "test.jsonl")
    (sets / "manifest.json").write_text(json.dumps({"corpus": 3}), encoding="utf-8")
    with pytest.raises(ValueError):
        corpus_for(sets / "test.jsonl")


def _committed_sets():
    from conftest import REPO_ROOT

    return sorted(p for p in (REPO_ROOT / "evals" / "datasets").glob("*/manifest.json"))


@pytest.mark.parametrize("manifest", _committed_sets(), ids=lambda p: p.parent.name)
def test_committed_dataset_is_grounded_in_its_corpus(manifest):
    """Every evidence is in the corpus, no unanswerable answer is, and calibration/test do not overlap."""
    from index.ingest import expand_paths
    from index.loader import load_file

    splits = {name: load_dataset(manifest.parent / f"{name}.jsonl") for name in ("calibration", "test")}
    corpus = "\n".join(load_file(f)[1] for f in expand_paths(corpus_for(manifest.parent / "test.jsonl")))
    flat = norm(corpus)
    for name, (rows, problems) in splits.items():
        assert problems == [] and len(rows) >= 10, name
        share = json.loads(manifest.read_text(encoding="utf-8")).get("min_unanswerable_share", 0.3)
        assert sum(r.unanswerable for r in rows) >= share * len(rows) or all(r.kind != "single" for r in rows), name
        for row in rows:
            evidences = [t.evidence for t in row.turns] + [p.evidence for p in row.required_parts]
            if row.unanswerable:
                assert not row.parts, row.id
                for key in [k for t in row.turns for k in t.answers + t.any]:
                    assert norm(key) not in flat, (row.id, key)
            else:
                assert all(e and e in corpus for e in evidences), (row.id, [e for e in evidences if e not in corpus])
                for p in row.parts:
                    if p.missing:
                        assert not any(norm(k) in flat for k in p.answers), row.id
    ids = {name: {r.id for r in rows} for name, (rows, _) in splits.items()}
    questions = {name: {t.question for r in rows for t in r.turns} for name, (rows, _) in splits.items()}
    assert not ids["calibration"] & ids["test"] and not questions["calibration"] & questions["test"]
    source = manifest.parent / "rows.jsonl"  # hand-written sets: the splits are exactly its rows
    if source.is_file():
        assert ids["calibration"] | ids["test"] == {r.id for r in load_dataset(source)[0]}


def test_dev_set_is_scored_against_the_sample_article_not_the_users_index():
    """The smoke eval must not depend on what a user uploaded: dev.jsonl names index/corpus."""
    from conftest import DEV_SET, REPO_ROOT

    assert corpus_for(DEV_SET) == [(REPO_ROOT / "index" / "corpus").resolve()]
    rows, problems = load_dataset(DEV_SET)
    corpus = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "index" / "corpus").iterdir() if p.is_file())
    assert problems == [] and all(t.evidence in corpus for r in rows if not r.unanswerable for t in r.turns if t.evidence)


def test_eval_builds_and_reuses_an_index_for_a_dataset_with_a_corpus(tmp_path):
    """A manifest's corpus gets its own index under <data_dir>/eval-index/<key>, reused when unchanged."""
    import subprocess
    import sys

    from conftest import make_settings, settings_env

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "lighthouse.txt").write_text(
        "The Harbour Lighthouse\n\nThe lighthouse at Port Elm was built in 1874 by Dr. Alma Reyes. "
        "Its lamp is visible from 22 nautical miles.\n", encoding="utf-8")
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "manifest.json").write_text(json.dumps({"corpus": ["../docs"]}), encoding="utf-8")
    (tmp_path / "set" / "q.jsonl").write_text(json.dumps(
        {"id": "1", "question": "Who built the lighthouse at Port Elm?", "answers": ["Alma Reyes"], "lang": "en",
         "evidence": "built in 1874 by Dr. Alma Reyes"}) + "\n", encoding="utf-8")
    settings = make_settings(tmp_path / "data")
    cmd = [sys.executable, "-m", "rag.cli", "eval", "--dataset", str(tmp_path / "set" / "q.jsonl"),
           "--config", "extractive:hybrid:3", "--out", str(tmp_path / "out")]
    first = subprocess.run(cmd, capture_output=True, text=True, env=settings_env(settings), timeout=300)
    assert first.returncode == 0, first.stderr
    built = list((tmp_path / "data" / "eval-index").glob("*/complete"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    assert not (tmp_path / "data" / "chroma").exists()  # the user's index was not touched
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["q"]["extractive:hybrid:3"]["hit@k"] == 1.0
    again = subprocess.run(cmd, capture_output=True, text=True, env=settings_env(settings), timeout=300)
    assert again.returncode == 0, again.stderr
    assert [p.stat().st_mtime_ns for p in (tmp_path / "data" / "eval-index").glob("*/complete")] == [stamp]
    # --corpus puts the same questions over other documents: a second index, which lacks the answer
    (tmp_path / "other.txt").write_text("灯塔博物馆每周一闭馆。\n", encoding="utf-8")
    other = subprocess.run(cmd + ["--corpus", str(tmp_path / "other.txt")], capture_output=True, text=True,
                           env=settings_env(settings), timeout=300)
    assert other.returncode == 0, other.stderr
    assert len(list((tmp_path / "data" / "eval-index").glob("*/complete"))) == 2
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["q"]["extractive:hybrid:3"]["hit@k"] == 0.0
    missing = subprocess.run(cmd + ["--corpus", str(tmp_path / "nowhere")], capture_output=True, text=True,
                             env=settings_env(settings), timeout=300)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_a_citation_of_any_required_part_counts_for_citation_precision():
    row = _multi_row()
    r = score_turn(row, 0, {"answer": "张三[1]，李四[2]，王五[3]", "refused": False,
                            "citations": [_cite("d", "董事长是张三"), _cite("d", "总经理是李四"), _cite("d", "财务总监是王五")]},
                   DOCS)
    assert r["citation_supported"] == [True, True, False] and r["parts_cited"] is True


def test_support_threshold_refuses_unanswerables_without_losing_right_answers():
    from evals.calibrate import Answered, search_support, support_outcome

    cases = ([Answered("zh-zh", False, False, True, p) for p in (0.95, 0.9, 0.85, 0.6)]  # right answers
             + [Answered("zh-zh", False, False, False, 0.5)]  # a wrong answer: refusing it costs nothing
             + [Answered("zh-zh", True, False, False, p) for p in (0.55, 0.7, 0.97)]  # answered unanswerables
             + [Answered("zh-zh", True, True, False)])  # refused before the check
    t, got = search_support(cases, max_correct_loss=0.0)
    assert t == 0.575 and got == support_outcome(cases, 0.6)  # the lowest threshold that refuses 0.55
    assert got["refusal"] == 0.5 and got["correct"] == 0.8
    t, got = search_support(cases, max_correct_loss=0.2)  # may give up the right answer at 0.6
    assert t == 0.725 and got["refusal"] == 0.75 and got["correct"] == 0.6


def test_sure_support_lets_through_only_answers_the_full_check_keeps():
    from evals.calibrate import Answered, search_sure_support

    cases = [Answered("zh-zh", False, False, True, full, quick) for full, quick in
             ((0.95, 0.97), (0.9, 0.6), (0.5, 0.776), (0.4, 0.3))] + [Answered("zh-zh", True, True, False)]
    sure, still = search_sure_support(cases, min_support=0.825)
    assert sure == 0.85  # one step above 0.776, the highest quick P among the two the full check refuses
    assert still == 0.75  # only the first answer is let through by the quick form
    assert search_sure_support(cases, min_support=0.0) == (0.0, 0.0)


def test_split_by_document_keeps_a_document_in_one_half_and_pinned_ones_in_calibration():
    from evals.build_datasets import split_by_document

    rows = [{"id": f"{d}-{i}", "doc": d, "lang": lang} for d, lang, n in
            (("a", "zh", 5), ("b", "zh", 4), ("c", "zh", 3), ("d", "zh", 2), ("e", "en", 3), ("f", "en", 3))
            for i in range(n)]
    cal, test = split_by_document(rows, 7)
    assert not {r["doc"] for r in cal} & {r["doc"] for r in test} and len(cal) + len(test) == len(rows)
    assert {r["lang"] for r in cal} == {r["lang"] for r in test} == {"zh", "en"}  # each language in both halves
    pinned = rows + [{"id": f"g-{i}", "doc": "g", "lang": "zh", "split": "calibration"} for i in range(9)]
    cal2, test2 = split_by_document(pinned, 7)
    assert test2 == test and {r["doc"] for r in cal2} == {r["doc"] for r in cal} | {"g"}


def test_calibration_search_says_when_no_setting_meets_the_false_refusal_budget():
    from evals.calibrate import Case, search

    def case(unanswerable, score, type_ok=True):
        return Case("d", "en-zh", unanswerable, score, 0.0, 0.0, 0.0, False, type_ok, not unanswerable)

    feasible = [case(False, 0.9), case(False, 0.8), case(True, 0.3)]
    assert search(feasible, 0.08, types=True, contradiction=True)[3]["right"] == 1.0
    always_refused = [case(False, 0.9, type_ok=False), case(True, 0.3)]  # the type check refuses the answerable one
    assert search(always_refused, 0.08, types=True, contradiction=True) is None


def test_stratified_split_keeps_old_rows_in_their_half_when_pinned_rows_are_added():
    from evals.build_datasets import stratified_split

    rows = [{"id": f"r-{i}", "kind": ("list", "multi")[i % 2], "lang": ("zh", "en")[i % 3 == 0]} for i in range(20)]
    cal, test = stratified_split(rows, 7)
    pinned = rows + [{"id": f"p-{i}", "kind": "list", "lang": "zh", "split": "calibration"} for i in range(6)]
    cal2, test2 = stratified_split(pinned, 7)
    assert test2 == test and cal2 == cal + pinned[20:]
