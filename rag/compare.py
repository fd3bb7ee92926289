"""Which year: a figure compared across the years of one table row.

"In which year was Transportation equipment larger?" is answered by no cell's value but by a
column header: the year whose cell in the row of "Transportation equipment" holds the larger
figure. The row is the one whose header covers most of the question's terms (the ranker's best
cell breaks a tie); each of its cells about one year (its column header names it) is compared, with
its table's unit applied and the sign accounts give it ("(3,781)" is negative). A bound ("less
than 10,000 thousand", "negative") takes the one year on the asked side of it; two such years, or
two years with the same top figure, give no answer.

The answer's number is the year as its column header is written in the cited row line
("Transportation equipment | 2019: 613 | 2018: 745" answers 2018 at the "2018" before "745"), so
the grounding invariant holds: the number lies in the cited cell's column header, inside the cited
row line. A calibration fitted by `rag train` on the training table questions of this kind turns
the comparison's features into P(right).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rag.quantities import Quantity, parse_quantities, signed_value, year_of
from rag.question import Question
from rag.ranking import Calibration, Ranked

# the chosen row's header coverage of the question's terms, its lead over the next row's, the
# number of years compared, and the best ranker score among the row's cells
COMPARISON_FEATURES = ("row_coverage", "coverage_lead", "years", "score")


@dataclass(frozen=True)
class Compared:
    """The year a comparison answers, with the cell it cites and how sure it is."""

    chosen: Ranked  # the cell of the answering year
    year: Quantity  # the year as written in the cited row line (the answer's number)
    cells: tuple[Ranked, ...]  # every cell compared, one per year, in the row's order
    features: tuple[float, ...]  # COMPARISON_FEATURES
    probability: float
    threshold: float


def compare(question: Question, ranked: Sequence[Ranked], calibration: Calibration | None) -> Compared | None:
    """The year a "which year" question's comparison gives over the retrieved table rows, or None
    when it asks for none or no row has figures for two years that settle it."""
    asked = question.compare
    if asked is None:
        return None
    rows = _year_rows(question, ranked)
    if not rows:
        return None
    order = sorted(rows, key=lambda line: (-rows[line][0].read.row_coverage, -_top_score(rows[line])))
    best = rows[order[0]]
    coverage = best[0].read.row_coverage
    lead = coverage - (rows[order[1]][0].read.row_coverage if len(order) > 1 else 0.0)
    chosen = _settle(best, asked.most, asked.bound)
    if chosen is None:
        return None
    year = _written_year(chosen)
    if year is None:
        return None
    features = (coverage, lead, float(len(best)), _top_score(best))
    if calibration is None:  # before `rag train` has fitted one: found, but never sure enough
        return Compared(chosen, year, tuple(best), features, 0.0, 1.0)
    return Compared(
        chosen, year, tuple(best), features, calibration.probability(features), calibration.threshold
    )


def _top_score(cells: Sequence[Ranked]) -> float:
    return max(r.score for r in cells)


def _year_rows(question: Question, ranked: Sequence[Ranked]) -> dict[tuple[str, int], list[Ranked]]:
    """Each retrieved row line with one cell per year (two years at least, the question's period's
    if it names one), all of one kind and unit; where a year has several cells, those whose column
    header best covers the question, and a row with a year still in doubt is left out."""
    lines: dict[tuple[str, int], list[Ranked]] = {}
    for r in ranked:
        candidate = r.candidate
        about = candidate.about
        if candidate.cell is None or about.basis != "explicit" or about.year is None:
            continue
        if question.period and about.year not in question.period:
            continue
        lines.setdefault((candidate.document.doc_id, candidate.sentence_start), []).append(r)
    rows = {}
    for line, cells in lines.items():
        by_year: dict[int, list[Ranked]] = {}
        for r in cells:
            by_year.setdefault(r.candidate.about.year, []).append(r)
        kept = []
        for found in by_year.values():
            top = max(r.read.column_coverage for r in found)
            best = [r for r in found if r.read.column_coverage == top]
            if len({r.candidate.cell.start for r in best}) > 1:
                break  # two cells for one year: which one the question means is in doubt
            kept.append(best[0])
        else:
            units = {(r.candidate.quantity.kind, r.candidate.quantity.unit or "") for r in kept}
            if len(kept) >= 2 and len(units) == 1:
                rows[line] = sorted(kept, key=lambda r: r.candidate.quantity.start)
    return rows


def _settle(cells: Sequence[Ranked], most: bool, bound: float | None) -> Ranked | None:
    """The cell whose year answers: the largest (smallest) figure, or the one figure above (below)
    the bound; None on a tie or when not exactly one figure lies beyond the bound."""
    values = [signed_value(r.candidate.document.text, r.candidate.quantity) for r in cells]
    if bound is None:
        top = max(values) if most else min(values)
        picked = [i for i, v in enumerate(values) if v == top]
    else:
        picked = [i for i, v in enumerate(values) if (v > bound if most else v < bound)]
    return cells[picked[0]] if len(picked) == 1 else None


def _written_year(cell: Ranked) -> Quantity | None:
    """The year of a cell's column header as written before the cell in its row line
    ("… | December 31, / 2019: $1,949"), with offsets in the document's text."""
    candidate = cell.candidate
    text, start = candidate.document.text, candidate.cell.start
    label = text.rfind(" | ", candidate.sentence_start, start)
    if label < 0:
        return None
    label += 3
    for quantity in parse_quantities(text[label:start]):
        year = quantity if quantity.kind == "year" else year_of(quantity)
        if year is not None and year.year == candidate.about.year:
            return replace(year, start=year.start + label, end=year.end + label)
    return None
