"""Sentence-packing chunker that keeps exact character offsets.

Chunks never cross a section heading, overlap by one sentence, and only cut
inside a sentence when that sentence alone is longer than the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import sentence_spans

_HEADING_MAX_CHARS = 25
_SOFT_BREAK = re.compile(r"[,，、:：]")


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    text: str
    section: str
    sentences: tuple[tuple[int, int], ...]


def _lines(text: str) -> list[tuple[int, int]]:
    """Line spans without their newline characters."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def find_headings(text: str) -> list[tuple[int, int]]:
    """Short standalone lines followed by a real paragraph are section titles.

    A heading has no sentence-final full stop or inner comma, is at most 25
    characters, and the next non-empty line is a longer paragraph.
    """
    lines = [(a, b) for a, b in _lines(text) if text[a:b].strip()]
    headings = []
    for i, (a, b) in enumerate(lines[:-1]):
        line = text[a:b].strip()
        nxt = text[lines[i + 1][0] : lines[i + 1][1]].strip()
        if (
            len(line) <= _HEADING_MAX_CHARS
            and not line.endswith(("。", ".", ":", "：", ",", "，", "；"))
            and not _SOFT_BREAK.search(line)
            and len(nxt) > 2 * len(line)
        ):
            headings.append((a, b))
    return headings


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at commas where possible, else hard at the limit."""
    pieces, pos = [], start
    while end - pos > limit:
        window = text[pos : pos + limit]
        cuts = [m.end() for m in _SOFT_BREAK.finditer(window)]
        cut = pos + (cuts[-1] if cuts and cuts[-1] > limit // 3 else limit)
        pieces.append((pos, cut))
        pos = cut
    pieces.append((pos, end))
    return pieces


def _pack(spans: list[tuple[int, int]], min_chars: int, max_chars: int) -> list[list[tuple[int, int]]]:
    """Greedily pack sentence spans into groups, overlapping by one sentence."""
    groups: list[list[tuple[int, int]]] = []
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and spans[j][1] - spans[i][0] <= max_chars:
            j += 1
        # do not leave a tiny tail: absorb it if that stays within 1.5x the limit
        if j < len(spans) and spans[-1][1] - spans[j][0] < min_chars // 2 and spans[-1][1] - spans[i][0] <= max_chars * 3 // 2:
            j = len(spans)
        groups.append(spans[i:j])
        if j >= len(spans):
            break
        i = j - 1 if j - 1 > i else j  # one sentence of overlap, but always progress
    return groups


def chunk_text(text: str, min_chars: int = 150, max_chars: int = 300) -> list[Chunk]:
    """Chunk a document; `text[c.start:c.end] == c.text` for every chunk."""
    headings = find_headings(text)
    bounds = [0] + [a for a, _ in headings if a > 0] + [len(text)]
    titles = {a: text[a:b].strip() for a, b in headings}
    chunks: list[Chunk] = []
    for sec_start, sec_end in zip(bounds, bounds[1:]):
        if sec_start == sec_end:
            continue
        section = titles.get(sec_start, "")
        spans: list[tuple[int, int]] = []
        for a, b in sentence_spans(text, sec_start, sec_end):
            spans.extend(_split_long(text, a, b, max_chars) if b - a > max_chars else [(a, b)])
        for group in _pack(spans, min_chars, max_chars):
            start, end = group[0][0], group[-1][1]
            chunks.append(Chunk(start, end, text[start:end], section, tuple(group)))
    return chunks
