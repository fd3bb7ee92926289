"""PDF ingest with pdfplumber on the PDFs tests/fixtures/pdf/make_pdfs.py writes: text, tables, bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.errors import UnsupportedFileError
from index.ingest import load_document, load_documents
from index.pdf import join_lines

pytest.importorskip("pdfplumber", reason="PDF ingest needs pdfplumber: pip install 'pdfplumber<0.12'")

PDFS = Path(__file__).resolve().parents[1] / "fixtures" / "pdf"


def test_pdf_text_and_table_are_read_in_reading_order() -> None:
    document = load_document(PDFS / "report.pdf")
    assert document.text.startswith("Acme Corporation reported its annual results on Tuesday.")
    assert "Group results ($ millions)\n\nRevenue | 2004: 1,234 | 2003: 1,100\n" in document.text
    assert document.text.endswith("expected further growth in the coming year.")
    assert document.extra["encoding"] == "pdf"


def test_pdf_table_cells_point_at_their_values() -> None:
    document = load_document(PDFS / "report.pdf")
    [table] = document.tables
    assert (table.caption, table.unit) == ("Group results ($ millions)", "($ millions)")
    cells = {(c.row, c.column): document.text[c.start : c.end] for c in table.cells}
    assert cells == {
        ("Revenue", "2004"): "1,234",
        ("Revenue", "2003"): "1,100",
        ("Operating profit", "2004"): "210",
        ("Operating profit", "2003"): "180",
        ("Net income", "2004"): "150",
        ("Net income", "2003"): "132",
    }


@pytest.mark.parametrize(
    "name,reason",
    [
        ("encrypted.pdf", "PDF is encrypted; decrypt it first"),
        ("scanned.pdf", "PDF has no text layer; it needs OCR"),
        ("corrupt.pdf", "PDF is corrupt"),
    ],
)
def test_bad_pdf_gets_a_one_line_reason(name: str, reason: str) -> None:
    with pytest.raises(UnsupportedFileError) as caught:
        load_document(PDFS / name)
    assert caught.value.reason.startswith(reason) and "\n" not in str(caught.value)


def test_bad_pdfs_are_skipped_and_the_good_files_beside_them_load(tmp_path: Path) -> None:
    for name in ("report.pdf", "encrypted.pdf", "scanned.pdf", "corrupt.pdf"):
        shutil.copy(PDFS / name, tmp_path / name)
    documents, skipped = load_documents([tmp_path])
    assert [d.doc_id for d in documents] == ["report"]
    assert sorted(Path(s.path).name for s in skipped) == ["corrupt.pdf", "encrypted.pdf", "scanned.pdf"]


def test_a_word_hyphenated_at_a_line_end_is_closed_up() -> None:
    joined = join_lines(["the inter-", "national fund", "grew 5-", "10%"])
    assert joined == "the international fund grew 5- 10%"


def write_text_pdf(lines: list[tuple[int, str]]) -> bytes:
    """Write a one-page PDF with no graphics: each (baseline y, text) as a line of 11-point Helvetica."""
    shown = (b"BT /F1 11 Tf 72 %d Td (%s) Tj ET\n" % (y, text.encode("latin-1")) for y, text in lines)
    stream = b"".join(shown)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%sendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_page_without_graphics_reads_its_lines_as_paragraphs_in_order(tmp_path: Path) -> None:
    lines = [
        (700, "Revenue rose 12% to $1.2 billion, the"),
        (687, "company said on Monday."),
        (600, "Shares fell 3%."),
    ]
    (tmp_path / "note.pdf").write_bytes(write_text_pdf(lines))
    document = load_document(tmp_path / "note.pdf")
    assert document.text == "Revenue rose 12% to $1.2 billion, the company said on Monday.\n\nShares fell 3%."
    assert document.tables == ()
