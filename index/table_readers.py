"""Table readers for HTML `<table>` elements and Markdown pipe tables, into `ParsedTable`s."""

from __future__ import annotations

import re
from collections.abc import Iterator

from selectolax.lexbor import LexborNode

from index.tables import LinearTable, ParsedTable, clean_cell, leading_header_rows, linearise, make_table

MAX_SPAN = 1000  # a colspan/rowspan beyond this is a typo or an attack, not a layout
_SECTIONS = ("thead", "tbody", "tfoot")
_PIPE_DELIMITER = re.compile(r"\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*")
_PIPE_ROW = re.compile(r"\s{0,3}\|?.*\|.*")


def read_html_table(node: LexborNode) -> ParsedTable | None:
    """Read a `<table>` node; None when it is a layout table (one row or one column) or empty."""
    rows, header_rows = _html_rows(node)
    grid, is_th = _expand_spans(rows)
    if len(grid) < 2 or max((len(row) for row in grid), default=0) < 2:
        return None
    n_header = header_rows or _count_th_rows(is_th, grid)
    heads = [_row_header_cols(flags, row) for row, flags in zip(grid, is_th, strict=True)]
    caption_node = next((child for child in _children(node) if child.tag == "caption"), None)
    caption = clean_cell(_cell_text(caption_node)) if caption_node is not None else None
    table = make_table(grid, n_header, caption=caption or None, row_header_cols=heads)
    if table is not None:
        table.nested = [t for inner in _nested_tables(node) if (t := read_html_table(inner))]
    return table


def _children(node: LexborNode) -> Iterator[LexborNode]:
    """Yield a node's child elements and text nodes in order."""
    child = node.child
    while child is not None:
        yield child
        child = child.next


def _html_rows(table: LexborNode) -> tuple[list[list[LexborNode]], int]:
    """Return the table's own rows as lists of cell nodes, and how many come from <thead>."""
    rows: list[list[LexborNode]] = []
    n_thead = 0
    for child in _children(table):
        section = [child] if child.tag == "tr" else list(_children(child)) if child.tag in _SECTIONS else []
        for row in section:
            if row.tag == "tr":
                rows.append([cell for cell in _children(row) if cell.tag in ("td", "th")])
                n_thead += child.tag == "thead"
    return rows, n_thead


def _span(cell: LexborNode, name: str) -> int:
    """Read a colspan/rowspan attribute as a number between 1 and MAX_SPAN."""
    value = (cell.attributes.get(name) or "1").strip()
    return min(max(int(value), 1), MAX_SPAN) if value.isdigit() else 1


def _expand_spans(rows: list[list[LexborNode]]) -> tuple[list[list[str]], list[list[bool]]]:
    """Expand colspan and rowspan into a full grid of texts, and mark which came from <th> cells."""
    grid: list[list[str]] = []
    is_th: list[list[bool]] = []
    pending: dict[tuple[int, int], tuple[str, bool]] = {}  # cells that rowspans carry down
    for r, cells in enumerate(rows):
        texts: list[str] = []
        flags: list[bool] = []
        queue = iter(cells)
        while True:
            col = len(texts)
            if (r, col) in pending:
                text, flag = pending.pop((r, col))
                texts.append(text)
                flags.append(flag)
                continue
            cell = next(queue, None)
            if cell is None:
                if not any(row == r and col < later for row, later in pending):
                    break
                texts.append("")  # a gap before a cell that a rowspan carries further right
                flags.append(False)
                continue
            text, flag = (
                clean_cell(_cell_text(cell)),
                cell.tag == "th" or cell.attributes.get("scope") == "row",
            )
            for offset in range(_span(cell, "colspan")):
                texts.append(text)
                flags.append(flag)
                for down in range(1, _span(cell, "rowspan")):
                    if r + down < len(rows):
                        pending[(r + down, col + offset)] = (text, flag)
        grid.append(texts)
        is_th.append(flags)
    return grid, is_th


def _count_th_rows(is_th: list[list[bool]], grid: list[list[str]]) -> int:
    """Count leading rows of only <th> cells; with none, read the grid as a plain one."""
    count = 0
    while count < len(grid) - 1 and is_th[count] and all(is_th[count]):
        count += 1
    return count or leading_header_rows(grid)


def _row_header_cols(flags: list[bool], row: list[str]) -> int:
    """Count a row's leading <th> cells; with none, its first column heads it."""
    count = 0
    while count < len(flags) - 1 and flags[count]:
        count += 1
    return count or (1 if len(row) > 1 else 0)


def _cell_text(node: LexborNode) -> str:
    """Return a node's text, leaving out tables nested inside it."""
    pieces: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.tag == "-text":
            pieces.append(current.text_content or "")
            continue
        if current is not node and current.tag == "table":
            continue
        if current.tag == "br":
            pieces.append(" ")
        stack.extend(reversed(list(_children(current))))
    return " ".join(pieces)


def _nested_tables(table: LexborNode) -> list[LexborNode]:
    """Return the tables directly nested in a table's cells (not deeper ones)."""
    found: list[LexborNode] = []
    stack = [child for child in _children(table)]
    while stack:
        current = stack.pop()
        if current.tag == "table":
            found.append(current)
            continue
        stack.extend(_children(current))
    return found[::-1]


def split_pipe_row(line: str) -> list[str]:
    """Split a Markdown pipe-table row into cells, honouring escaped pipes."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [cell.replace("\\|", "|").strip() for cell in re.split(r"(?<!\\)\|", body)]


def find_pipe_tables(lines: list[str]) -> Iterator[tuple[int, int, ParsedTable | None]]:
    """Yield (first line, end line, table) for each Markdown pipe table: header, delimiter, rows."""
    index = 0
    while index + 1 < len(lines):
        line, below = lines[index], lines[index + 1]
        if "|" in line and _PIPE_ROW.fullmatch(line) and _PIPE_DELIMITER.fullmatch(below) and "-" in below:
            end = index + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            rows = [split_pipe_row(row) for row in [line, *lines[index + 2 : end]]]
            yield index, end, make_table(rows, 1)
            index = end
        else:
            index += 1


def replace_pipe_tables(text: str) -> tuple[str, list[LinearTable]]:
    """Replace each Markdown pipe table by its linearised lines, a paragraph of their own."""
    lines = text.split("\n")
    out: list[str] = []
    tables: list[LinearTable] = []
    done = 0
    for first, end, table in find_pipe_tables(lines):
        out.extend(lines[done:first])
        if table is not None:
            tables.append(linearise(table))
            out.extend(["", *tables[-1].lines, ""])
        done = end
    out.extend(lines[done:])
    return "\n".join(out), tables
