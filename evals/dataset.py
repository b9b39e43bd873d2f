"""Load evaluation datasets (JSON lines); bad rows are reported, never fatal.

A dataset may name the documents it is about in a `manifest.json` beside it
(`{"corpus": ["../../corpora/cmrc_zh"]}`, paths relative to the manifest); `rag eval`
then asks its questions against an index of exactly those documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("single", "multi", "list")
MANIFEST = "manifest.json"


@dataclass
class Part:
    """One required item of a multi-part or list answer."""

    answers: list[str]
    any: list[str] = field(default_factory=list)
    evidence: str = ""
    missing: bool = False  # not in the documents: the answer should say so, not state it


@dataclass
class Turn:
    question: str
    answers: list[str] = field(default_factory=list)
    any: list[str] = field(default_factory=list)
    evidence: str = ""


@dataclass
class Row:
    id: str
    turns: list[Turn]
    unanswerable: bool = False
    lang: str = "zh"
    kind: str = "single"
    parts: list[Part] = field(default_factory=list)

    @property
    def multi_turn(self) -> bool:
        return len(self.turns) > 1

    @property
    def required_parts(self) -> list[Part]:
        return [p for p in self.parts if not p.missing]


def _strings(value, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return value


def _evidence(obj: dict) -> str:
    evidence = obj.get("evidence") or ""
    if not isinstance(evidence, str):
        raise ValueError("evidence must be a string")
    return evidence


def _turn(obj: dict) -> Turn:
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question must be a non-empty string")
    return Turn(question, _strings(obj.get("answers"), "answers"), _strings(obj.get("any"), "any"), _evidence(obj))


def _part(obj) -> Part:
    if not isinstance(obj, dict):
        raise ValueError("each part must be an object")
    answers, any_of = _strings(obj.get("answers"), "part answers"), _strings(obj.get("any"), "part any")
    missing = bool(obj.get("missing", False))
    if not answers and not any_of and not missing:
        raise ValueError("a part needs answers or any (or missing: true)")
    return Part(answers, any_of, _evidence(obj), missing)


def parse_row(obj: dict, line_no: int) -> Row:
    if not isinstance(obj, dict):
        raise ValueError("a row must be a JSON object")
    if "turns" in obj:
        if not isinstance(obj["turns"], list) or not obj["turns"]:
            raise ValueError("turns must be a non-empty list")
        turns = [_turn(t if isinstance(t, dict) else {}) for t in obj["turns"]]
    else:
        turns = [_turn(obj)]
    kind = obj.get("kind") or "single"
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    raw_parts = obj.get("parts") or []
    if not isinstance(raw_parts, list):
        raise ValueError("parts must be a list")
    parts = [_part(p) for p in raw_parts]
    if parts and len(turns) == 1 and not turns[0].evidence:
        # the first required part's evidence ranks retrieval (hit@k, mrr)
        turns[0].evidence = next((p.evidence for p in parts if not p.missing), "")
    lang = obj.get("lang") or "zh"
    return Row(str(obj.get("id", f"line{line_no}")), turns, bool(obj.get("unanswerable", False)), str(lang),
               kind, parts)


def load_dataset(path: Path) -> tuple[list[Row], list[str]]:
    """Rows and human-readable problems ("file:line: why") for rows that were skipped."""
    rows, problems = [], []
    for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(parse_row(json.loads(line), line_no))
        except (ValueError, TypeError) as exc:
            problems.append(f"{path}:{line_no}: skipped ({exc})")
    return rows, problems


def single_turn_questions(dataset: Path) -> list[tuple[str, str]]:
    """(question, evidence) of the answerable one-turn rows: what retrieval and load benchmarks ask."""
    rows, _ = load_dataset(dataset)
    return [(r.turns[0].question, r.turns[0].evidence) for r in rows
            if not r.multi_turn and not r.unanswerable and r.turns[0].evidence]


def corpus_for(dataset: Path) -> list[Path] | None:
    """The document folders/files a dataset names in its manifest, or None (then: the user's index)."""
    manifest = Path(dataset).parent / MANIFEST
    if not manifest.is_file():
        return None
    try:
        corpus = json.loads(manifest.read_text(encoding="utf-8")).get("corpus")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ValueError(f"{manifest}: not a JSON object ({exc})") from None
    if isinstance(corpus, str):
        corpus = [corpus]
    if not isinstance(corpus, list) or not corpus or not all(isinstance(c, str) for c in corpus):
        raise ValueError(f"{manifest}: 'corpus' must be a path or a list of paths")
    paths = [(manifest.parent / c).resolve() for c in corpus]
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(f"{manifest}: no such corpus path: {p}")
    return paths
