"""Table cells as candidates: the unit line applied by the one parser, row lines as sentences,
header years as the cells' years, and the grounding of a cited cell."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from index.types import Chunk, Document, Table, TableCell, document_from_record
from rag.candidates import Candidate, extract_candidates
from rag.cells import RowLine, cell_quantities
from rag.decision import Reading, answer_text, citation_of, decide
from rag.ground import GroundingError, check_grounded
from rag.quantities import in_table_unit, parse_quantity, parse_table_unit, quantities_match
from rag.question import Question, analyse
from rag.ranking import CALIBRATION_FEATURES, FEATURES, Calibration, Linear, candidate_features, rank
from rag.reading import Read
from rag.types import Answer, Hit
from tests.tables import ACME_RESULTS, acme_documents, linearise
from train.kinds import fit_kind_model

RESULTS = acme_documents()[0]


@pytest.mark.parametrize(
    ("line", "scale", "currency", "percent"),
    [
        ("$ millions", 1e6, "USD", False),
        ("$ in millions", 1e6, "USD", False),
        ("(in thousands)", 1e3, None, False),
        ("in € million", 1e6, "EUR", False),
        ("RMB billion", 1e9, "CNY", False),
        ("%", 1.0, None, True),
        (None, 1.0, None, False),
    ],
)
def test_a_unit_line_states_its_scale_currency_and_percent(line, scale, currency, percent):
    unit = parse_table_unit(line)
    assert (unit.scale, unit.currency, unit.percent) == (scale, currency, percent)


@pytest.mark.parametrize(
    ("cell", "line", "expected"),
    [
        ("1,234", "$ in millions", "$1,234 million"),
        ("$1,234", "$ in millions", "$1,234 million"),
        ("1,234", "(in thousands)", "1,234,000"),
        ("12.5", "%", "12.5%"),
        ("1,234", None, "1,234"),
    ],
)
def test_a_bare_cell_number_takes_its_tables_unit(cell, line, expected):
    scaled = in_table_unit(parse_quantity(cell), parse_table_unit(line))
    gold = parse_quantity(expected)
    assert scaled.text == cell and quantities_match(scaled, gold), (scaled, gold)


def test_linearise_puts_every_cell_at_its_value_text():
    text, table = linearise(
        ACME_RESULTS["caption"], None, ACME_RESULTS["columns"], ACME_RESULTS["rows"], at=5
    )
    padded = "." * 5 + text
    assert text.splitlines() == [
        "Group results ($ millions)",
        "Revenue | 2004: 1,234 | 2003: 1,100",
        "Operating profit | 2004: 210 | 2003: 180",
    ]
    assert [padded[c.start : c.end] for c in table.cells] == ["1,234", "1,100", "210", "180"]
    assert (table.start, table.end) == (5, 5 + len(text))


def table_candidates(document: Document = RESULTS) -> list[Candidate]:
    """The candidates of a whole document retrieved as one chunk."""
    chunk = Chunk(document.doc_id, f"{document.doc_id}#0", document.text, 0, len(document.text), 100)
    return extract_candidates([Hit(chunk, document, 1.0, 0)])


def test_each_value_cell_is_a_candidate_and_the_labels_and_header_years_are_not():
    cells = [c for c in table_candidates() if c.cell is not None]
    assert [(c.cell.row, c.cell.column, c.quantity.text) for c in cells] == [
        ("Revenue", "2004", "1,234"),
        ("Revenue", "2003", "1,100"),
        ("Operating profit", "2004", "210"),
        ("Operating profit", "2003", "180"),
    ]
    table = RESULTS.tables[0]
    inside = [c for c in table_candidates() if table.start <= c.quantity.start < table.end]
    assert inside and all(c.cell is not None for c in inside)  # no "2004" header, nothing of the caption


def test_a_cells_sentence_is_its_row_line_and_it_is_read_with_the_caption():
    profit = next(c for c in table_candidates() if c.quantity.text == "210")
    assert profit.sentence == "Operating profit | 2004: 210 | 2003: 180"
    context = profit.context()
    assert context.endswith("\nGroup results ($ millions)\nOperating profit | 2004: 210 | 2003: 180")
    assert "Acme said demand" in context  # the sentence before the table says whose results these are


def test_a_cell_is_money_in_its_tables_unit_and_about_its_column_year():
    profit = next(c for c in table_candidates() if c.quantity.text == "210")
    assert answer_text(profit.quantity) == "$210 million" and profit.quantity.kind == "money"
    assert profit.about.year == 2004 and profit.about.basis == "explicit"
    earlier = next(c for c in table_candidates() if c.quantity.text == "1,100")
    assert earlier.about.year == 2003 and quantities_match(earlier.quantity, parse_quantity("$1.1 billion"))


def test_text_sentences_beside_the_table_keep_their_candidates():
    staff = next(c for c in table_candidates() if c.quantity.text == "4,500 people")
    assert staff.cell is None and staff.sentence == "The company employs 4,500 people."


def test_a_table_read_back_from_json_records_is_a_table_again():
    from dataclasses import asdict

    again = document_from_record(asdict(RESULTS))
    assert isinstance(again.tables[0], Table) and again.tables == RESULTS.tables


def cell_answer(candidate: Candidate, stated: str | None = None) -> Answer:
    quantity = candidate.quantity
    return Answer("What was Acme's operating profit in 2004?", stated or answer_text(quantity), quantity,
                  False, None, [citation_of(candidate)])  # fmt: skip


def test_a_cited_cell_names_its_table_row_and_column_and_grounds_the_scaled_number():
    profit = next(c for c in table_candidates() if c.quantity.text == "210")
    answer = cell_answer(profit)
    cited = answer.citations[0].table
    assert cited is not None and (cited.caption, cited.row, cited.column) == (
        "Group results ($ millions)",
        "Operating profit",
        "2004",
    )
    assert RESULTS.text[cited.start : cited.end] == "210"
    check_grounded(answer, {RESULTS.doc_id: RESULTS})  # "$210 million" is the cell's "210"
    check_grounded(cell_answer(profit, "$210m"), {RESULTS.doc_id: RESULTS})


def test_a_number_outside_its_cited_cell_is_refused():
    profit = next(c for c in table_candidates() if c.quantity.text == "210")
    other = next(c for c in table_candidates() if c.quantity.text == "180")
    # the row line holds 180 too, but the citation names the 2004 cell
    moved = replace(cell_answer(other), citations=cell_answer(profit).citations)
    with pytest.raises(GroundingError, match="not found in any cited span"):
        check_grounded(moved, {RESULTS.doc_id: RESULTS})


def test_a_cited_cell_that_is_not_a_cell_of_the_document_is_refused():
    profit = next(c for c in table_candidates() if c.quantity.text == "210")
    answer = cell_answer(profit)
    citation = answer.citations[0]
    renamed = replace(citation, table=replace(citation.table, column="2003"))
    with pytest.raises(GroundingError):
        check_grounded(replace(answer, citations=[renamed]), {RESULTS.doc_id: RESULTS})


def test_an_unscaled_figure_stated_for_a_scaled_cell_is_refused():
    profit = next(c for c in table_candidates() if c.quantity.text == "210")
    with pytest.raises(GroundingError):
        check_grounded(cell_answer(profit, "$210"), {RESULTS.doc_id: RESULTS})


def _reads(question: str) -> tuple[Question, list[Read]]:
    """The table's candidates as read, with their header coverages, and a flat reader score."""
    from rag.reading import term_coverage

    parsed = analyse(question)
    weights = dict.fromkeys(parsed.terms, 1.0)
    reads = []
    for candidate in table_candidates():
        cell = candidate.cell
        headers = (0.0, 0.0)
        if cell is not None:
            headers = (
                term_coverage(parsed.terms, cell.row, weights),
                term_coverage(parsed.terms, cell.column, weights),
            )
        reads.append(Read(candidate, -1.0, -2.0, 0, 0.5, 0.5, *headers))
    return parsed, reads


def test_a_cells_row_and_column_headers_are_ranking_features():
    question, reads = _reads("What was the operating profit in 2003?")
    rows = candidate_features(question, reads, {"money": 1.0})
    named = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    by_cell = {(r.candidate.cell.row, r.candidate.cell.column): f for r, f in zip(reads, named, strict=True)
               if r.candidate.cell}  # fmt: skip
    assert by_cell[("Operating profit", "2003")]["in_table"] == 1.0
    assert by_cell[("Operating profit", "2003")]["row_coverage"] == 1.0
    assert by_cell[("Operating profit", "2003")]["row_coverage_gap"] == 0.0
    assert by_cell[("Revenue", "2003")]["row_coverage"] == 0.0
    assert by_cell[("Revenue", "2003")]["row_coverage_gap"] == 1.0
    texts = [f for r, f in zip(reads, named, strict=True) if r.candidate.cell is None]
    assert all(f["in_table"] == 0.0 and f["row_coverage"] == 0.0 for f in texts)


def test_a_cell_answers_at_the_table_calibrations_threshold_and_text_at_its_own():
    question, reads = _reads("What was the operating profit in 2003?")
    kinds = fit_kind_model([("How much was the profit?", "money"), ("How many staff?", "count")] * 2, seed=13)
    ranker = Linear(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0)
    text = Calibration(tuple(0.0 for _ in CALIBRATION_FEATURES), 0.0, 0.9)  # P = 0.5 for every candidate
    table = Calibration(tuple(0.0 for _ in CALIBRATION_FEATURES), 0.0, 0.4)
    ranked = rank(question, reads, kinds, ranker, text, table)
    assert {(r.candidate.cell is not None, r.threshold) for r in ranked} >= {(True, 0.4)}
    assert all(r.threshold == 0.9 for r in ranked if r.candidate.cell is None)
    documents = {RESULTS.doc_id: RESULTS}
    cells_first = [r for r in ranked if r.candidate.cell] + [r for r in ranked if not r.candidate.cell]
    answer = decide(Reading(question, reads, cells_first), None, documents)
    assert not answer.abstained and answer.citations[0].table is not None  # 0.5 >= 0.4
    texts_first = [r for r in ranked if not r.candidate.cell] + [r for r in ranked if r.candidate.cell]
    if texts_first[0].candidate.cell is None:
        assert decide(Reading(question, reads, texts_first), None, documents).abstained  # 0.5 < 0.9
    assert decide(Reading(question, reads, cells_first), 0.6, documents).abstained  # one given for all


def test_a_reading_that_holds_a_cell_is_scored_by_the_table_ranker_and_one_without_by_the_ranker():
    question, reads = _reads("What was the operating profit in 2003?")
    kinds = fit_kind_model([("How much was the profit?", "money"), ("How many staff?", "count")] * 2, seed=13)
    width = len(FEATURES)
    ranker = Linear(np.zeros(width), np.ones(width), np.zeros(width), 0.0)  # every candidate scores 0
    in_table = np.zeros(width)
    in_table[FEATURES.index("in_table")] = 2.0
    table_ranker = Linear(np.zeros(width), np.ones(width), in_table, 1.0)  # a cell 3, a sentence 1
    texts = [r for r in reads if r.candidate.cell is None]
    assert texts and len(texts) < len(reads)
    mixed = rank(question, reads, kinds, ranker, None, None, table_ranker)
    assert {(r.candidate.cell is not None, r.score) for r in mixed} == {(True, 3.0), (False, 1.0)}
    assert mixed[0].candidate.cell is not None
    # without a cell among the candidates the ranker scores them, whatever the table ranker says
    alone = rank(question, texts, kinds, ranker, None, None, table_ranker)
    assert [r.score for r in alone] == [0.0] * len(texts)
    assert [r.score for r in rank(question, reads, kinds, ranker, None)] == [0.0] * len(reads)


@pytest.mark.parametrize(
    ("row", "column", "cell", "expected"),
    [
        ("Order intake", "Change (%)", "13.2", "13.2%"),  # a column of percents under a money table
        ("Gross margin %", "2019", "41.5", "41.5%"),  # a row of percents
        ("Revenue ($m)", "2019", "83.2", "$83.2 million"),  # the row states its own unit
        ("Staff", "2019", "1,200", "$1,200 million"),  # no header unit: the table's ("$ millions")
        ("Pilot fee", "Fee (€)", "120", "€120 million"),  # a currency alone, at the table's scale
        ("Price (US$)", "2019", "4.5", "$4.5 million"),
    ],
)
def test_a_row_or_column_header_unit_applies_to_its_own_cells(row, column, cell, expected):
    document = replace(RESULTS, text=f"{row} | {column}: {cell}", tables=())
    end = len(document.text)
    table = Table(None, "$ millions", 0, end, (TableCell(row, column, end - len(cell), end),))
    line = RowLine(table, table.cells, 0, 0)
    [(quantity, _)] = cell_quantities(replace(document, tables=(table,)), line)
    assert quantities_match(quantity, parse_quantity(expected)), (quantity, expected)


@pytest.mark.parametrize(
    ("unit", "column", "cell", "expected"),
    [
        (None, "Fee (€)", "120", "€120"),  # a table with no unit: the header's currency
        ("in thousands", "Amount (EUR)", "45", "€45,000"),
        ("in thousands", "Amount", "45", "45,000"),  # no currency named anywhere: a bare number
    ],
)
def test_a_header_that_names_only_a_currency_keeps_the_tables_scale(unit, column, cell, expected):
    document = replace(RESULTS, text=f"Berth fee | {column}: {cell}", tables=())
    end = len(document.text)
    table = Table(None, unit, 0, end, (TableCell("Berth fee", column, end - len(cell), end),))
    line = RowLine(table, table.cells, 0, 0)
    [(quantity, _)] = cell_quantities(replace(document, tables=(table,)), line)
    assert quantities_match(quantity, parse_quantity(expected)), (quantity, expected)


@pytest.mark.parametrize(
    ("row", "cell", "expected"),
    [
        ("Revenue", "1,234", "$1,234,000"),  # the statement's scale and currency
        ("Basic earnings per share", "0.34", "$0.34"),  # "except per share data": not scaled
        ("Diluted EPS", "0.33", "$0.33"),
        ("Net income per common share", "1.20", "$1.20"),
        ("Weighted average shares outstanding", "5,000", "5,000"),  # "except share … data": a count
    ],
)
def test_the_figures_a_unit_statement_excepts_are_not_scaled(row, cell, expected):
    document = replace(RESULTS, text=f"{row} | 2019: {cell}", tables=())
    end = len(document.text)
    unit = "(All amounts in thousands of U.S. Dollars, except share and per share data)"
    table = Table(None, unit, 0, end, (TableCell(row, "2019", end - len(cell), end),))
    [(quantity, _)] = cell_quantities(replace(document, tables=(table,)), RowLine(table, table.cells, 0, 0))
    assert quantities_match(quantity, parse_quantity(expected)), (quantity, expected)


def test_an_exception_for_per_share_data_leaves_share_counts_scaled():
    unit = parse_table_unit("(in thousands, except per share data)")
    assert (unit.scale, unit.except_per_share, unit.except_shares) == (1e3, True, False)
