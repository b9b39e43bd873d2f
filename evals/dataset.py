"""Load evaluation datasets (JSON lines); bad rows are reported, never fatal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


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

    @property
    def multi_turn(self) -> bool:
        return len(self.turns) > 1


def _strings(value, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return value


def _turn(obj: dict) -> Turn:
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question must be a non-empty string")
    evidence = obj.get("evidence") or ""
    if not isinstance(evidence, str):
        raise ValueError("evidence must be a string")
    return Turn(question, _strings(obj.get("answers"), "answers"), _strings(obj.get("any"), "any"), evidence)


def parse_row(obj: dict, line_no: int) -> Row:
    if not isinstance(obj, dict):
        raise ValueError("a row must be a JSON object")
    if "turns" in obj:
        if not isinstance(obj["turns"], list) or not obj["turns"]:
            raise ValueError("turns must be a non-empty list")
        turns = [_turn(t if isinstance(t, dict) else {}) for t in obj["turns"]]
    else:
        turns = [_turn(obj)]
    lang = obj.get("lang") or "zh"
    return Row(str(obj.get("id", f"line{line_no}")), turns, bool(obj.get("unanswerable", False)), str(lang))


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
