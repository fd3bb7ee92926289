"""Typed values passed between the indexing stages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableCell:
    """One cell of a table that holds a value: its headers and where its text lies in the document."""

    row: str  # the row's header cells, joined with " / " ("Revenue", "Net income / Basic")
    column: str  # the column's header cells, joined with " / " ("2004", "Group results / 2003")
    start: int  # offsets of the cell's own text in Document.text (inside its linearised row line)
    end: int


@dataclass(frozen=True)
class Table:
    """A table read as a table: its caption, unit line, and every cell with its headers.

    In Document.text a table is linearised: an optional caption line, then one line per body row,
    "Revenue | 2004: 1,234 | 2003: 1,100", so that a row can be found by the words of its headers
    and every cell offset points into text that citations quote."""

    caption: str | None  # the caption, or the sentence before the table
    unit: str | None  # a unit line that applies to the cells ("$ in millions", "(in thousands)")
    start: int  # the table's span in Document.text
    end: int
    cells: tuple[TableCell, ...] = ()

    def __post_init__(self) -> None:
        # read back from a store's JSON, the cells arrive as dicts in a list
        cells = tuple(c if isinstance(c, TableCell) else TableCell(**c) for c in self.cells)
        object.__setattr__(self, "cells", cells)


@dataclass(frozen=True)
class Document:
    """One article after cleaning: the text citations point into, and its metadata."""

    doc_id: str
    text: str  # cleaned text; every citation offset refers to it
    title: str
    published: str | None = None  # ISO date (YYYY-MM-DD) or None when the text states none
    published_basis: str | None = None  # where the date came from: "text", "front-matter", "sidecar"
    source: str | None = None  # agency or site named in the text (Xinhua, Kazinform, …)
    path: str | None = None  # file it was read from, relative to the ingest root when possible
    content_hash: str = ""  # sha256 of the raw file bytes (plus sidecar), drives incremental builds
    extra: dict[str, str] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()  # tables read as tables; their text is linearised into `text`

    def __post_init__(self) -> None:
        # read back from a store's JSON (documents.jsonl, a Milvus record), tables arrive as dicts
        tables = tuple(t if isinstance(t, Table) else Table(**t) for t in self.tables)
        object.__setattr__(self, "tables", tables)


@dataclass(frozen=True)
class Chunk:
    """A token-bounded, sentence-aligned slice of a document's cleaned text."""

    doc_id: str
    chunk_id: str  # f"{doc_id}#{ordinal}"
    text: str  # == document.text[start:end]
    start: int
    end: int
    n_tokens: int


@dataclass(frozen=True)
class Skipped:
    """A file that ingestion left out, and why."""

    path: str
    reason: str


def period_bounds(published: str) -> tuple[str, str]:
    """First and last ISO day of a date of day, month ("2016-12") or year ("2019") precision."""
    if len(published) == 4:
        return f"{published}-01-01", f"{published}-12-31"
    if len(published) == 7:
        return f"{published}-01", f"{published}-31"  # "-31" sorts after every real day
    return published, published
