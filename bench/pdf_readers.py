"""Compare PDF libraries on PDFs the project makes: text fidelity, table cells, pages per second.

    python -m bench.pdf_readers OUT_DIR

Writes two 50-page PDFs with PyMuPDF (tests/fixtures/pdf/make_pdfs.py: a results report with a
ruled table on every page; and dense prose from README.md), then reads them with each library
installed (pdfplumber, which numrag uses; pymupdf and pypdf where installed; pypdf has no table
extractor). PyMuPDF is a dev-only writer here (AGPL-3.0, no dependency of numrag): without it,
put report50.pdf and dense50.pdf made earlier into OUT_DIR and they are read as they are.
Text fidelity is the share of the source's words recovered in order (difflib over word lists;
for PDFs read as they are, over every word meant for them, so a page that overflowed counts as
lost); table quality is the share of the report's cells read exactly (every page's table).
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = 50
WORDS_PER_PAGE = 330  # a full page of 9-point prose


def split_pages(source: str) -> list[list[str]]:
    """Cut `source`, repeated as needed, into PAGES pages of WORDS_PER_PAGE words."""
    words = source.split() * (1 + PAGES * WORDS_PER_PAGE // max(len(source.split()), 1))
    return [words[at : at + WORDS_PER_PAGE] for at in range(0, PAGES * WORDS_PER_PAGE, WORDS_PER_PAGE)]


def write_dense(path: Path, pages: list[list[str]]) -> list[str]:
    """Write the pages of prose with PyMuPDF; return the words written."""
    import pymupdf

    document = pymupdf.open()
    written: list[str] = []
    for chunk in pages:
        page = document.new_page()
        rest = page.insert_textbox(pymupdf.Rect(50, 50, 560, 800), " ".join(chunk), fontsize=9)
        if rest >= 0:
            written.extend(chunk)
    document.save(path)
    return written


def read_pymupdf(path: Path) -> tuple[str, list[list[list[str]]]]:
    """Text blocks and ruled tables with PyMuPDF."""
    import pymupdf

    getattr(pymupdf, "no_recommend_layout", lambda: None)()
    text, tables = [], []
    with pymupdf.open(path) as document:
        for page in document:
            text.append(page.get_text())
            tables.extend([[c or "" for c in row] for row in t.extract()] for t in page.find_tables().tables)
    return "\n".join(text), tables


def read_pdfplumber(path: Path) -> tuple[str, list[list[list[str]]]]:
    """Text and tables with pdfplumber (pdfminer.six underneath)."""
    import pdfplumber

    text, tables = [], []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            text.append(page.extract_text() or "")
            tables.extend([[c or "" for c in row] for row in t] for t in page.extract_tables())
    return "\n".join(text), tables


def read_pypdf(path: Path) -> tuple[str, list[list[list[str]]]]:
    """Text only with pypdf."""
    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages), []


READERS: dict[str, Callable[[Path], tuple[str, list[list[list[str]]]]]] = {
    "pdfplumber": read_pdfplumber,
    "pymupdf": read_pymupdf,
    "pypdf": read_pypdf,
}


def word_recall(expected: list[str], text: str) -> float:
    """Share of expected words found in order in the text."""
    matcher = difflib.SequenceMatcher(a=expected, b=text.split(), autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(len(expected), 1)


def main() -> None:
    """Write the PDFs, read them with each library and print a Markdown table."""
    sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "pdf"))
    import make_pdfs

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    pages = split_pages((ROOT / "README.md").read_text(encoding="utf-8"))
    dense_words = [word for page in pages for word in page]
    if not ((out / "report50.pdf").exists() and (out / "dense50.pdf").exists()):
        make_pdfs.write_report(out / "report50.pdf", PAGES)
        dense_words = write_dense(out / "dense50.pdf", pages)
    print("| library | version | report pages/s | dense pages/s | dense word recall | report cells exact |")
    print("|---|---|---|---|---|---|")
    for name, reader in READERS.items():
        if importlib.util.find_spec(name) is None:
            continue
        start = time.perf_counter()
        _, tables = reader(out / "report50.pdf")
        report_speed = PAGES / (time.perf_counter() - start)
        start = time.perf_counter()
        text, _ = reader(out / "dense50.pdf")
        dense_speed = PAGES / (time.perf_counter() - start)
        accuracy = _report_accuracy(tables) if tables else None
        version = __import__(name).__version__
        print(
            f"| {name} | {version} | {report_speed:.1f} | {dense_speed:.1f} | "
            f"{word_recall(dense_words, text):.3f} | {'–' if accuracy is None else f'{accuracy:.3f}'} |"
        )


def _report_accuracy(tables: list[list[list[str]]]) -> float:
    """Share of the report's cells (every page's table) read exactly."""
    import make_pdfs

    right = total = 0
    for page in range(1, PAGES + 1):
        want = [make_pdfs.HEADER] + [[f"{n} {page}", *v] for n, *v in make_pdfs.ROWS]
        table = tables[page - 1] if page <= len(tables) else []
        for want_row, got_row in zip(want, table, strict=False):
            right += sum(a == " ".join(b.split()) for a, b in zip(want_row, got_row, strict=False))
        total += sum(len(row) for row in want)
    return right / total


if __name__ == "__main__":
    main()
