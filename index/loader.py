"""Turn a file into (name, text). Text files may be UTF-8 or GB18030."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")


class UnsupportedDocument(ValueError):
    """The file cannot become a document (type, encoding, emptiness)."""


def decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text
    raise UnsupportedDocument("the file is not UTF-8 or GB18030 text")


class _TextOfHtml(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(source: str) -> str:
    parser = _TextOfHtml()
    parser.feed(source)
    text = html.unescape("".join(parser.parts))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\s*\n\s*", "\n", text).strip() + "\n"


def pdf_to_text(data: bytes) -> str:
    try:
        from pypdf import PdfReader
        from io import BytesIO

        reader = PdfReader(BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except ImportError as exc:  # pragma: no cover - pypdf is a declared dependency
        raise UnsupportedDocument("PDF support needs the pypdf package") from exc
    except Exception as exc:
        raise UnsupportedDocument(f"not a readable PDF ({type(exc).__name__})") from exc


_NUMBER_CELL = re.compile(r"[\d\s.,%:/+-]*\d[\d\s.,%:/+-]*")


def table_text(rows: list[list[str]]) -> str:
    """A table as lines, one per row: under a header row (no cell of it a number) each cell is named by its column
    ("Branch: Riverside | Visits: 98,300"), so a row read alone still says what its values are."""
    header = rows[0] if len(rows) > 1 and all(c and not _NUMBER_CELL.fullmatch(c) for c in rows[0]) else None
    lines = []
    for row in rows[1:] if header else rows:
        if header is not None and len(row) == len(header):
            cells = [f"{h}: {c}" for h, c in zip(header, row) if c]
        else:
            cells = [c for c in row if c]
        line = " | ".join(cells)
        if line:
            lines.append(line)
    return "\n".join(lines)


def docx_to_text(data: bytes) -> str:
    """A Word document's paragraphs and tables in reading order, a blank line between paragraphs (as in a text file,
    so a heading stays a short line of its own and the chunker takes it for a section title); a table row becomes one
    line (`table_text`)."""
    from io import BytesIO

    try:
        from docx import Document
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = Document(BytesIO(data))
        blocks: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                blocks.append(block.text.strip())
            elif isinstance(block, Table):
                # a merged cell is returned once per grid column it spans: keep it once
                rows = [list({id(c._tc): c.text.strip() for c in row.cells}.values()) for row in block.rows]
                blocks.append(table_text(rows))
    except ImportError as exc:  # pragma: no cover - python-docx is a declared dependency
        raise UnsupportedDocument("Word support needs the python-docx package") from exc
    except Exception as exc:
        raise UnsupportedDocument(f"not a readable Word document ({type(exc).__name__})") from exc
    return "\n\n".join(b for b in blocks if b) + "\n"


def parse_document(name: str, data: bytes) -> str:
    """Extract the text of an uploaded or local file, by its extension."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedDocument(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    if not data:
        raise UnsupportedDocument("the file is empty")
    if suffix == ".pdf":
        text = pdf_to_text(data)
    elif suffix == ".docx":
        text = docx_to_text(data)
    else:
        text = decode_text(data)
        if suffix in (".html", ".htm"):
            text = html_to_text(text)
    if not text.strip():
        raise UnsupportedDocument("the file contains no text")
    return text


def load_file(path: Path) -> tuple[str, str]:
    return path.name, parse_document(path.name, path.read_bytes())
