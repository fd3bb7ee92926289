"""The grounding invariant: every number we answer occurs inside a cited span; for a cited table
cell, inside that cell ("$210 million" read from "210" under "$ millions" is the cell's number),
or, for a compared year, in the cell's column header as its row line writes it ("2018: 745")."""

from __future__ import annotations

from collections.abc import Sequence

from index.errors import RagError
from index.types import Document
from rag.quantities import Quantity, parse_quantities, parse_quantity, quantities_match
from rag.question import named_years
from rag.types import Answer, TableRef


class GroundingError(RagError):
    """An answer whose number is not found in what it cites (a bug, never shown as an answer)."""


def check_grounded(answer: Answer, documents: dict[str, Document]) -> None:
    """Raise GroundingError unless the answer's quantity lies inside a cited span of its source."""
    if answer.abstained or answer.quantity is None:
        return
    quantity = answer.quantity
    for citation in answer.citations:
        document = documents.get(citation.doc_id)
        if document is None or document.text[citation.start : citation.end] != citation.text:
            continue
        inside = citation.start <= quantity.start and quantity.end <= citation.end
        if citation.table is not None:  # a cited cell: the number lies inside that cell of the table
            inside = inside and _inside_cell(citation.table, document, quantity)
        if inside and document.text[quantity.start : quantity.end] == quantity.text:
            stated = parse_quantity(answer.answer or "")
            if stated is not None and quantities_match(stated, quantity):
                return
    raise GroundingError(f"answer {answer.answer!r} is not found in any cited span")


def _inside_cell(cited: TableRef, document: Document, quantity: Quantity) -> bool:
    """True when the cited cell is a cell of the document's tables and holds the quantity's text."""
    cell = next(
        (c for t in document.tables for c in t.cells if (c.start, c.end) == (cited.start, cited.end)), None
    )
    if cell is None or (cell.row, cell.column) != (cited.row, cited.column):
        return False
    if cell.start <= quantity.start and quantity.end <= cell.end:
        return True
    # a compared year ("which year was X larger?"): the year the cell's column header names, as
    # that header is written just before the cell in its row line ("… | 2018: 745")
    label = document.text[quantity.end : cell.start]
    return (
        quantity.kind == "year"
        and quantity.year in named_years(cell.column)
        and quantity.end <= cell.start
        and "|" not in label
    )


def supported_numbers(
    text: str, passages: list[str], known: Sequence[Quantity] = ()
) -> tuple[list[str], list[str]]:
    """Split the quantities mentioned in text into those found in passages (or among `known`: the
    passages' table cells, read in their tables' units) and those not."""
    found = [*(q for passage in passages for q in parse_quantities(passage)), *known]
    supported, unsupported = [], []
    for quantity in parse_quantities(text):
        if quantity.kind in ("ordinal",) or any(quantities_match(quantity, f) for f in found):
            supported.append(quantity.text)
        else:
            unsupported.append(quantity.text)
    return supported, unsupported
