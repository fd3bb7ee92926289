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
