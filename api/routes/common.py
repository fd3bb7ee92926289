"""Small pieces the routers share: error responses for OpenAPI, filters, document summaries."""

from __future__ import annotations

from typing import Any

from api.schemas import DocumentSummaryOut, ErrorOut, FiltersIn
from index.errors import InputError, NotFoundError
from index.ingest import validate_doc_id
from index.stores.contract import Store
from index.types import Document
from rag.types import Filters


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    return {status: {"model": ErrorOut} for status in statuses}


def known_doc_id(store: Store, doc_id: str) -> str:
    """A safe doc_id that is in the index; InvalidDocIdError or NotFoundError otherwise."""
    validate_doc_id(doc_id)
    if doc_id not in store.documents:
        raise NotFoundError(f"document {doc_id!r} is not in the index; GET /documents lists the ids")
    return doc_id


def to_filters(given: FiltersIn | None, store: Store) -> Filters | None:
    """Domain filters from the request's, checking ids and the date range."""
    if given is None:
        return None
    doc_ids = None
    if given.doc_ids is not None:
        if not given.doc_ids:
            raise InputError("filters.doc_ids is an empty list; leave it out to search every document")
        doc_ids = frozenset(known_doc_id(store, doc_id) for doc_id in given.doc_ids)
    after, before = given.published_after, given.published_before
    if after and before and after > before:
        raise InputError(f"filters.published_after ({after}) is later than published_before ({before})")
    return Filters(
        doc_ids=doc_ids,
        published_after=after.isoformat() if after else None,
        published_before=before.isoformat() if before else None,
    )


def summarise(document: Document, n_chunks: int) -> DocumentSummaryOut:
    """A document's metadata and size."""
    return DocumentSummaryOut(
        doc_id=document.doc_id,
        title=document.title,
        published=document.published,
        source=document.source,
        path=document.path,
        origin="upload" if document.extra.get("origin") == "upload" else "file",
        chunks=n_chunks,
        chars=len(document.text),
    )
