"""Answers from table cells with the real model, FAISS and BM25: a results table beside text.

The reader and ranker were fitted on text only (`rag train` has no table rows yet), so where the
calibrated model abstains the tests assert on the best read candidate and on the answer the
decision rules give with every candidate admitted (`decide(..., threshold=0.0)`), as README's
"best candidate" does; the citation, the year rule and the grounding check run either way.
"""

from __future__ import annotations

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli import commands_query
from index.stores.contract import ChunkParams, WriteRequest
from index.stores.faiss.build import update_index
from rag.engine import Engine, EngineConfig
from rag.quantities import parse_quantity, quantities_match
from rag.settings import Settings
from tests.conftest import MODEL
from tests.tables import BERTH_FEE_QUESTION, acme_documents

CASES = [
    ("What was Acme's operating profit in 2004?", "$210 million", "Operating profit", "2004", "210"),
    ("What was Acme's revenue in 2003?", "$1,100 million", "Revenue", "2003", "1,100"),
]


@pytest.fixture(scope="module")
def table_index(tmp_path_factory, embedder):
    index_dir = tmp_path_factory.mktemp("tables")
    update_index(index_dir, embedder, WriteRequest(files=acme_documents(), params=ChunkParams()))
    return index_dir


@pytest.fixture(scope="module")
def engine(table_index, embedder) -> Engine:
    return Engine(EngineConfig(index_dir=table_index, model=MODEL), embedder=embedder)


def test_the_store_gives_the_tables_back(engine):
    (table,) = engine.store.documents["acme-results"].tables
    assert table.caption == "Group results ($ millions)" and len(table.cells) == 4


@pytest.mark.parametrize(("question", "expected", "row", "column", "cell"), CASES)
def test_the_best_candidate_is_the_cell_of_the_row_and_year_asked(
    engine, question, expected, row, column, cell
):
    best = engine.answerer.read(question).best
    assert best is not None and best.candidate.cell is not None
    assert (best.candidate.cell.row, best.candidate.cell.column) == (row, column)
    assert best.candidate.quantity.text == cell
    assert quantities_match(best.candidate.quantity, parse_quantity(expected))


@pytest.mark.parametrize(("question", "expected", "row", "column", "cell"), CASES)
def test_the_answer_cites_the_table_row_and_column(engine, question, expected, row, column, cell):
    answerer = engine.answerer
    answer = answerer.decide(answerer.read(question), threshold=0.0)  # grounding is checked inside
    assert not answer.abstained and quantities_match(parse_quantity(answer.answer), parse_quantity(expected))
    citation = answer.citations[0]
    assert citation.doc_id == "acme-results" and citation.text.startswith(f"{row} | ")
    assert citation.table is not None
    assert (citation.table.caption, citation.table.row, citation.table.column) == (
        "Group results ($ millions)",
        row,
        column,
    )
    text = engine.store.documents["acme-results"].text
    assert text[citation.table.start : citation.table.end] == cell == answer.quantity.text


def test_the_year_rule_reads_the_column_header_as_the_cells_year(engine):
    answerer = engine.answerer
    answer = answerer.decide(answerer.read("What was Acme's revenue in 2004?"), threshold=0.0)
    assert answer.citations[0].table.column == "2004" and answer.quantity.text == "1,234"


def test_a_calibrated_answer_from_the_table_or_an_abstention_naming_the_cell(engine):
    answer = engine.ask("What was Acme's operating profit in 2004?")
    if answer.abstained:  # the text-trained calibration doubts a row of two close figures
        assert "$210 million in acme-results" in answer.reason
    else:
        assert answer.answer == "$210 million" and answer.citations[0].table.row == "Operating profit"


def test_a_sentence_beside_the_table_is_still_answered_with_no_table(engine):
    answer = engine.ask("How many people does Acme employ?")
    assert answer.answer == "4,500 people" and answer.citations[0].table is None


def test_a_calibrated_answer_cites_its_cell_in_the_api_json(engine, table_index):
    settings = Settings(index_dir=table_index, model=MODEL, api_key=None, protect_reads=False)
    with TestClient(create_app(settings, engine=engine)) as client:
        answer = client.post("/ask", json={"question": BERTH_FEE_QUESTION}).json()
    assert answer["answer"] == "€45,000" and not answer["abstained"]
    citation = answer["citations"][0]
    assert citation["text"] == "Berth fee | Fee: 45"
    assert citation["table"] == {
        "caption": "Harbour fees (in € thousands)",
        "row": "Berth fee",
        "column": "Fee",
        "start": answer["quantity"]["start"],
        "end": answer["quantity"]["end"],
        "unit": "in € thousands",  # the unit its figure is read in: "45" is €45,000
    }


def test_rag_ask_prints_the_tables_caption_row_and_column(table_index):
    rag = typer.Typer()
    rag.callback()(lambda: None)  # a group, so that `ask` stays a subcommand as in `rag ask`
    commands_query.register(rag)
    result = CliRunner().invoke(rag, ["ask", BERTH_FEE_QUESTION, "--index-dir", str(table_index)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "€45,000" and "Berth fee | Fee: 45" in lines[1]
    assert lines[2].strip() == "table “Harbour fees (in € thousands)”, row “Berth fee”, column “Fee”"


@pytest.mark.parametrize(
    ("question", "year", "row", "cell"),
    [
        ("In which year was Acme's revenue larger?", "2004", "Revenue", "1,234"),
        ("In which year was Acme's operating profit smaller?", "2003", "Operating profit", "180"),
    ],
)
def test_a_which_year_question_compares_the_rows_years_and_cites_the_years_cell(
    engine, question, year, row, cell
):
    answerer = engine.answerer
    reading = answerer.read(question)
    assert reading.compared is not None and reading.compared.year.text == year
    answer = answerer.decide(reading, threshold=0.0)  # grounding (the year in the header) is checked inside
    assert not answer.abstained and answer.answer == year and answer.quantity.kind == "year"
    cited = answer.citations[0]
    assert (cited.table.row, cited.table.column) == (row, year)
    text = engine.store.documents["acme-results"].text
    assert text[cited.table.start : cited.table.end] == cell
    assert text[answer.quantity.start : cited.table.start] == f"{year}: "  # the header, in the row line
