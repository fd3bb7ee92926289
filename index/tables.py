"""Tables read as tables: one linearisation for every reader (HTML, Markdown, PDF, TAT-QA grids).

A parsed table becomes lines of text: an optional caption line, an optional unit line, then one
line per body row, "Revenue | 2004: 1,234 | 2003: 1,100" (the row's header cells joined with
" / ", then each non-empty value cell prefixed by its column headers). Every value cell becomes a
`TableCell` whose offsets point at its own value text. `place_tables` finds the lines in the
final cleaned text and turns the offsets absolute, so whatever cleaning or a title line shifted,
`document.text[cell.start:cell.end]` is the cell's text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from index.types import Table, TableCell

HEADER_JOIN = " / "
CELL_JOIN = " | "
CAPTION_MAX_CHARS = 300  # a longer paragraph before a table gives its last sentence as caption

_UNIT = re.compile(
    r"\(?\s*(?:(?:US|USD|EUR|GBP|RMB)?\s*[$€£¥]\s*)?(?:amounts\s+)?in\s+(?:(?:US|USD|EUR|GBP|RMB)?\s*"
    r"[$€£¥]\s*)?(?:thousands|millions|billions|thousand|million|billion|mn|bn)\b"
    r"(?:\s+of\s+[\w$€£¥.]+)?(?:,[^)]{0,40})?\s*\)?"
    r"|\(\s*(?:US)?[$€£¥]\s*(?:thousands|millions|billions|m|bn|'000)\s*\)"
    r"|[$€£¥]\s*'000"
    r"|^\s*(?:US|A|C|HK|NZ|S)?[$€£¥]\s*(?:m|mn|bn|000|million|billion|thousands?)\s*$",  # a header cell: "$M"
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"[-+(]?[$€£¥]?\s*\d[\d,.]*%?\)?")
_YEAR = re.compile(r"(?:19|20)\d\d")
_SENTENCE = re.compile(r"(?<=[.!?:])\s+(?=[A-Z\"“])")
# a parenthesised statement of the unit a document's figures are in, such as reports print under
# their headings: "(in thousands, except per share data)", "(Tabular amounts in millions, unless
# otherwise disclosed)"; one about shares alone ("(shares in thousands)") is not about amounts
_STATEMENT = re.compile(r"\(([^()\n]{1,160})\)")
_SHARES_ONLY = re.compile(r"^\s*(?:number\s+of\s+)?shares?\b", re.IGNORECASE)


@dataclass
class ParsedTable:
    """A table as a reader found it: header rows, body rows and how many leading row-header cells."""

    header: list[list[str]]
    body: list[list[str]]
    row_header_cols: list[int]  # per body row: how many leading cells are its row header
    caption: str | None = None  # an explicit caption (HTML <caption>), written as the first line
    unit: str | None = None
    unit_line: bool = False  # the unit came from a row of its own, so it is written as a line
    nested: list[ParsedTable] = field(default_factory=list)


@dataclass(frozen=True)
class LinearTable:
    """A linearised table: its lines and its cells, offsets relative to the joined lines."""

    lines: tuple[str, ...]
    cells: tuple[TableCell, ...]
    caption: str | None
    unit: str | None


def clean_cell(text: str) -> str:
    """Collapse whitespace in a cell's text."""
    return _SPACES.sub(" ", text).strip()


def find_unit(text: str) -> str | None:
    """Return a unit phrase ("(in millions)", "$ in thousands", "in € million") found in text."""
    match = _UNIT.search(text)
    return _balanced(match.group(0).strip()) if match else None


def find_units(text: str) -> list[str]:
    """Every unit phrase in text, in order."""
    return [_balanced(match.group(0).strip()) for match in _UNIT.finditer(text)]


def _balanced(phrase: str) -> str:
    """A unit phrase without the bracket it took from a longer parenthesis ("(dollars in thousands)"
    gives "in thousands", not "in thousands)")."""
    if phrase.endswith(")") and "(" not in phrase:
        phrase = phrase[:-1].rstrip()
    if phrase.startswith("(") and ")" not in phrase:
        phrase = phrase[1:].lstrip()
    return phrase


def make_table(
    rows: Sequence[Sequence[str]],
    n_header: int,
    *,
    caption: str | None = None,
    row_header_cols: Sequence[int] | None = None,
) -> ParsedTable | None:
    """Pad ragged rows, split header from body, read the unit; None for a table with no values."""
    width = max((len(row) for row in rows), default=0)
    grid = [[clean_cell(cell) for cell in row] + [""] * (width - len(row)) for row in rows]
    keep = [i for i, row in enumerate(grid) if any(row)]
    grid = [grid[i] for i in keep]
    heads = list(row_header_cols) if row_header_cols is not None else [1 if width > 1 else 0] * len(rows)
    heads = [heads[i] for i in keep]
    n_header = min(n_header, len([i for i in keep if i < n_header]))
    header, body, heads = grid[:n_header], grid[n_header:], heads[n_header:]
    unit, unit_line = None, False
    only = {cell for cell in body[0] if cell} if body else set()
    values = {cell for cell in body[0][1:] if cell} if body else set()
    if len(only) == 1 and find_unit(next(iter(only))):
        unit, unit_line = next(iter(only)), True
        body, heads = body[1:], heads[1:]
    elif len(values) == 1 and find_unit(value := next(iter(values))) == value:  # "Revenue | $M | $M"
        unit, unit_line = f"{body[0][0]}: {value}" if body[0][0] else value, True
        body, heads = body[1:], heads[1:]
    if not body or width == 0:
        return None
    unit = unit or next(
        (u for text in [caption or "", *(c for r in header for c in r)] if (u := find_unit(text))), None
    )
    return ParsedTable(header, body, heads, caption=caption, unit=unit, unit_line=unit_line)


def leading_header_rows(rows: Sequence[Sequence[str]]) -> int:
    """Count header rows of a plain grid: the first row, then rows with an empty corner and no values.
    A row with a label in its corner is a header too, under header rows that all span columns, when
    it holds no values and its corner states the unit or its other cells name years ("(In
    thousands) | 2019 | 2018" under "| Year ended March 31, |", or under "Market | Year ended |
    Year ended", a label its flattened span repeats); a row of a table of names and years is not."""
    count = 1 if rows else 0
    while count < len(rows) - 1:
        row = [clean_cell(cell) for cell in rows[count]]
        if not any(row) or any(_is_value(cell) for cell in row[1:] if cell):
            break
        if row[0] and not (all(_spans(above) for above in rows[:count]) and _heads_columns(row)):
            break
        count += 1
    return count


def _spans(row: Sequence[str]) -> bool:
    """A header row whose label spans columns: a blank over some column ("| Year ended |  |"), or
    the same label repeated over them, as a flattened span reads ("| Year ended | Year ended |")."""
    cells = [clean_cell(cell) for cell in row[1:]]
    return any(not cell for cell in cells) or (len(cells) > 1 and len(set(cells)) == 1)


def _heads_columns(row: Sequence[str]) -> bool:
    """A row under the first whose corner is a unit line or whose other cells name years."""
    return bool(find_unit(row[0])) or any(_YEAR.search(cell) for cell in row[1:] if cell)


def _is_value(cell: str) -> bool:
    """Tell whether a cell reads as a number that is not a year."""
    return bool(_NUMBER.fullmatch(cell)) and not _YEAR.fullmatch(cell)


def column_headers(header: Sequence[Sequence[str]], width: int) -> list[str]:
    """Join each column's header cells with " / ", skipping blanks and repeats from spans.

    A header row above others whose only label sits over one column ("", "Years ended", "") is a
    span flattened by the source, so its label heads every value column."""
    header = [_spread_lone_label(row, width) if i < len(header) - 1 else row for i, row in enumerate(header)]
    columns = []
    for col in range(width):
        parts: list[str] = []
        for row in header:
            cell = row[col] if col < len(row) else ""
            if cell and (not parts or parts[-1] != cell) and find_unit(cell) != cell:
                parts.append(cell)
        columns.append(HEADER_JOIN.join(parts))
    return columns


def _spread_lone_label(row: Sequence[str], width: int) -> Sequence[str]:
    """Widen a flattened span: one label heads every value column; several fill right to the next."""
    labels = {cell for cell in row[1:] if cell}
    if len(labels) == 1 and width >= 3:
        return [row[0] if row else "", *([labels.pop()] * (width - 1))]
    filled = list(row)
    for col in range(2, len(filled)):
        if not filled[col] and filled[col - 1]:
            filled[col] = filled[col - 1]
    return filled


def linearise(table: ParsedTable) -> LinearTable:
    """Write a parsed table as lines of text and cells with offsets relative to the joined lines."""
    width = max(len(row) for row in [*table.header, *table.body])
    columns = column_headers(table.header, width)
    lines: list[str] = []
    cells: list[TableCell] = []
    offset = 0
    for extra in (table.caption, table.unit if table.unit_line else None):
        if extra:
            lines.append(extra)
            offset += len(extra) + 1
    for row, n_heads in zip(table.body, table.row_header_cols, strict=True):
        heads: list[str] = []
        for cell in row[:n_heads]:
            if cell and (not heads or heads[-1] != cell):
                heads.append(cell)
        row_header = HEADER_JOIN.join(heads)
        parts = [row_header] if row_header else []
        length = len(row_header)
        for col in range(n_heads, width):
            value = row[col]
            if not value:
                continue
            prefix = (CELL_JOIN if parts else "") + (f"{columns[col]}: " if columns[col] else "")
            start = offset + length + len(prefix)
            cells.append(TableCell(row=row_header, column=columns[col], start=start, end=start + len(value)))
            parts.append(prefix + value)
            length += len(prefix) + len(value)
        line = "".join(parts)
        if line:
            lines.append(line)
            offset += len(line) + 1
    return LinearTable(tuple(lines), tuple(cells), table.caption, table.unit)


def place_tables(text: str, tables: Sequence[LinearTable]) -> tuple[Table, ...]:
    """Find each linearised table's lines in the final text, in order, and make its offsets absolute."""
    placed: list[Table] = []
    position = 0
    statements = iter(stated_units(text) if tables else [])
    pending = next(statements, None)
    stated = None  # the last unit statement so far that stands outside the tables placed
    for table in tables:
        found = _place_lines(text, table.lines, position)
        if not found:
            continue
        cells = _place_cells(table, found)
        if not cells:
            continue
        start = min(found.values())
        end = max(found[i] + len(table.lines[i]) for i in found)
        while pending is not None and pending[0] < start:  # a table's own parenthesis is not its report's
            if not any(t.start <= pending[0] < t.end for t in placed[-1:]):
                stated = pending[1]
            pending = next(statements, None)
        caption = table.caption or caption_before(text, position, start)
        unit = table.unit or (find_unit(caption) if caption else None) or stated
        placed.append(Table(caption=caption, unit=unit, start=start, end=end, cells=cells))
        position = end
    return tuple(placed)


def stated_units(text: str) -> list[tuple[int, str]]:
    """Every parenthesised unit statement of a text with where it starts, in order: a report prints
    one under its heading for the tables that follow ("(in thousands, except per share data)"), and
    a table that states no unit of its own takes the last one before it outside other tables. One
    about shares alone ("(shares in thousands)") is not about amounts."""
    return [
        (match.start(), match.group(0))
        for match in _STATEMENT.finditer(text)
        if not _SHARES_ONLY.match(match.group(1)) and find_unit(match.group(0))
    ]


def _place_lines(text: str, lines: Sequence[str], position: int) -> dict[int, int]:
    """Map each line's index to where it stands as a whole line in text, searching forward."""
    found: dict[int, int] = {}
    for index, line in enumerate(lines):
        at = _find_line(text, line, position)
        if at >= 0:
            found[index] = at
            position = at + len(line)
    return found


def _find_line(text: str, line: str, position: int) -> int:
    """Return where `line` stands as a whole line in text at or after position, or -1."""
    at = text.find(line, position)
    while at >= 0:
        end = at + len(line)
        if (at == 0 or text[at - 1] == "\n") and (end == len(text) or text[end] == "\n"):
            return at
        at = text.find(line, at + 1)
    return -1


def _place_cells(table: LinearTable, found: dict[int, int]) -> tuple[TableCell, ...]:
    """Shift cell offsets from the joined lines to the text, dropping cells of lines not found."""
    line_starts = []
    offset = 0
    for line in table.lines:
        line_starts.append(offset)
        offset += len(line) + 1
    cells = []
    index = 0
    for cell in table.cells:
        while index + 1 < len(line_starts) and line_starts[index + 1] <= cell.start:
            index += 1
        if index in found:
            shift = found[index] - line_starts[index]
            cells.append(replace(cell, start=cell.start + shift, end=cell.end + shift))
    return tuple(cells)


def caption_before(text: str, floor: int, start: int) -> str | None:
    """Return the paragraph between floor and a table (its last sentence when long), or None."""
    head = text[floor:start].rstrip()
    if not head:
        return None
    line = head.rsplit("\n", 1)[-1].strip()
    if len(line) > CAPTION_MAX_CHARS:
        line = _SENTENCE.split(line)[-1]
    return line[:CAPTION_MAX_CHARS] or None


def table_lines(tables: Sequence[LinearTable]) -> frozenset[str]:
    """Return every line of the given tables, which cleaning keeps verbatim."""
    return frozenset(line for table in tables for line in table.lines)
