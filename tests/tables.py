"""Documents with tables for the tests, linearised exactly as `index.types.Table` describes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from index.types import Document, Table, TableCell


def linearise(
    caption: str | None, unit: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], at: int = 0
) -> tuple[str, Table]:
    """A table's text (a caption line, then "Row | column: value | …" per body row) and its Table,
    with offsets counted from `at` (where the text will sit in the document)."""
    lines = [caption] if caption else []
    cells = []
    offset = at + sum(len(line) + 1 for line in lines)
    for label, *values in rows:
        line = label
        for column, value in zip(columns, values, strict=True):
            line += f" | {column}: "
            cells.append(TableCell(label, column, offset + len(line), offset + len(line) + len(value)))
            line += value
        lines.append(line)
        offset += len(line) + 1
    text = "\n".join(lines)
    return text, Table(caption, unit, at, at + len(text), tuple(cells))


def document_with_table(
    doc_id: str, title: str, before: str, table: dict, after: str, published: str | None = None
) -> Document:
    """A document of a paragraph, a table (linearise's arguments) and a paragraph, blank lines between."""
    head = f"{before}\n\n"
    text, parsed = linearise(table["caption"], table["unit"], table["columns"], table["rows"], at=len(head))
    body = f"{head}{text}\n\n{after}"
    digest = hashlib.sha256(body.encode()).hexdigest()
    return Document(doc_id, body, title, published=published, content_hash=digest, tables=(parsed,))


ACME_RESULTS = {
    "caption": "Group results ($ millions)",
    "unit": "$ millions",
    "columns": ["2004", "2003"],
    "rows": [["Revenue", "1,234", "1,100"], ["Operating profit", "210", "180"]],
}


HARBOUR_FEES = {
    "caption": "Harbour fees (in € thousands)",
    "unit": "in € thousands",
    "columns": ["Fee"],
    "rows": [["Berth fee", "45"], ["Pilot fee", "12"]],
}
BERTH_FEE_QUESTION = "How much is the berth fee at the harbour?"  # answered, calibrated: €45,000


def acme_documents() -> list[Document]:
    """An Acme results page with its results table, a page of harbour fees with its table, and two
    text articles beside them."""
    results = document_with_table(
        "acme-results",
        "Acme reports higher profit for 2004",
        "Acme Corp, the widget maker, reported its annual results for 2004 on Tuesday. "
        "Acme said demand for its widgets grew in every region.",
        ACME_RESULTS,
        "Acme's chief executive said the company would open a new plant in Ohio next year. "
        "The company employs 4,500 people.",
        published="2005-03-01",
    )
    texts = [
        ("harbour", "City harbour expands", "The city council approved a new harbour terminal. "
         "The terminal will cost $45 million and open in 2006. It will handle 300 ships a year."),
        ("rail", "Rail line opens", "The new rail line is 22 kilometres long. "
         "It has 12 stations and carried 15,000 passengers on its first day."),
    ]  # fmt: skip
    others = [
        Document(
            doc_id,
            text,
            title,
            published="2005-02-10",
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
        )
        for doc_id, title, text in texts
    ]
    fees = document_with_table(
        "harbour-fees",
        "Harbour fees for 2005",
        "The port authority published its fees for 2005.",
        HARBOUR_FEES,
        "The fees apply from January.",
        published="2005-01-05",
    )
    return [results, fees, *others]
