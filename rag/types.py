"""Typed values of the retrieval and answering stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from index.types import Chunk, Document, period_bounds
from rag.quantities import Quantity

RetrievalMode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents or a publication date range (ISO, inclusive)."""

    doc_ids: frozenset[str] | None = None
    published_after: str | None = None
    published_before: str | None = None

    def admits(self, document: Document) -> bool:
        """True when the document passes every filter (an undated one fails any date bound)."""
        if self.doc_ids is not None and document.doc_id not in self.doc_ids:
            return False
        if self.published_after or self.published_before:
            if document.published is None:
                return False
            # a month- or year-precision date is a period: it passes when the period overlaps
            first, last = period_bounds(document.published)
            if self.published_after and last < self.published_after:
                return False
            if self.published_before and first > self.published_before:
                return False
        return True

    @property
    def active(self) -> bool:
        return bool(self.doc_ids is not None or self.published_after or self.published_before)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the scores it was fused from."""

    chunk: Chunk
    document: Document
    score: float
    rank: int
    dense_score: float | None = None
    lexical_score: float | None = None


@dataclass(frozen=True)
class TableRef:
    """The table cell a citation points at: its table's caption, its row and column headers, the
    cell's own offsets in the cleaned text (inside the cited row line), and the unit its table's
    figures are read in (its unit line, caption or the report's statement of it; None: none)."""

    caption: str | None
    row: str
    column: str
    start: int
    end: int
    unit: str | None = None


@dataclass(frozen=True)
class Citation:
    """A cited sentence (for a table cell, its linearised row): its document, its offsets in the
    cleaned text, its chunk, and the cell it cites (None for a sentence of text)."""

    doc_id: str
    title: str
    published: str | None
    text: str
    start: int
    end: int
    chunk_id: str
    score: float
    table: TableRef | None = None


@dataclass(frozen=True)
class Reported:
    """A value reported elsewhere for the same thing, at another date."""

    answer: str
    quantity: Quantity
    published: str | None
    citation: Citation


@dataclass(frozen=True)
class Answer:
    """The answer to a question: a short string, its quantity and the sentences it rests on."""

    question: str
    answer: str | None
    quantity: Quantity | None
    abstained: bool
    reason: str | None
    citations: list[Citation] = field(default_factory=list)
    also_reported: list[Reported] = field(default_factory=list)
    mode: Literal["extractive", "generative"] = "extractive"
    confidence: float = 0.0
