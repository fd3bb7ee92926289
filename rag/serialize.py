"""Answers and hits as plain JSON-ready dicts: the shape of `rag ask --json` and of the API."""

from __future__ import annotations

from typing import Any

from rag.quantities import Quantity
from rag.types import Answer, Citation, Hit, Reported


def quantity_to_dict(quantity: Quantity | None) -> dict[str, Any] | None:
    """{"value", "unit", "text"} plus the kind, qualifier and span."""
    if quantity is None:
        return None
    return {
        "value": quantity.value,
        "unit": quantity.unit,
        "text": quantity.text,
        "kind": quantity.kind,
        "qualifier": quantity.qualifier,
        "start": quantity.start,
        "end": quantity.end,
    }


def citation_to_dict(citation: Citation) -> dict[str, Any]:
    """A citation with character offsets into the document's cleaned text."""
    return {
        "doc_id": citation.doc_id,
        "title": citation.title,
        "published": citation.published,
        "text": citation.text,
        "start": citation.start,
        "end": citation.end,
        "chunk_id": citation.chunk_id,
        "score": citation.score,
    }


def reported_to_dict(reported: Reported) -> dict[str, Any]:
    """Another source's value for the same thing."""
    return {
        "answer": reported.answer,
        "quantity": quantity_to_dict(reported.quantity),
        "published": reported.published,
        "citation": citation_to_dict(reported.citation),
    }


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    """The answer object, identical for `rag ask --json` and `POST /ask`."""
    return {
        "question": answer.question,
        "answer": answer.answer,
        "quantity": quantity_to_dict(answer.quantity),
        "abstained": answer.abstained,
        "reason": answer.reason,
        "citations": [citation_to_dict(c) for c in answer.citations],
        "also_reported": [reported_to_dict(r) for r in answer.also_reported],
        "mode": answer.mode,
        "confidence": answer.confidence,
    }


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
