"""`/documents`: list, read, add or replace, and delete documents of the live index."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import EngineDep, KnownQuery, ReadAccess, SettingsDep, WriteAccess
from api.routes.common import error_responses, known_doc_id, summarise
from api.schemas import DocumentIn, DocumentListOut, DocumentOut, DocumentSummaryOut, IndexChangeOut
from api.uploads import document_from_request
from index.ingest import validate_doc_id
from index.stores.contract import BuildReport

router = APIRouter(prefix="/documents", tags=["documents"], dependencies=[KnownQuery])
Action = Literal["created", "replaced", "deleted"]
DocIdPath = Annotated[str, Path(description="a document id (its file stem), such as city-budget-2024")]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": ".txt/.md/.html"},
                        "doc_id": {"type": "string", "description": "defaults to the file name's stem"},
                        "title": {"type": "string"},
                        "published": {"type": "string", "format": "date"},
                        "source": {"type": "string"},
                        "format": {"type": "string", "enum": ["text", "markdown", "html"]},
                    },
                }
            },
        },
    }
}


@router.get(
    "", response_model=DocumentListOut, dependencies=[ReadAccess], responses=error_responses(401, 403, 503)
)
async def list_documents(engine: EngineDep) -> DocumentListOut:
    """Every document in the index with its metadata and chunk count."""
    store = engine.store
    counts = store.chunk_counts()
    documents = [summarise(document, counts[doc_id]) for doc_id, document in sorted(store.documents.items())]
    return DocumentListOut(count=len(documents), documents=documents)


@router.get(
    "/{doc_id:path}",
    response_model=DocumentOut,
    dependencies=[ReadAccess],
    responses=error_responses(401, 403, 404, 422, 503),
)
async def get_document(doc_id: DocIdPath, engine: EngineDep) -> DocumentOut:
    """One document: metadata, chunk count and the cleaned text that citation offsets refer to."""
    store = engine.store
    document = store.documents[known_doc_id(store, doc_id)]
    summary = summarise(document, len(store.chunks_of(doc_id)))
    return DocumentOut(
        **summary.model_dump(),
        published_basis=document.published_basis,
        content_hash=document.content_hash,
        text=document.text,
    )


@router.post(
    "",
    response_model=IndexChangeOut,
    status_code=201,
    dependencies=[WriteAccess],
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {"model": IndexChangeOut, "description": "An existing document was replaced"},
        **error_responses(401, 403, 413, 415, 422, 503),
    },
)
async def upsert_document(
    request: Request, response: Response, engine: EngineDep, settings: SettingsDep
) -> IndexChangeOut:
    """Add a document, or replace the one with the same id (201 when new, 200 when replaced)."""
    document = await document_from_request(request, settings.max_upload_bytes)
    existed = document.doc_id in engine.store.documents
    report = await run_in_threadpool(engine.upsert, [document])
    response.status_code = 200 if existed else 201
    store = engine.store  # another write may already have replaced the version just written
    stored = store.documents.get(document.doc_id)
    summary = summarise(stored, len(store.chunks_of(stored.doc_id))) if stored else None
    return _change(document.doc_id, "replaced" if existed else "created", report, summary)


@router.delete(
    "/{doc_id:path}",
    response_model=IndexChangeOut,
    dependencies=[WriteAccess],
    responses=error_responses(401, 403, 404, 422, 503),
)
async def delete_document(doc_id: DocIdPath, engine: EngineDep) -> IndexChangeOut:
    """Remove a document from the index."""
    validate_doc_id(doc_id)
    report = await run_in_threadpool(engine.delete, [doc_id])
    return _change(doc_id, "deleted", report)


def _change(
    doc_id: str, action: Action, report: BuildReport, summary: DocumentSummaryOut | None = None
) -> IndexChangeOut:
    return IndexChangeOut(
        doc_id=doc_id,
        action=action,
        index_version=report.version,
        documents=report.documents,
        chunks=report.chunks,
        embedded_chunks=report.embedded_chunks,
        document=summary,
    )
