"""Eval sets: JSON-lines files of questions with gold answers and sources, read and validated.

One object per line, with exactly these keys:
    {"id": "kz-001", "question": "How big is the capacity fund?", "answer": "$2 billion",
     "sources": ["002_158f33fd42f0f3d5"], "tags": ["money"]}
`answer` is written as in a source ("2-billion-dollar", "$2 billion") so that the project's
quantity parser reads the same quantity from both; null marks a question the corpus cannot
answer (tag it "unanswerable"). Answerable questions name at least one source document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import InputError
from rag.quantities import Quantity, parse_quantity

KEYS = ("id", "question", "answer", "sources", "tags")
UNANSWERABLE = "unanswerable"
EXAMPLE_LINE = (
    '{"id": "q1", "question": "How big is the capacity fund?", "answer": "$2 billion", '
    '"sources": ["002_158f33fd42f0f3d5"], "tags": ["money"]}'
)


@dataclass(frozen=True)
class EvalItem:
    """One eval question: its gold answer (None when unanswerable), gold sources and tags."""

    id: str
    question: str
    answer: str | None
    sources: tuple[str, ...]
    tags: tuple[str, ...]
    alternatives: tuple[str, ...] = ()  # other accepted answers (datasets with several golds)

    @property
    def answerable(self) -> bool:
        return self.answer is not None

    @property
    def gold_quantities(self) -> tuple[Quantity, ...]:
        """The quantities of the gold answer and its alternatives, as the parser reads them."""
        texts = [self.answer, *self.alternatives] if self.answer is not None else []
        parsed = (parse_quantity(text) for text in texts)
        return tuple(q for q in parsed if q is not None)


def load_eval_set(path: Path, ignore: tuple[str, ...] = ()) -> list[EvalItem]:
    """Read and validate a JSONL eval set; InputError names the file, the line and the fix.

    `ignore` names keys a dataset adds to the format (the BBC set's `sentence`), which are dropped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise InputError(f"eval set {path} does not exist; pass --questions FILE") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"eval set {path} cannot be read as UTF-8 text: {exc}") from exc
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item = parse_eval_line(line, f"{path}:{number}", ignore)
        if item.id in seen:
            raise InputError(f"{path}:{number}: id {item.id!r} is already used on line {seen[item.id]}")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise InputError(f"eval set {path} holds no questions; write one JSON object a line: {EXAMPLE_LINE}")
    return items


def parse_eval_line(line: str, where: str, ignore: tuple[str, ...] = ()) -> EvalItem:
    """One validated EvalItem from one line; `where` ("file:line") heads every error message."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object like {EXAMPLE_LINE}")
    record = {key: value for key, value in record.items() if key not in ignore}
    _check_keys(record, where)
    item = EvalItem(
        id=_text(record, "id", where),
        question=_text(record, "question", where),
        answer=_answer(record, where),
        sources=_strings(record, "sources", where),
        tags=_strings(record, "tags", where),
    )
    _check_consistent(item, where)
    return item


def _check_keys(record: dict[str, Any], where: str) -> None:
    missing = [key for key in KEYS if key not in record]
    extra = sorted(set(record) - set(KEYS))
    if missing or extra:
        found = ", ".join(repr(k) for k in record) or "none"
        raise InputError(
            f"{where}: keys must be exactly {', '.join(KEYS)}; "
            + (f"missing {', '.join(missing)}; " if missing else "")
            + (f"unexpected {', '.join(extra)}; " if extra else "")
            + f"found {found}"
        )


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key!r} must be a non-empty string, found {value!r}")
    return value.strip()


def _answer(record: dict[str, Any], where: str) -> str | None:
    value = record["answer"]
    if value is None:
        return None
    answer = _text(record, "answer", where)
    if parse_quantity(answer) is None:
        raise InputError(
            f"{where}: the quantity parser finds no number in answer {answer!r}; "
            "write it as the source does ('$2 billion', '18 stations', '25th') or use null"
        )
    return answer


def _strings(record: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = record[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where}: {key!r} must be a list of non-empty strings, found {value!r}")
    return tuple(v.strip() for v in value)


def _check_consistent(item: EvalItem, where: str) -> None:
    if item.answerable and not item.sources:
        raise InputError(f"{where}: an answerable question needs its source doc_ids in 'sources'")
    if item.answerable and UNANSWERABLE in item.tags:
        raise InputError(f"{where}: tagged {UNANSWERABLE!r} but has answer {item.answer!r}; use null")
