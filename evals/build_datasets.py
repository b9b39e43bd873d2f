"""Build the committed evaluation sets from public data (deterministic, seeded).

    python -m evals.build_datasets --cmrc PATH --squad PATH
    python -m evals.build_datasets --distractors-zh SOURCE ... --distractors-en SOURCE ...

PATH is the JSON file, or a git directory holding it (a `fetch` mirror has no work tree, so the
file is read with `git show HEAD:<path>`): CMRC 2018 dev (squad-style-data/cmrc2018_dev.json of
ymcui/cmrc2018) and SQuAD 2.0 dev (data/dev-v2.0.json). Writes evals/corpora/{cmrc_zh,squad_en}/
and evals/datasets/{cmrc_zh,squad_en}/{calibration,test}.jsonl. The hand-written sets
(`handmade`, `multipart`, `nearmiss`, `xling_*`) keep their rows in `rows.jsonl`; this script only splits them, so run it
again after editing one (`xling_*` by document: a document's rows all go to one half). Unanswerable rows are checked: no answer string (whitespace- and
case-insensitively) occurs anywhere in the corpus.

`--distractors-zh` / `--distractors-en` write evals/corpora/distractors_{zh,en}/: short passages of
other articles (a SOURCE is a squad-style JSON file, or `GITDIR:PATH` inside a mirror), one per file, for measuring
the same questions in a large index of unrelated topics. Articles whose title is a document of cmrc_zh or squad_en
are skipped (so no held-out passage comes back), and so is any passage that holds an answer of an unanswerable row
of any set.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

from evals.dataset import corpus_for, load_dataset
from evals.metrics import norm

ROOT = Path(__file__).resolve().parent
SEED = 2018
IN_REPO = {"cmrc": "squad-style-data/cmrc2018_dev.json", "squad": "data/dev-v2.0.json"}
ZH_SENTENCE = re.compile(r"[^。！？]*(?:[。！？]+[”」』）]?|$)")
BY_DOCUMENT = {"xling_zh_en", "xling_en_zh"}  # hand-written sets split by document (each row names its `doc`)
EN_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")


def read_json(path: Path, kind: str) -> dict:
    path = Path(path)
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return _git_json(path, IN_REPO[kind])


def _git_json(git_dir: Path, inner: str) -> dict:
    text = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"HEAD:{inner}"], check=True,
                          capture_output=True).stdout
    return json.loads(text.decode("utf-8"))


def read_source(spec: str) -> dict:
    """A squad-style JSON file, or `GITDIR:PATH` (PATH inside a mirror without a work tree)."""
    if Path(spec).is_file():
        return json.loads(Path(spec).read_text(encoding="utf-8"))
    git_dir, _, inner = spec.rpartition(":")
    if not git_dir or not Path(git_dir).is_dir():
        raise SystemExit(f"{spec}: neither a file nor GITDIR:PATH")
    return _git_json(Path(git_dir), inner)


def zh_sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in ZH_SENTENCE.finditer(text) if m.end() > m.start()]


def en_sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in EN_SENTENCE.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def passages(sentences: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Consecutive sentences grouped into passages of at least min_chars (the last one may be shorter)."""
    out, start = [], None
    for a, b in sentences:
        start = a if start is None else start
        if b - start >= min_chars:
            out.append((start, b))
            start = None
    if start is not None:
        if out:
            out[-1] = (out[-1][0], sentences[-1][1])
        else:
            out.append((start, sentences[-1][1]))
    return out


def key_answer(answers: list[dict]) -> str:
    """The most common answer text of the annotators (ties: the shortest)."""
    counts = Counter(a["text"].strip() for a in answers if a["text"].strip())
    return min(counts, key=lambda t: (-counts[t], len(t)))


def containing(spans: list[tuple[int, int]], start: int, end: int) -> int | None:
    for i, (a, b) in enumerate(spans):
        if a <= start and end <= b:
            return i
    return None


def evidence_window(text: str, sentence: tuple[int, int], start: int, end: int, longest: int = 100,
                    radius: int = 30) -> str:
    """The answer's sentence, or when that is longer than `longest`, the words within `radius` characters
    of the answer: a chunk (≤ 300 characters) then still contains it whole, so hit@k measures retrieval."""
    a, b = sentence
    if b - a <= longest:
        return text[a:b].strip()
    left, right = max(a, start - radius), min(b, end + radius)
    while left > a and not text[left - 1].isspace():
        left -= 1
    while right < b and not text[right].isspace():
        right += 1
    return text[left:right].strip()


def absent(keys: list[str], flat_corpus: str) -> bool:
    return all(norm(k) not in flat_corpus for k in keys if k.strip())


def build_articles(articles: list[dict], lang: str, n_articles: int, min_chars: int | None, answerable_per: int,
                   unanswerable_per: int, rng: random.Random, corpus_dir: Path, impossible_per: int = 0,
                   max_passages: int | None = None) -> list[dict]:
    """One document per article: its title and the kept passages; one passage per article is held out.

    A passage is a run of sentences of at least min_chars, or (min_chars None) a whole paragraph.

    Answerable rows: questions whose answer lies inside one sentence of a kept passage. Unanswerable rows:
    questions about the held-out passage (same article, so same topic) whose answers occur nowhere in
    the corpus, and SQuAD's own impossible questions about kept passages.
    """
    split = zh_sentences if lang == "zh" else en_sentences
    joiner = "" if lang == "zh" else " "
    docs, candidates = {}, []
    for art in articles:
        # an article is its paragraphs' passages in order
        units = []
        for p in art["paragraphs"]:
            ctx = p["context"].strip()
            sents = split(ctx)
            for a, b in (passages(sents, min_chars) if min_chars else [(0, len(ctx))]):
                units.append((p, ctx, a, b, [s for s in sents if a <= s[0] and s[1] <= b]))
        if len(units) < 2:
            continue
        if max_passages and len(units) > max_passages:
            first = rng.randrange(0, len(units) - max_passages + 1)
            units = units[first:first + max_passages]
        questions = []  # (unit index, question, key, all answer texts, evidence)
        impossible = []
        for ui, (p, ctx, a, b, sents) in enumerate(units):
            for q in p["qas"]:
                if q.get("is_impossible"):
                    if a <= q["plausible_answers"][0]["answer_start"] < b if q.get("plausible_answers") else False:
                        impossible.append((ui, q))
                    continue
                first = q["answers"][0]
                start = first["answer_start"]
                if not (a <= start < b):
                    continue
                key = key_answer(q["answers"])
                si = containing(sents, start, start + len(first["text"]))
                if si is None or key not in ctx[sents[si][0]:sents[si][1]]:
                    continue
                evidence = evidence_window(ctx, sents[si], start, start + len(first["text"]))
                questions.append((ui, q, key, [x["text"] for x in q["answers"]], evidence))
        held_options = sorted({ui for ui, *_ in questions})
        if not held_options:
            continue
        held = rng.choice(held_options)
        kept = [u for i, u in enumerate(units) if i != held]
        body = "\n\n".join(u[1][u[2]:u[3]].strip() for u in kept)
        title = art["title"].replace("_", " ")
        docs[art["title"]] = f"{title}\n\n{body}\n"
        candidates.append((art, held, questions, impossible, kept))
        if len(docs) >= n_articles:
            break

    corpus_dir.mkdir(parents=True, exist_ok=True)
    for old in corpus_dir.glob("*.txt"):
        old.unlink()
    names = {}
    for i, (title, text) in enumerate(docs.items()):
        names[title] = f"{corpus_dir.name}-{i:03d}.txt"
        (corpus_dir / names[title]).write_text(text, encoding="utf-8")
    whole = "\n".join(docs.values())
    flat = norm(whole)

    rows = []
    for art, held, questions, impossible, kept in candidates:
        doc = docs[art["title"]]
        good = [q for q in questions if q[0] != held and doc.count(q[4]) == 1 and whole.count(q[4]) == 1]
        rng.shuffle(good)
        for ui, q, key, _, evidence in good[:answerable_per]:
            rows.append({"id": f"{corpus_dir.name}-{q['id']}", "question": q["question"].strip(), "answers": [key],
                         "evidence": evidence, "lang": lang, "kind": "single", "source_id": q["id"]})
        gone = [q for q in questions if q[0] == held and absent(q[3], flat)]
        rng.shuffle(gone)
        for ui, q, key, texts, _ in gone[:unanswerable_per]:
            rows.append({"id": f"{corpus_dir.name}-{q['id']}", "question": q["question"].strip(), "answers": [],
                         "unanswerable": True, "lang": lang, "kind": "single", "source_id": q["id"],
                         "why": "its answer is in a passage of the same article left out of the index",
                         "absent_answers": sorted(set(texts))})
        rng.shuffle(impossible)
        for ui, q in [x for x in impossible if x[0] != held][:impossible_per]:
            rows.append({"id": f"{corpus_dir.name}-{q['id']}", "question": q["question"].strip(), "answers": [],
                         "unanswerable": True, "lang": lang, "kind": "single", "source_id": q["id"],
                         "why": "SQuAD 2.0 impossible question about an indexed paragraph",
                         "plausible_answers": sorted({x["text"] for x in q["plausible_answers"]})})
    return rows


def stratified_split(rows: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """About half of every (answerable, kind, lang, has a missing part) stratum to calibration, the rest to test.
    Rows with `"split": "calibration"` (written later to calibrate on) go there and leave the others' split as it
    was, so no row tuned on before is reported on, nor the reverse."""
    rng = random.Random(seed)
    strata = defaultdict(list)
    pinned = [r for r in rows if r.get("split") == "calibration"]
    for row in (r for r in rows if r.get("split") != "calibration"):
        missing = any(p.get("missing") for p in row.get("parts", []))
        strata[(bool(row.get("unanswerable")), row.get("kind", "single"), row.get("lang", "zh"), missing)].append(row)
    calibration, test = [], []
    flip = 0
    for key in sorted(strata):
        group = strata[key][:]
        rng.shuffle(group)
        for i, row in enumerate(group):
            (calibration if (i + flip) % 2 == 0 else test).append(row)
        flip += len(group) % 2  # odd strata alternate which split gets the extra row
    calibration += pinned
    order = {id(r): i for i, r in enumerate(rows)}
    return sorted(calibration, key=lambda r: order[id(r)]), sorted(test, key=lambda r: order[id(r)])


def split_by_document(rows: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """Whole documents to one half (rows name theirs in `doc`), per question language: a document's questions are
    tuned on or reported on, never both. Largest documents first, each to the half with fewer rows so far. Rows
    with `"split": "calibration"` (documents added later to calibrate on) go there and leave the others' split as
    it was."""
    rng = random.Random(seed)
    docs = defaultdict(list)
    pinned = {(r.get("lang", "zh"), r["doc"]) for r in rows if r.get("split") == "calibration"}
    for row in rows:
        if (row.get("lang", "zh"), row["doc"]) not in pinned:
            docs[(row.get("lang", "zh"), row["doc"])].append(row)
    order = sorted(docs)
    rng.shuffle(order)
    order.sort(key=lambda k: -len(docs[k]))  # stable: equal sizes keep the shuffled order
    halves: tuple[set, set] = (set(pinned), set())
    size = defaultdict(lambda: [0, 0])
    for lang, doc in order:
        i = 0 if size[lang][0] <= size[lang][1] else 1
        halves[i].add((lang, doc))
        size[lang][i] += len(docs[(lang, doc)])
    return ([r for r in rows if (r.get("lang", "zh"), r["doc"]) in halves[0]],
            [r for r in rows if (r.get("lang", "zh"), r["doc"]) in halves[1]])


def write_set(name: str, rows: list[dict], manifest: dict | None = None, by_document: bool = False) -> None:
    folder = ROOT / "datasets" / name
    folder.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                              encoding="utf-8")
    halves = (split_by_document if by_document else stratified_split)(rows, SEED)
    for split, part in zip(("calibration", "test"), halves):
        with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for row in part:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = Counter((bool(r.get("unanswerable")), r.get("kind", "single"), r.get("lang")) for r in rows)
    print(f"{name}: {len(rows)} rows {dict(counts)}")


def trim(rows: list[dict], answerable: int, unanswerable: int, rng: random.Random) -> list[dict]:
    yes = [r for r in rows if not r.get("unanswerable")]
    no = [r for r in rows if r.get("unanswerable")]
    keep = {id(r) for r in rng.sample(yes, min(answerable, len(yes))) + rng.sample(no, min(unanswerable, len(no)))}
    return [r for r in rows if id(r) in keep]


def build_cmrc(path: Path) -> None:
    rng = random.Random(SEED)
    articles = [a for a in read_json(path, "cmrc")["data"] if a["title"].strip()]
    rng.shuffle(articles)
    rows = build_articles(articles, "zh", n_articles=100, min_chars=90, answerable_per=1, unanswerable_per=1,
                          rng=rng, corpus_dir=ROOT / "corpora" / "cmrc_zh")
    rows = trim(rows, 78, 42, rng)
    write_set("cmrc_zh", rows, {
        "corpus": ["../../corpora/cmrc_zh"],
        "source": "CMRC 2018 dev set (github.com/ymcui/cmrc2018, squad-style-data/cmrc2018_dev.json, CC BY-SA 4.0); "
                  "built by evals/build_datasets.py",
        "unanswerable": "questions about a passage of the same article left out of the index; no answer string "
                        "occurs in the corpus"})


def build_squad(path: Path) -> None:
    rng = random.Random(SEED + 1)
    articles = read_json(path, "squad")["data"]
    rng.shuffle(articles)
    rows = build_articles(articles, "en", n_articles=8, min_chars=None, answerable_per=9, unanswerable_per=2,
                          rng=rng, corpus_dir=ROOT / "corpora" / "squad_en", impossible_per=3, max_passages=6)
    rows = trim(rows, 65, 35, rng)
    write_set("squad_en", rows, {
        "corpus": ["../../corpora/squad_en"],
        "source": "SQuAD 2.0 dev (the 16-article dev half distributed with github.com/chrischute/squad, "
                  "data/dev-v2.0.json; rajpurkar/SQuAD-explorer's copy was not available; CC BY-SA 4.0); "
                  "built by evals/build_datasets.py",
        "unanswerable": "SQuAD's own impossible questions about indexed paragraphs, and questions about a paragraph "
                        "of the same article left out of the index (no answer string occurs in the corpus)"})


def split_handwritten(name: str, by_document: bool = False) -> None:
    """Split a hand-written set's rows.jsonl into calibration/test (its manifest is hand-written too)."""
    source = ROOT / "datasets" / name / "rows.jsonl"
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    corpus = corpus_for(source)
    if corpus is not None:
        from index.ingest import expand_paths
        from index.loader import load_file

        flat = norm("\n".join(load_file(f)[1] for f in expand_paths(corpus)))
        for row in rows:
            if row.get("unanswerable") and not absent(row.get("answers", []) + row.get("any", []), flat):
                raise SystemExit(f"{name}/{row['id']}: an answer of an unanswerable row occurs in the corpus")
    write_set(name, rows, by_document=by_document)
    load_dataset(source)  # parses


DISTRACTOR_CHARS = {"zh": 150, "en": 300}  # a passage: the first run of sentences of at least this many characters


def corpus_titles(*names: str) -> set[str]:
    """The titles (first lines) of the documents of these corpora."""
    return {f.read_text(encoding="utf-8").split("\n", 1)[0].strip()
            for name in names for f in sorted((ROOT / "corpora" / name).glob("*.txt"))}


def unanswerable_answers() -> set[str]:
    """Every answer string of an unanswerable row of any committed set (normalised): a distractor must hold none."""
    keys = set()
    for f in sorted((ROOT / "datasets").rglob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if row.get("unanswerable"):
                keys |= {norm(k) for k in row.get("answers", []) + row.get("any", []) + row.get("absent_answers", [])
                         if k.strip()}
    return keys


def distractor_passages(articles: list[dict], lang: str, n: int, skip_titles: set[str], banned: set[str],
                        rng: random.Random) -> list[tuple[str, str]]:
    """(title, passage) pairs from as many articles as possible: articles in a seeded order, one passage each per
    round (a random paragraph's first run of sentences of DISTRACTOR_CHARS), until n passages."""
    split = zh_sentences if lang == "zh" else en_sentences
    pools = []
    for art in articles:
        title = art["title"].replace("_", " ").strip()
        if not title or title in skip_titles:
            continue
        options = []
        for p in art["paragraphs"]:
            ctx = p["context"].strip()
            spans = passages(split(ctx), DISTRACTOR_CHARS[lang])
            passage = ctx[spans[0][0]:spans[0][1]].strip() if spans else ""
            flat = norm(passage)
            if len(passage) >= DISTRACTOR_CHARS[lang] and not any(k in flat for k in banned):
                options.append(passage)
        if options:
            rng.shuffle(options)
            pools.append((title, options))
    rng.shuffle(pools)
    out: list[tuple[str, str]] = []
    round_ = 0
    while len(out) < n and any(len(opts) > round_ for _, opts in pools):
        out += [(title, opts[round_]) for title, opts in pools if len(opts) > round_][: n - len(out)]
        round_ += 1
    return out


def build_distractors(lang: str, sources: list[str], n: int = 200) -> None:
    """evals/corpora/distractors_{lang}/: n short passages of articles no eval set is about, one file each."""
    rng = random.Random(SEED + (2 if lang == "zh" else 3))
    articles, seen = [], set()
    for spec in sources:
        for art in read_source(spec)["data"]:
            if art["title"] not in seen:  # the same article in two sources counts once
                seen.add(art["title"])
                articles.append(art)
    chosen = distractor_passages(articles, lang, n, corpus_titles("cmrc_zh", "squad_en"), unanswerable_answers(), rng)
    folder = ROOT / "corpora" / f"distractors_{lang}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    for i, (title, passage) in enumerate(chosen):
        (folder / f"distractors_{lang}-{i:03d}.txt").write_text(f"{title}\n\n{passage}\n", encoding="utf-8")
    print(f"distractors_{lang}: {len(chosen)} passages of {len({t for t, _ in chosen})} articles")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmrc", type=Path, help="cmrc2018_dev.json (squad style) or a git dir holding it")
    parser.add_argument("--squad", type=Path, help="dev-v2.0.json or a git dir holding data/dev-v2.0.json")
    parser.add_argument("--distractors-zh", nargs="+", metavar="SOURCE",
                        help="squad-style JSON files (or GITDIR:PATH) for evals/corpora/distractors_zh")
    parser.add_argument("--distractors-en", nargs="+", metavar="SOURCE", help="the same for distractors_en")
    args = parser.parse_args()
    if args.distractors_zh or args.distractors_en:
        for lang, sources in (("zh", args.distractors_zh), ("en", args.distractors_en)):
            if sources:
                build_distractors(lang, sources)
        return
    if args.cmrc:
        build_cmrc(args.cmrc)
    if args.squad:
        build_squad(args.squad)
    for name in ("handmade", "multipart", "nearmiss", *sorted(BY_DOCUMENT)):
        if (ROOT / "datasets" / name / "rows.jsonl").is_file():
            split_handwritten(name, by_document=name in BY_DOCUMENT)


if __name__ == "__main__":
    main()
