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
