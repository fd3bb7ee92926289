"""PDF reading with pdfplumber: a page's paragraphs in reading order, its ruled tables as tables.

pdfplumber (MIT, on pdfminer.six) was chosen by licence and measurement (docs/benchmarks.md,
"PDF ingest"): every table cell read exactly and the same text as PyMuPDF, which is AGPL-3.0 and
so cannot ship with this MIT project. It is imported here only, so the rest of the package does not
pay for it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from index.errors import UnsupportedFileError
from index.tables import LinearTable, leading_header_rows, linearise, make_table

MIN_TEXT_CHARS = 20  # less text than this in the whole file means there is no text layer
ENCRYPTED = "PDF is encrypted; decrypt it first (e.g. qpdf --decrypt)"
Box = tuple[float, float, float, float]


def read_pdf(data: bytes, name: str) -> tuple[str, list[LinearTable]]:
    """Return a PDF's text, each table written as its linearised lines, and the tables."""
    paragraphs: list[str] = []
    tables: list[LinearTable] = []
    with _open(data, name) as pdf, _corrupt_as(name, "PDF is corrupt and cannot be read"):
        if not pdf.pages:
            raise UnsupportedFileError(name, "PDF is corrupt: it has no pages")
        for page in pdf.pages:
            _read_page(pdf, page, paragraphs, tables)
            page.close()  # drop the page's cached layout objects as we go
    text = "\n\n".join(paragraphs)
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise UnsupportedFileError(name, "PDF has no text layer; it needs OCR (e.g. ocrmypdf) first")
    return text, tables


@contextmanager
def _open(data: bytes, name: str) -> Iterator[Any]:
    """Open PDF bytes, refusing a corrupt or encrypted file with a one-line reason."""
    try:
        import pdfplumber
    except ImportError as exc:
        raise UnsupportedFileError(name, "reading PDF needs pdfplumber: pip install pdfplumber") from exc
    with _corrupt_as(name, "PDF is corrupt and cannot be opened"):
        pdf = pdfplumber.open(io.BytesIO(data))
    try:
        yield pdf
    finally:
        pdf.close()


@contextmanager
def _corrupt_as(name: str, reason: str) -> Iterator[None]:
    """Turn pdfminer's errors into a one-line UnsupportedFileError (encrypted or corrupt)."""
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.psparser import PSException
    from pdfplumber.utils.exceptions import PdfminerException

    # pdfminer raises its own errors and, on some damaged files, plain Python ones
    try:
        yield
    except (PdfminerException, PSException, ValueError, KeyError, TypeError, AssertionError) as exc:
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
            raise UnsupportedFileError(name, ENCRYPTED) from exc
        detail = " ".join(f"{type(cause).__name__}: {cause}".split())
        raise UnsupportedFileError(name, f"{reason}: {detail}") from exc


def _read_page(pdf: Any, page: Any, paragraphs: list[str], tables: list[LinearTable]) -> None:
    """Append a page's paragraphs and tables in reading order (top to bottom)."""
    from pdfminer.layout import LTCurve, LTFigure

    layout = _layout(pdf, page)
    # only ruled tables are read as tables; a page without vector graphics has none to find, and
    # pdfplumber's own page objects (2.5 times slower than pdfminer's layout) are built only then
    graphics = any(isinstance(item, LTCurve | LTFigure) for item in layout)  # rects and lines are curves
    found = page.find_tables() if graphics else []
    boxes: list[Box] = [table.bbox for table in found]
    items: list[tuple[float, float, str | LinearTable]] = _paragraphs(layout, boxes)
    for table, box in zip(found, boxes, strict=True):
        rows = [[" ".join((cell or "").split()) for cell in row] for row in table.extract()]
        parsed = make_table(rows, leading_header_rows(rows)) if rows else None
        if parsed is not None:
            items.append((box[1], box[0], linearise(parsed)))
    for _, _, item in sorted(items, key=lambda entry: (entry[0], entry[1])):
        if isinstance(item, str):
            paragraphs.append(item)
        else:
            tables.append(item)
            paragraphs.append("\n".join(item.lines))


def _layout(pdf: Any, page: Any) -> Any:
    """Return pdfminer's layout of a page: text boxes (paragraphs) of lines, and the graphics."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams
    from pdfminer.pdfinterp import PDFPageInterpreter

    device = PDFPageAggregator(pdf.rsrcmgr, laparams=LAParams())
    PDFPageInterpreter(pdf.rsrcmgr, device).process_page(page.page_obj)
    return device.get_result()


def _paragraphs(layout: Any, boxes: list[Box]) -> list[tuple[float, float, str | LinearTable]]:
    """Return the page's text boxes as paragraphs (top, left, text), less the lines inside tables."""
    from pdfminer.layout import LTTextBox

    found: list[tuple[float, float, str | LinearTable]] = []
    for box in layout:
        if not isinstance(box, LTTextBox):
            continue
        lines = [
            line.get_text().strip()
            for line in box
            if not _inside_any((line.x0 + line.x1) / 2, layout.y1 - (line.y0 + line.y1) / 2, boxes)
        ]
        text = join_lines(line for line in lines if line)
        if text:
            found.append((layout.y1 - box.y1, box.x0, text))
    return found


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


def _inside_any(x: float, y: float, boxes: list[Box]) -> bool:
    """Tell whether a point lies inside any of the boxes."""
    return any(x0 <= x <= x1 and y0 <= y <= y1 for x0, y0, x1, y1 in boxes)
