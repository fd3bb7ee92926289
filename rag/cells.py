"""Table cells as candidates: a document's sentences with each table row line as one sentence, and
the quantity of every value cell with its table's unit applied.

In `Document.text` a table is linearised (`index.types.Table`): an optional caption line, then one
line per body row, "Revenue | 2004: 1,234 | 2003: 1,100". A row line is a sentence of its own; the
quantities in it that lie inside a value cell are candidates ("1,234" under "$ millions" is
$1,234 million); its row and column labels and the header years are not. A row is read with the
sentence before its table and its caption, so that the reader sees what the table is about.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, replace
from threading import Lock

from index.sentences import split_sentences
from index.tables import find_unit
from index.types import Document, Table, TableCell
from rag.quantities import PER_SHARE, Quantity, TableUnit, in_table_unit, parse_quantities, parse_table_unit
from rag.question import named_years
from rag.timeline import About

_CACHE_SIZE = 4096
_LINE = re.compile(r"\S(?:[^\n]*\S)?")  # a line's text without its outer spaces
_SHARES = re.compile(r"\bshares\b|\bnumber of shares?\b", re.IGNORECASE)
_HEADER_PERCENT = re.compile(r"\(\s*%\s*\)|%\s*$|^\s*%|\bper\s*cent\b|\bpercent(?:age)?\b", re.I)
# a header that names its cells' currency and no scale: "Fee (€)", "Price (US$)", "Cost (EUR)"
_HEADER_CURRENCY = re.compile(r"\(\s*(?:US|A|C|HK|NZ|S)?[$€£¥]\s*\)|\(\s*(?:USD|EUR|GBP|CNY|RMB|JPY)\s*\)")


@dataclass(frozen=True)
class RowLine:
    """A table row line: its table, the value cells on it, and where the table's header lines lie."""

    table: Table
    cells: tuple[TableCell, ...]
    head_start: int  # the caption (and any other) lines of the table before its first row line
    head_end: int


@dataclass(frozen=True)
class Layout:
    """A document's sentences in order (each row line one sentence) and its row lines by start."""

    spans: tuple[tuple[int, int], ...]
    positions: dict[int, int]  # sentence start -> its position in `spans`
    rows: dict[int, RowLine]  # row line start -> the row

    def before_table(self, row: RowLine, count: int) -> tuple[tuple[int, int], ...]:
        """The last `count` sentences that end before the row's table begins."""
        if count <= 0:
            return ()
        earlier = [span for span in self.spans if span[1] <= row.table.start]
        return tuple(earlier[-count:])


_layouts: OrderedDict[tuple[str, str, str, tuple[tuple[int, int, int], ...]], Layout] = OrderedDict()
_lock = Lock()


def layout(document: Document) -> Layout:
    """The sentences of a document with its tables' row lines, computed once per document version."""
    shape = tuple((t.start, t.end, len(t.cells)) for t in document.tables)
    key = (document.doc_id, document.content_hash, document.text, shape)
    with _lock:
        found = _layouts.get(key)
        if found is not None:
            _layouts.move_to_end(key)
            return found
    made = _make_layout(document)
    with _lock:
        _layouts[key] = made
        while len(_layouts) > _CACHE_SIZE:
            _layouts.popitem(last=False)
    return made


def _make_layout(document: Document) -> Layout:
    text, tables = document.text, sorted(document.tables, key=lambda t: t.start)
    spans = [s for s in split_sentences(text) if not any(_overlaps(s, t) for t in tables)]
    rows: dict[int, RowLine] = {}
    for table in tables:
        lines = _lines(text, table.start, table.end)
        spans.extend(lines)
        starts = [start for start, _ in lines]
        cells_of: dict[int, list[TableCell]] = {}
        for cell in table.cells:  # the line a cell lies on, by bisection: a table may have 10,000 rows
            at = bisect_right(starts, cell.start) - 1
            if at >= 0 and cell.end <= lines[at][1]:
                cells_of.setdefault(lines[at][0], []).append(cell)
        first = min(cells_of, default=table.end)
        head = [line for line in lines if line[1] <= first]
        head_start, head_end = (head[0][0], head[-1][1]) if head else (first, first)
        for start, cells in cells_of.items():
            rows[start] = RowLine(table, tuple(sorted(cells, key=lambda c: c.start)), head_start, head_end)
    spans.sort()
    return Layout(tuple(spans), {start: i for i, (start, _) in enumerate(spans)}, rows)


def _overlaps(span: tuple[int, int], table: Table) -> bool:
    return span[0] < table.end and table.start < span[1]


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The non-blank lines of text[start:end], trimmed, as spans."""
    return [(m.start(), m.end()) for m in _LINE.finditer(text, start, end)]


def cell_quantities(document: Document, row: RowLine) -> list[tuple[Quantity, TableCell]]:
    """The quantity of each value cell of a row, with its unit applied (its row's or column's
    header's, else its table's); a cell that only repeats its row or column label holds no value."""
    unit = parse_table_unit(row.table.unit)
    found = []
    for cell in row.cells:
        value = document.text[cell.start : cell.end]
        if value.strip() in (cell.row.strip(), cell.column.strip()):
            continue
        own = cell_unit(unit, cell)
        for quantity in parse_quantities(value):
            placed = replace(quantity, start=quantity.start + cell.start, end=quantity.end + cell.start)
            found.append((in_table_unit(placed, own), cell))
    return found


def header_unit(header: str) -> TableUnit | None:
    """The unit a row or column header states for its own cells ("Change (%)", "Revenue ($m)",
    "Sales (in thousands)"), or None."""
    if _HEADER_PERCENT.search(header):
        return TableUnit(percent=True)
    found = find_unit(header)
    return parse_table_unit(found) if found else None


def header_currency(header: str) -> str | None:
    """The currency a header names with no scale ("Fee (€)", "Price (US$)": EUR, USD), or None."""
    named = _HEADER_CURRENCY.search(header)
    return parse_table_unit(named.group(0)).currency if named else None


def cell_unit(table: TableUnit, cell: TableCell) -> TableUnit:
    """A cell's unit: its row header's, else its column header's, else its table's; a header that
    states only a scale keeps the table's currency, and one that names only a currency ("Fee (€)")
    the table's scale. Where the table's unit excepts them ("in
    thousands, except per share data"), a per-share figure keeps its currency unscaled and a
    count of shares is a bare number."""
    for header in (cell.row, cell.column):
        own = header_unit(header)
        if own is not None:
            return own if own.percent or own.currency else replace(own, currency=table.currency)
        currency = header_currency(header)
        if currency is not None:
            return replace(table, currency=currency, percent=False)
    headers = f"{cell.row} {cell.column}"
    if table.except_per_share and PER_SHARE.search(headers):
        return TableUnit(currency=table.currency)
    if table.except_shares and _SHARES.search(headers):
        return TableUnit()
    return table


def cell_about(cell: TableCell) -> About | None:
    """The year a cell is about when its column header (or else its row header) names one year."""
    for header in (cell.column, cell.row):
        years = set(named_years(header))
        if len(years) == 1:
            return About(years.pop(), "explicit", header)
    return None


def row_context(document: Document, grid: Layout, row: RowLine, start: int, end: int, before: int) -> str:
    """A row line read with the `before` sentences before its table and the table's header lines."""
    parts = [document.text[s:e] for s, e in grid.before_table(row, before)]
    if row.head_end > row.head_start:
        parts.append(document.text[row.head_start : row.head_end])
    return "\n".join([*parts, document.text[start:end]])
