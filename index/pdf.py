"""PDF reading with PyMuPDF: a page's text blocks in reading order, its ruled tables as tables.

PyMuPDF (below 2.0, whose layout model is slower and misreads cells) was chosen over pdfplumber
and pypdf by measurement (docs/benchmarks.md, "PDF ingest"): the same text, every table cell read
exactly, and the speed. It is imported here only, so the rest of the package does not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from index.errors import UnsupportedFileError
from index.tables import LinearTable, leading_header_rows, linearise, make_table

MIN_TEXT_CHARS = 20  # less text than this in the whole file means there is no text layer


def read_pdf(data: bytes, name: str) -> tuple[str, list[LinearTable]]:
    """Return a PDF's text, each table written as its linearised lines, and the tables."""
    document = _open(data, name)
    repaired = bool(document.is_repaired)
    paragraphs: list[str] = []
    tables: list[LinearTable] = []
    try:
        for page in document:
            _read_page(page, paragraphs, tables)
    except RuntimeError as exc:  # a damaged page stream
        raise UnsupportedFileError(name, f"PDF is corrupt and cannot be read: {exc}") from exc
    finally:
        document.close()
    text = "\n\n".join(paragraphs)
    if len(text.strip()) < MIN_TEXT_CHARS:
        if repaired:
            raise UnsupportedFileError(name, "PDF is corrupt: no readable text in it")
        raise UnsupportedFileError(name, "PDF has no text layer; it needs OCR (e.g. ocrmypdf) first")
    return text, tables


def _open(data: bytes, name: str) -> Any:
    """Open PDF bytes, refusing a corrupt or encrypted file with a one-line reason."""
    try:
        import pymupdf
    except ImportError as exc:
        raise UnsupportedFileError(name, "reading PDF needs PyMuPDF: pip install 'pymupdf<2'") from exc
    getattr(pymupdf, "no_recommend_layout", lambda: None)()  # it would print to stdout
    pymupdf.TOOLS.mupdf_display_errors(False)  # MuPDF's own stderr lines; our message says it
    try:
        document = pymupdf.open(stream=data, filetype="pdf")
    except (RuntimeError, ValueError) as exc:  # pymupdf.FileDataError is a RuntimeError
        raise UnsupportedFileError(name, f"PDF is corrupt and cannot be opened: {exc}") from exc
    if document.needs_pass or document.is_encrypted:
        document.close()
        raise UnsupportedFileError(name, "PDF is encrypted; decrypt it first (e.g. qpdf --decrypt)")
    if document.page_count == 0:
        document.close()
        raise UnsupportedFileError(name, "PDF is corrupt: it has no pages")
    return document


def _read_page(page: Any, paragraphs: list[str], tables: list[LinearTable]) -> None:
    """Append a page's text blocks and tables in reading order (top to bottom)."""
    # only ruled tables are read as tables; a page without vector graphics has none to find
    found = page.find_tables().tables if page.get_cdrawings() else []
    boxes = [table.bbox for table in found]
    items: list[tuple[float, float, str | LinearTable]] = []
    for x0, y0, x1, y1, text, _, kind in page.get_text("blocks", sort=True):
        if kind != 0 or _inside_any((x0 + x1) / 2, (y0 + y1) / 2, boxes):
            continue
        block = join_lines(line.strip() for line in text.split("\n") if line.strip())
        if block:
            items.append((y0, x0, block))
    for table, box in zip(found, boxes, strict=True):
        rows = [[cell or "" for cell in row] for row in table.extract()]
        parsed = make_table(rows, leading_header_rows(rows)) if rows else None
        if parsed is not None:
            items.append((box[1], box[0], linearise(parsed)))
    for _, _, item in sorted(items, key=lambda entry: (entry[0], entry[1])):
        if isinstance(item, str):
            paragraphs.append(item)
        else:
            tables.append(item)
            paragraphs.append("\n".join(item.lines))


def join_lines(lines: Iterable[str]) -> str:
    """Join a block's lines with spaces, closing words hyphenated at a line end ("inter-" "national")."""
    parts: list[str] = []
    for line in lines:
        last = parts[-1] if parts else ""
        if last.endswith("-") and line[:1].islower() and last[-2:-1].isalpha():
            parts[-1] = last[:-1] + line
        else:
            parts.append(line)
    return " ".join(parts)


def _inside_any(x: float, y: float, boxes: list[tuple[float, float, float, float]]) -> bool:
    """Tell whether a point lies inside any of the boxes."""
    return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in boxes)
