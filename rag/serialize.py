"""Answers and hits as plain JSON-ready dicts: the shape of `rag ask --json` and of the API.

An answer's JSON is its dataclasses (`rag/types.py`) field for field, in their order, nested the
same way; `api/schemas.py` builds its response models from the same fields (`public_fields`), so
each field is written once. The one exception is a Quantity: its JSON shows QUANTITY_FIELDS (the
parser's working fields, such as a range's end and a date's parts, stay inside).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from rag.quantities import Quantity
from rag.types import Answer, Hit

QUANTITY_FIELDS = ("value", "unit", "text", "kind", "qualifier", "start", "end")


def public_fields(shape: type) -> tuple[str, ...]:
    """The fields of an answer dataclass that its JSON shows, in the JSON's order."""
    if shape is Quantity:
        return QUANTITY_FIELDS
    return tuple(field.name for field in fields(shape))


def to_json_ready(value: Any) -> Any:
    """A dataclass as a dict of its public fields, lists and tuples as lists, nested all the way."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: to_json_ready(getattr(value, name)) for name in public_fields(type(value))}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(item) for item in value]
    return value


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    """The answer object, identical for `rag ask --json` and `POST /ask`."""
    return to_json_ready(answer)


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    """A ranked passage with its scores and its document's metadata."""
    return {
        "rank": hit.rank + 1,
        "score": round(hit.score, 6),
        "dense_score": None if hit.dense_score is None else round(hit.dense_score, 6),
        "bm25_score": None if hit.lexical_score is None else round(hit.lexical_score, 6),
        "doc_id": hit.document.doc_id,
        "chunk_id": hit.chunk.chunk_id,
        "title": hit.document.title,
        "published": hit.document.published,
        "source": hit.document.source,
        "text": hit.chunk.text,
        "start": hit.chunk.start,
        "end": hit.chunk.end,
    }
