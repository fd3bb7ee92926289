"""Pydantic models of the API edge, named by role: requests `…Request`/`…In`, responses `…Out`.

The answer models (`AnswerOut`, `CitationOut`, `ReportedOut`, `QuantityOut`) are built from the
`rag.types` dataclasses' fields, the ones `rag.serialize.answer_to_dict` writes, so `POST /ask`
returns exactly what `rag ask --json` prints and each field is declared once.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from functools import reduce
from types import GenericAlias, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from rag.quantities import Quantity
from rag.serialize import public_fields
from rag.types import Answer, Citation, Reported, TableRef

MAX_TOP_K = 50
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _only_iso_date_text(value: object) -> object:
    """Let only YYYY-MM-DD text through: pydantic alone also reads 0 or a date-time as a date."""
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _only_digits(value: object) -> object:
    """Let only digit text through (a query parameter): pydantic alone also reads '5.0' or '+5'."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise ValueError("expected a whole number")


IsoDate = Annotated[dt.date, BeforeValidator(_only_iso_date_text)]
DigitsInt = Annotated[int, BeforeValidator(_only_digits)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FiltersIn(_Request):
    """Restrict the answer to some documents or a publication date range (inclusive)."""

    doc_ids: list[str] | None = Field(default=None, max_length=1000, examples=[["city-budget-2024"]])
    published_after: IsoDate | None = Field(default=None, examples=["2016-01-01"])
    published_before: IsoDate | None = Field(default=None, examples=["2017-12-31"])


class AskRequest(_Request):
    """A question about the indexed articles."""

    question: str = Field(examples=["How much did the new bridge cost?"])
    # strict: a JSON integer, not true, 5.0 or "5"
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K, strict=True, description="passages to retrieve")
    filters: FiltersIn | None = None


def _response_type(annotation: Any) -> Any:
    """A dataclass's field type with every answer dataclass in it replaced by its response model."""
    if isinstance(annotation, type) and annotation in _ANSWER_MODELS:
        return _ANSWER_MODELS[annotation]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return GenericAlias(list, (_response_type(args[0]),))
    if origin in (Union, UnionType):
        return reduce(operator.or_, (_response_type(arg) for arg in args))
    return annotation


def _response_model(shape: type, name: str, description: str) -> type[BaseModel]:
    """A response model with the public fields of an answer dataclass, each required, in its order."""
    hints = get_type_hints(shape)
    columns: dict[str, Any] = {field: (_response_type(hints[field]), ...) for field in public_fields(shape)}
    _ANSWER_MODELS[shape] = create_model(name, __doc__=description, __module__=__name__, **columns)
    return _ANSWER_MODELS[shape]


# each answer dataclass (rag/types.py) -> its response model, built in nesting order
_ANSWER_MODELS: dict[type, type[BaseModel]] = {}
QuantityOut = _response_model(
    Quantity, "QuantityOut", "The number in an answer and where it lies in the cited document's cleaned text."
)
TableRefOut = _response_model(
    TableRef,
    "TableRefOut",
    "The table cell a citation points at: its caption, row and column headers, and its unit.",
)
CitationOut = _response_model(
    Citation,
    "CitationOut",
    "A cited sentence (a table cell's row), with offsets into its document's cleaned text.",
)
ReportedOut = _response_model(Reported, "ReportedOut", "A value another source reported for the same thing.")
AnswerOut = _response_model(Answer, "AnswerOut", "The answer object, identical to `rag ask --json`.")


class HitOut(BaseModel):
    """A ranked passage with its fused and component scores and its document's metadata."""

    rank: int
    score: float
    dense_score: float | None
    bm25_score: float | None
    doc_id: str
    chunk_id: str
    title: str
    published: str | None
    source: str | None
    text: str
    start: int
    end: int


class SearchOut(BaseModel):
    """Passages ranked for a query."""

    query: str
    k: int
    hits: list[HitOut]


class DocumentSummaryOut(BaseModel):
    """A document's metadata and size in the index."""

    doc_id: str
    title: str
    published: str | None
    source: str | None
    path: str | None
    origin: Literal["file", "upload"]
    chunks: int
    chars: int


class DocumentOut(DocumentSummaryOut):
    """A document with its cleaned text (the text citation offsets refer to)."""

    published_basis: str | None
    content_hash: str
    text: str


class DocumentListOut(BaseModel):
    """Every document in the index, in doc_id order."""

    count: int
    documents: list[DocumentSummaryOut]


class DocumentIn(_Request):
    """A document given as text: added, or replacing the document with the same id."""

    doc_id: str = Field(examples=["zhetysu-cable-car"])
    text: str = Field(examples=["The Zhetysu cable car has 37 cabins and cost $48 million. ..."])
    title: str | None = None
    published: IsoDate | None = None
    source: str | None = None
    format: Literal["text", "markdown", "html"] = "text"


class IndexChangeOut(BaseModel):
    """What an upload or a deletion did to the index."""

    doc_id: str
    action: Literal["created", "replaced", "deleted"]
    index_version: str
    documents: int
    chunks: int
    embedded_chunks: int
    document: DocumentSummaryOut | None = None


class HealthOut(BaseModel):
    """Whether the index is loaded, with what model, and how big it is."""

    status: Literal["ok", "unavailable"]
    index_loaded: bool
    message: str | None
    model: str
    documents: int
    chunks: int
    index_version: str | None
    api_key_required: bool
    reads_protected: bool


class ErrorDetail(BaseModel):
    """What went wrong: the error class and a message that says how to fix it."""

    type: str
    message: str


class ErrorOut(BaseModel):
    """Every 4xx and 5xx response has this shape."""

    error: ErrorDetail
