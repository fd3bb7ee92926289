"""One definition per answer shape: the API models and the JSON come from the rag/ dataclasses.

`rag ask --json` and `POST /ask` print `answer_to_dict`; the API's response models are built from
the same dataclass fields. These tests prove the fields line up and that no module writes one of
the shapes out a second time, as a class or a dict literal.
"""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest

from api.schemas import AnswerOut, CitationOut, QuantityOut, ReportedOut, TableRefOut
from rag.quantities import Quantity, parse_quantity
from rag.serialize import QUANTITY_FIELDS, answer_to_dict, public_fields
from rag.types import Answer, Citation, Reported, TableRef

ROOT = Path(__file__).resolve().parents[2]
MODELS = [
    (Answer, AnswerOut),
    (Citation, CitationOut),
    (Reported, ReportedOut),
    (Quantity, QuantityOut),
    (TableRef, TableRefOut),
]
# where each shape is written: its dataclass; for a Quantity, the JSON's choice of its fields
DEFINED_AT = {
    "Answer": ("rag/types.py", "Answer"),
    "Citation": ("rag/types.py", "Citation"),
    "Reported": ("rag/types.py", "Reported"),
    "TableRef": ("rag/types.py", "TableRef"),
    "Quantity": ("rag/serialize.py", "literal"),
}


def sample_answer() -> Answer:
    """An answer with a quantity, two citations and a value reported elsewhere."""
    quantity = parse_quantity("$15 billion")
    earlier = parse_quantity("$10 billion")
    assert quantity is not None and earlier is not None
    first = Citation("002_a", "Loans", "2017-05-13", "China earmarked $15 billion.", 10, 38, "002_a:0", 0.91)
    cell = TableRef("Fund results ($ billions)", "Fund", "2016", 10, 12)
    second = Citation("004_b", "Fund", None, "Fund | 2016: 10", 0, 15, "004_b:1", 0.5, cell)
    return Answer("How much?", "$15 billion", quantity, False, None, [first, second],
                  [Reported("$10 billion", earlier, "2016-01-01", second)], "extractive", 0.8)  # fmt: skip


@pytest.mark.parametrize(("shape", "model"), MODELS, ids=[shape.__name__ for shape, _ in MODELS])
def test_each_response_model_has_the_dataclass_fields_in_their_order(shape, model):
    assert list(model.model_fields) == list(public_fields(shape))
    assert all(field.is_required() for field in model.model_fields.values())


def test_every_dataclass_field_is_shown_except_the_quantity_parsers_working_fields():
    for shape in (Answer, Citation, Reported, TableRef):
        assert public_fields(shape) == tuple(field.name for field in fields(shape))
    working = {field.name for field in fields(Quantity)} - set(QUANTITY_FIELDS)
    assert set(QUANTITY_FIELDS) <= {field.name for field in fields(Quantity)}
    assert working == {"value_end", "month", "day", "year"}


def test_the_json_nests_the_same_fields_and_the_api_model_reads_it_back_unchanged():
    answer = sample_answer()
    written = answer_to_dict(answer)
    assert list(written) == list(public_fields(Answer))
    assert list(written["quantity"]) == list(QUANTITY_FIELDS)
    assert [list(c) for c in written["citations"]] == [list(public_fields(Citation))] * 2
    reported = written["also_reported"][0]
    assert list(reported) == list(public_fields(Reported)) and list(reported["citation"]) == list(
        CitationOut.model_fields
    )
    assert written["citations"][1]["published"] is None and reported["quantity"]["value"] == 10e9
    assert written["citations"][0]["table"] is None
    assert list(written["citations"][1]["table"]) == list(public_fields(TableRef))
    assert written["citations"][1]["table"]["row"] == "Fund"
    assert AnswerOut.model_validate(written).model_dump(mode="json") == written


def literal_shapes(path: Path) -> list[tuple[str, int, frozenset[str]]]:
    """Every class body's annotated names, and every dict literal's or tuple's string keys."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            names = [
                s.target.id
                for s in node.body
                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            ]
            found.append((node.name, node.lineno, frozenset(names)))
        elif isinstance(node, ast.Dict | ast.Tuple | ast.List):
            keys = node.keys if isinstance(node, ast.Dict) else node.elts
            strings = [k.value for k in keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            found.append(("literal", node.lineno, frozenset(strings)))
    return found


def test_no_module_writes_an_answer_shape_out_a_second_time():
    shapes = {shape.__name__: frozenset(public_fields(shape)) for shape, _ in MODELS}
    copies = []
    for package in ("rag", "api", "cli", "eval", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for name, line, names in literal_shapes(path):
                for shape, wanted in shapes.items():
                    if names == wanted and (where, name) != DEFINED_AT[shape]:
                        copies.append(f"{where}:{line} {name} repeats {shape}")
    assert copies == []


def test_the_check_finds_a_hand_written_copy(tmp_path):
    copy = tmp_path / "copy.py"
    copy.write_text("class CitationOut:\n" + "".join(f"    {f.name}: str\n" for f in fields(Citation)))
    assert ("CitationOut", 1, frozenset(public_fields(Citation))) in literal_shapes(copy)


def test_the_api_schema_keeps_the_model_names():
    from api.app import create_app
    from rag.settings import Settings

    schemas = create_app(Settings(index_dir=ROOT / "unused")).openapi()["components"]["schemas"]
    assert {"AnswerOut", "CitationOut", "ReportedOut", "QuantityOut", "TableRefOut"} <= set(schemas)
    assert schemas["AnswerOut"]["required"] == list(public_fields(Answer))
