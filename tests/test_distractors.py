"""The distractor corpora (a large index of unrelated topics) and how they are built."""

from __future__ import annotations

import random

from evals.build_datasets import ROOT, corpus_titles, distractor_passages, unanswerable_answers
from evals.metrics import norm


def _article(title: str, n: int) -> dict:
    sentence = "这是一个关于{}的句子，它足够长，可以单独成为一段话的开头部分，用来检查段落的切分是否正确。"
    return {"title": title, "paragraphs": [{"context": sentence.format(f"{title}{i}") * 5} for i in range(n)]}


def test_passages_come_one_per_article_per_round_and_skip_named_articles_and_banned_answers():
    articles = [_article("甲", 3), _article("乙", 1), _article("丙", 2), _article("丁", 2)]
    banned = {norm("丁0"), norm("丁1")}  # every passage of 丁 holds a banned answer
    got = distractor_passages(articles, "zh", 5, skip_titles={"丙"}, banned=banned, rng=random.Random(1))
    titles = [t for t, _ in got]
    assert sorted(titles[:2]) == ["乙", "甲"]  # the first round takes one passage of every usable article
    assert titles.count("甲") == 3 and "丙" not in titles and "丁" not in titles
    assert len(got) == 4 and len({p for _, p in got}) == 4


def test_committed_distractors_are_about_other_articles_and_hold_no_unanswerable_answer():
    banned = unanswerable_answers()
    own_titles = corpus_titles("cmrc_zh", "squad_en")
    for lang in ("zh", "en"):
        files = sorted((ROOT / "corpora" / f"distractors_{lang}").glob("*.txt"))
        assert len(files) >= 200
        for f in files:
            text = f.read_text(encoding="utf-8")
            title, passage = text.split("\n", 1)
            assert title.strip() not in own_titles, f.name
            flat = norm(passage)
            assert not [k for k in banned if k in flat], f.name
