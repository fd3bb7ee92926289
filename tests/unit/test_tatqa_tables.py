"""TAT-QA contexts become documents with their table, and questions are tagged by answer source."""

from __future__ import annotations

import json
from pathlib import Path

from qadata.external import load_external

TABLE = [
    ["", "2019", "2018"],
    ["", "$'000", "$'000"],
    ["Revenue", "1,234", "1,100"],
    ["Operating profit", "210", "180"],
]
PARAGRAPHS = [
    {"uid": "p1", "order": 1, "text": "Net bookings decreased by $539 million in 2019 compared with 2018."},
    {"uid": "p2", "order": 2, "text": "The table below shows the group results for both years."},
]
QUESTIONS = [
    {"uid": "q1", "order": 1, "question": "What was the decrease in net bookings?", "answer": ["$539"],
     "answer_type": "span", "answer_from": "text", "scale": "million"},
    {"uid": "q2", "order": 2, "question": "What was the revenue in 2019?", "answer": ["1,234"],
     "answer_type": "span", "answer_from": "table", "scale": "thousand"},
    {"uid": "q3", "order": 3, "question": "What was the operating profit in 2018?", "answer": ["180"],
     "answer_type": "span", "answer_from": "table-text", "scale": "thousand"},
]  # fmt: skip


def write_context(tmp_path: Path) -> Path:
    path = tmp_path / "tatqa.json"
    context = {"table": {"uid": "t-1", "table": TABLE}, "paragraphs": PARAGRAPHS, "questions": QUESTIONS}
    path.write_text(json.dumps([context]), encoding="utf-8")
    return path


def test_a_context_document_holds_its_text_then_its_table(tmp_path: Path) -> None:
    [document] = load_external("tatqa", write_context(tmp_path)).documents
    assert document.text.startswith("Net bookings decreased by $539 million")
    assert document.text.endswith(
        "the group results for both years.\n\n"
        "Revenue | 2019: 1,234 | 2018: 1,100\nOperating profit | 2019: 210 | 2018: 180"
    )
    [table] = document.tables
    assert table.unit == "$'000"
    assert table.caption == "The table below shows the group results for both years."
    cells = {(c.row, c.column): document.text[c.start : c.end] for c in table.cells}
    assert cells[("Operating profit", "2018")] == "180" and len(cells) == 4


def test_questions_are_tagged_by_where_the_answer_is(tmp_path: Path) -> None:
    items = load_external("tatqa", write_context(tmp_path)).items
    assert [(i.id, i.answer, i.tags[-1]) for i in items] == [
        ("q1", "$539 million", "from-text"),
        ("q2", "1,234 thousand", "from-table"),
        ("q3", "180 thousand", "from-table-text"),
    ]


def test_training_can_read_a_context_without_its_table(tmp_path: Path) -> None:
    [document] = load_external("tatqa", write_context(tmp_path), tables=False).documents
    assert document.tables == () and "Operating profit |" not in document.text
    assert document.text.startswith("Net bookings decreased by $539 million")


def test_a_table_stands_after_the_paragraph_that_introduces_it_and_takes_its_unit(tmp_path: Path) -> None:
    paragraphs = [
        {"uid": "p1", "order": 1, "text": "The following table sets forth our cash flows (in thousands):"},
        {
            "uid": "p2",
            "order": 2,
            "text": "Operating activities provided $115.5 million in 2019.",
        },
    ]
    table = [["", "2019", "2018"], ["Net cash provided by operating activities", "$115,549", "$90,253"]]
    context = {"table": {"uid": "t-2", "table": table}, "paragraphs": paragraphs, "questions": QUESTIONS[1:2]}
    path = tmp_path / "tatqa.json"
    path.write_text(json.dumps([context]), encoding="utf-8")
    [document] = load_external("tatqa", path).documents
    row = "Net cash provided by operating activities | 2019: $115,549 | 2018: $90,253"
    assert document.text == f"{paragraphs[0]['text']}\n\n{row}\n\n{paragraphs[1]['text']}"
    [placed] = document.tables
    assert placed.unit == "(in thousands)" and placed.end == document.text.index(row) + len(row)
    [plain] = load_external("tatqa", path, tables=False).documents
    assert plain.text == f"{paragraphs[0]['text']}\n\n{paragraphs[1]['text']}"


def _context_file(tmp_path: Path, table: list[list[str]], paragraph: str, question: str, answer: str,
                  scale: str) -> Path:  # fmt: skip
    path = tmp_path / "tatqa.json"
    texts = [{"uid": "p1", "order": 1, "text": paragraph}]
    asked = {"uid": "q", "order": 1, "question": question, "answer": [answer], "answer_type": "span",
             "answer_from": "table", "scale": scale}  # fmt: skip
    context = {"table": {"uid": "t-3", "table": table}, "paragraphs": texts, "questions": [asked]}
    path.write_text(json.dumps([context]), encoding="utf-8")
    return path


def test_a_header_cell_such_as_dollar_m_is_the_tables_unit_and_its_currency_joins_the_gold(tmp_path):
    table = [["", "2019", "2018"], ["Revenue by country", "$M", "$M"], ["UK", "83.2", "73.5"]]
    about = "The Group's revenue from external customers by country is as follows:"
    path = _context_file(tmp_path, table, about, "What is the Revenue from UK in 2019?", "83.2", "million")
    [document], [item] = load_external("tatqa", path).documents, load_external("tatqa", path).items
    assert document.tables[0].unit == "Revenue by country: $M"
    # TAT-QA's span leaves out the currency the header gives; the cell read in its unit is right too
    assert item.answer == "83.2 million" and item.alternatives == ("$83.2 million",)


def test_a_scale_no_part_of_the_context_states_lets_the_figure_as_written_count(tmp_path):
    table = [["", "As reported", "Adjustments"], ["Deferred income tax assets", "22,626", "(532)"]]
    question = "What was the Deferred income tax assets as reported?"
    unstated = "The impact of adoption on our consolidated balance sheet is as follows:"
    path = _context_file(tmp_path, table, unstated, question, "22,626", "thousand")
    [item] = load_external("tatqa", path).items
    assert item.answer == "22,626 thousand" and item.alternatives == ("22,626",)
    stated = "The impact of adoption on our consolidated balance sheet is as follows (in thousands):"
    [strict] = load_external(
        "tatqa", _context_file(tmp_path, table, stated, question, "22,626", "thousand")
    ).items
    assert strict.alternatives == ()


def test_a_figure_as_written_is_also_right_in_its_cells_currency(tmp_path):
    table = [["", "As reported", "Adjustments"], ["Deferred revenue", "$24,264", "(532)"]]
    unstated = "The impact of adoption on our consolidated balance sheet is as follows:"
    path = _context_file(
        tmp_path, table, unstated, "What was the Deferred Revenue as reported?", "24,264", "thousand"
    )
    [item] = load_external("tatqa", path).items
    assert item.answer == "24,264 thousand" and item.alternatives == ("24,264", "$24,264")
