"""Which year: a "which year was X larger?" question compared across the years of a table row,
answered with the year its column header writes in the cited row line, and grounded there."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from index.types import Chunk
from rag.candidates import extract_candidates
from rag.compare import COMPARISON_FEATURES, compare
from rag.decision import Reading, citation_of, decide
from rag.ground import GroundingError, check_grounded
from rag.question import Comparison, analyse, comparison_of
from rag.ranking import CALIBRATION_FEATURES, FEATURES, Calibration, Linear, rank
from rag.reading import Read, term_coverage
from rag.types import Hit
from tests.tables import acme_documents
from train.kinds import fit_kind_model

RESULTS = acme_documents()[0]  # Revenue 1,234 / 1,100, Operating profit 210 / 180 ($ millions), 2004 / 2003
DOCUMENTS = {RESULTS.doc_id: RESULTS}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("In which year was Transportation equipment larger?", Comparison(True)),
        ("Which year has the lowest service cost?", Comparison(False)),
        ("Which year has the most number of shares granted during the period?", Comparison(True)),
        ("In which year was revenue less than 600,000 thousands?", Comparison(False, 6e8)),
        ("Which years did Non-current deferred tax assets exceed $20,000 thousand?", Comparison(True, 2e7)),
        ("In which year was Total other income, net less than -3,000 thousands?", Comparison(False, -3e6)),
        ("In which year was Other income (expense), net negative?", Comparison(False, 0.0)),
        ("In which year did the bridge open?", None),  # no comparison
        ("How much larger was revenue in 2019?", None),  # no year asked for
        ("In which year was revenue larger and costs smaller?", None),  # both ways, no bound
    ],
)
def test_a_which_year_question_states_its_comparison(question, expected):
    assert comparison_of(question) == expected


def test_a_comparison_question_wants_a_year_even_when_it_counts():
    question = analyse("Which year has the most number of shares granted during the period?")
    assert question.wanted == "year" and question.compare == Comparison(True)
    assert analyse("How many shares were granted?").compare is None


def test_month_names_are_dates_not_names_the_source_must_state():
    question = analyse("How much was the total energy consumption for the year ended 31 December 2019?")
    assert "December" not in question.proper_nouns
    assert analyse("How much did Acme earn in May in Astana?").proper_nouns == ("Acme", "Astana")


def ranked_for(question_text: str):
    """The Acme table's candidates ranked for a question by a ranker that scores a cell by its row
    header's coverage of the question (as the fitted ranker's row features do)."""
    question = analyse(question_text)
    chunk = Chunk(RESULTS.doc_id, f"{RESULTS.doc_id}#0", RESULTS.text, 0, len(RESULTS.text), 100)
    candidates = extract_candidates([Hit(chunk, RESULTS, 1.0, 0)])
    weights = dict.fromkeys(question.terms, 1.0)
    reads = []
    for candidate in candidates:
        cell = candidate.cell
        headers = (0.0, 0.0)
        if cell is not None:
            headers = (term_coverage(question.terms, cell.row, weights),
                       term_coverage(question.terms, cell.column, weights))  # fmt: skip
        reads.append(Read(candidate, -1.0, -2.0, 0, 0.5, 0.5, *headers))
    kinds = fit_kind_model([("How much was the profit?", "money"), ("In which year?", "year")] * 2, seed=13)
    weights_by_feature = np.array([1.0 if name == "row_coverage" else 0.0 for name in FEATURES])
    ranker = Linear(np.zeros(len(FEATURES)), np.ones(len(FEATURES)), weights_by_feature, 0.0)
    text = Calibration(tuple(0.0 for _ in CALIBRATION_FEATURES), 0.0, 0.9)
    return question, reads, rank(question, reads, kinds, ranker, text, text)


@pytest.mark.parametrize(
    ("question", "year", "cell"),
    [
        ("In which year was Acme's revenue larger?", 2004, "1,234"),
        ("In which year was the operating profit smaller?", 2003, "180"),
        ("In which year was the operating profit less than 200 million dollars?", 2003, "180"),
        ("In which year was the operating profit above $200 million?", 2004, "210"),
    ],
)
def test_the_row_asked_about_is_compared_and_its_year_answers(question, year, cell):
    parsed, _, ranked = ranked_for(question)
    compared = compare(parsed, ranked, None)
    assert compared is not None and compared.year.year == year and compared.year.text == str(year)
    assert RESULTS.text[compared.chosen.candidate.cell.start : compared.chosen.candidate.cell.end] == cell
    assert len(compared.cells) == 2 and compared.probability == 0.0 and compared.threshold == 1.0
    assert len(compared.features) == len(COMPARISON_FEATURES)
    # the year as the row line writes it, just before the chosen cell: "… | 2003: 180"
    assert RESULTS.text[compared.year.start : compared.chosen.candidate.cell.start] == f"{year}: "


def test_a_bound_both_years_pass_gives_no_answer():
    parsed, _, ranked = ranked_for("In which year was the operating profit less than 500 million dollars?")
    assert compare(parsed, ranked, None) is None  # 2004 and 2003 both: not one year


def test_a_comparison_answers_at_its_calibrations_threshold_and_is_grounded_in_the_header():
    parsed, reads, ranked = ranked_for("In which year was Acme's revenue larger?")
    sure = Calibration(tuple(0.0 for _ in COMPARISON_FEATURES), 0.0, 0.4)  # P = 0.5
    compared = compare(parsed, ranked, sure)
    assert compared is not None and compared.probability == pytest.approx(0.5)
    answer = decide(Reading(parsed, reads, ranked, compared=compared), None, DOCUMENTS)
    assert not answer.abstained and answer.answer == "2004" and answer.confidence == 0.5
    cited = answer.citations[0]
    assert cited.table is not None and (cited.table.row, cited.table.column) == ("Revenue", "2004")
    assert cited.text.startswith("Revenue | 2004: 1,234")
    # below its threshold the comparison does not answer; the cells' own decision runs (P 0.5 < 0.9)
    doubtful = replace(compared, threshold=0.6)
    assert decide(Reading(parsed, reads, ranked, compared=doubtful), None, DOCUMENTS).abstained


def test_a_year_from_another_cells_header_is_refused():
    parsed, reads, ranked = ranked_for("In which year was Acme's revenue larger?")
    compared = compare(parsed, ranked, Calibration(tuple(0.0 for _ in COMPARISON_FEATURES), 0.0, 0.4))
    answer = decide(Reading(parsed, reads, ranked, compared=compared), None, DOCUMENTS)
    other = next(r for r in compared.cells if r is not compared.chosen)
    # the 2003 cell cited for the year 2004: the year is not its column header's
    moved = replace(answer, citations=[citation_of(other.candidate)])
    with pytest.raises(GroundingError):
        check_grounded(moved, DOCUMENTS)
