"""Files become text, or a clear UnsupportedDocument: encodings, HTML, PDF, bad input."""

from __future__ import annotations

import pytest
from conftest import word_document

from index.loader import UnsupportedDocument, load_file, parse_document

TEXT = "青禾科技年假制度。员工入职满五年后享有15天带薪年假。\n"


def minimal_pdf(line: str) -> bytes:
    """A one-page PDF with one line of Helvetica text, built by hand (offsets computed, so readers trust it)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize("data", [TEXT.encode("utf-8"), b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
                                  TEXT.encode("gb18030")], ids=["utf-8", "utf-8 with BOM", "gb18030"])
def test_text_in_either_encoding_decodes_to_the_same_text(data):
    assert parse_document("leave.txt", data) == TEXT


def test_html_keeps_the_text_and_block_breaks_but_not_scripts_or_entities():
    page = ("<html><head><title>年假</title><style>p {color: red}</style><script>alert('x')</script></head>"
            "<body><h1>青禾科技</h1><p>员工&nbsp;入职满五年后享有15天&lt;带薪&gt;年假。</p><p>第二段</p></body></html>")
    assert parse_document("leave.HTML", page.encode()) == "年假\n青禾科技\n员工\xa0入职满五年后享有15天<带薪>年假。\n第二段\n"


def test_pdf_text_is_extracted():
    assert parse_document("memo.pdf", minimal_pdf("Annual leave is 15 days.")).strip() == "Annual leave is 15 days."


def test_word_text_keeps_paragraphs_headings_and_table_rows_in_order():
    text = parse_document("leave.docx", word_document())
    assert text == ("年假规定\n\n员工入职满五年后享有15天带薪年假。\n\nBranch: Westside | Visits: 41,200\n\n"
                    "Leave must be approved in advance.\n")


@pytest.mark.parametrize("name, data, message", [
    ("notes.doc", b"\xd0\xcf\x11\xe0", "unsupported file type .doc"),
    ("notes.docx", b"PK\x03\x04", "not a readable Word document"),
    ("README", b"text", "unsupported file type (none)"),
    ("empty.txt", b"", "the file is empty"),
    ("blank.md", b" \n\t\n", "contains no text"),
    ("binary.txt", b"\x00\x01\x02\xff\xfe", "not UTF-8 or GB18030"),
    ("broken.pdf", b"%PDF-1.4 not really", "not a readable PDF"),
])
def test_bad_files_are_refused_with_a_reason(name, data, message):
    with pytest.raises(UnsupportedDocument, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_document(name, data)


def test_load_file_names_the_document_after_the_file(tmp_path):
    path = tmp_path / "leave.md"
    path.write_bytes(TEXT.encode("gb18030"))
    assert load_file(path) == ("leave.md", TEXT)


def test_a_table_row_names_its_columns_under_a_header_row():
    from index.loader import table_text

    assert table_text([["Branch", "Visits"], ["Northgate", "141,900"], ["Riverside", "98,300"]]) == (
        "Branch: Northgate | Visits: 141,900\nBranch: Riverside | Visits: 98,300")
    assert table_text([["2024", "2025"], ["12", "15"]]) == "2024 | 2025\n12 | 15"  # numbers: no header row
    assert table_text([["Branch", "Visits"], ["Total", ""]]) == "Branch: Total"  # an empty cell is left out
