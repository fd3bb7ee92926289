"""Turn a `POST /documents` request (JSON or a multipart file upload) into a Document.

Size is checked twice: the Content-Length header before anything is read, then the bytes
actually received while streaming (a client may send no length, or lie about it).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request as StarletteRequest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import (
    UnsupportedEncodingError,
    UnsupportedMediaTypeError,
    UploadTooLargeError,
    error_response,
)
from api.schemas import DocumentIn
from index.errors import InputError, UnsupportedFileError
from index.ingest import SUPPORTED_SUFFIXES, document_from_pdf, document_from_text, validate_doc_id
from index.types import Document

MULTIPART_SLACK = 64 * 1024  # room for the multipart boundaries and the small text fields
FORM_FIELDS = ("doc_id", "title", "published", "source", "format")
MAX_FORM_FIELDS = 16
_SUFFIX_FORMATS = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}


async def document_from_request(request: Request, max_bytes: int) -> Document:
    """Read and check the body of a document upload; raise a RagError saying what is wrong."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await read_limited(request, max_bytes)
        return await _from_json(body)
    if content_type == "multipart/form-data":
        body = await read_limited(request, max_bytes + MULTIPART_SLACK)
        return await _from_multipart(request, body, max_bytes)
    raise UnsupportedMediaTypeError(
        f"Content-Type {content_type or 'missing'!r} is not accepted; send application/json "
        "{doc_id, text, ...} or a multipart/form-data upload with a `file` field"
    )


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with UploadTooLargeError as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large("the request body", int(declared), limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large("the request body", received, limit, at_least=True)
        chunks.append(chunk)
    return b"".join(chunks)


class BodySizeLimit:
    """ASGI middleware: 413 for any request body over `limit` bytes, declared or streamed.

    The upload route checks its own, lower limit with a fuller message first; this bounds the
    other routes, which would otherwise read a body of any size into memory (POST /ask).
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            error = _too_large("the request body", int(declared), self.limit)
            await error_response(413, type(error).__name__, str(error))(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                # an HTTPException, because FastAPI turns other errors met while reading a body into 400
                raise HTTPException(413, str(_too_large("the request body", received, self.limit, True)))
            return message

        await self.app(scope, receive_limited, send)


def _too_large(what: str, size: int, limit: int, at_least: bool = False) -> UploadTooLargeError:
    amount = f"{'more than ' if at_least else ''}{limit if at_least else size} bytes"
    return UploadTooLargeError(
        what, f"{amount}, over the {limit}-byte limit (RAG_MAX_UPLOAD_BYTES); send a smaller document"
    )


async def _from_json(body: bytes) -> Document:
    try:
        given = DocumentIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(_with_body_loc(exc.errors())) from exc
    published = given.published.isoformat() if given.published else None
    doc_id = validate_doc_id(given.doc_id)
    return await _build_upload(
        doc_id,
        check_text(given.text, doc_id),
        title=given.title,
        published=published,
        source=given.source,
        fmt=given.format,
    )


def _with_body_loc(errors: list[Any]) -> list[Any]:
    return [{**error, "loc": ("body", *error.get("loc", ()))} for error in errors]


async def _from_multipart(request: Request, body: bytes, max_bytes: int) -> Document:
    form = await _parse_form(request, body)
    try:
        return await _from_form(form, max_bytes)
    finally:
        await form.close()  # the file may be spooled to a temporary file on disk


async def _from_form(form: FormData, max_bytes: int) -> Document:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InputError("the multipart upload has no `file` field holding the document")
    fields = {name: _text_field(form.get(name), name) for name in FORM_FIELDS}
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(upload.filename or "the file", len(data), max_bytes, at_least=True)
    given_name = upload.filename or ""
    filename = PurePosixPath(given_name.replace("\\", "/")).name
    if filename != given_name:  # browsers and curl send the bare name; a path is a probe
        raise InputError(f"the file name {given_name!r} holds a path; send the file's own name only")
    doc_id = validate_doc_id(fields["doc_id"] or PurePosixPath(filename).stem)
    fmt = fields["format"] or _format_of(filename)
    if fmt not in ("text", "markdown", "html", "pdf"):
        raise InputError(f"format {fmt!r} is not one of text, markdown, html, pdf")
    if fmt == "pdf":  # binary: read as `rag index` reads a .pdf, in a worker thread (CPU work)
        document = await run_in_threadpool(
            document_from_pdf, doc_id, data, title=fields["title"], published=fields["published"],
            source=fields["source"],
        )  # fmt: skip
        return _as_upload(document)
    return await _build_upload(
        doc_id,
        decode_utf8(data, filename or doc_id),
        title=fields["title"],
        published=fields["published"],
        source=fields["source"],
        fmt=fmt,
    )


async def _parse_form(request: Request, body: bytes) -> FormData:
    """Parse a multipart body already read (and size-checked) by replaying it to Starlette."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await StarletteRequest(request.scope, replay).form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except Exception as exc:  # python-multipart's and Starlette's parse errors have no common base
        raise InputError(f"the multipart body cannot be parsed: {exc}") from exc


def _text_field(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"the form field `{name}` must be text, not a file")
    return value.strip() or None


def _format_of(filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix not in _SUFFIX_FORMATS:
        raise UnsupportedMediaTypeError(
            f"{filename or 'the file'}: cannot tell the format from suffix {suffix or '(none)'!r}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)} or send a `format` field"
        )
    return _SUFFIX_FORMATS[suffix]


def decode_utf8(data: bytes, name: str) -> str:
    """Decode an uploaded file as UTF-8 (a BOM is allowed); refuse other encodings and binary data."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedEncodingError(
            name, f"not UTF-8 text (invalid byte at offset {exc.start}); re-save the file as UTF-8"
        ) from exc
    return check_text(text, name)


def check_text(text: str, name: str) -> str:
    """Refuse text holding NUL characters, the mark of a binary file."""
    if "\x00" in text:
        raise UnsupportedFileError(name, "binary file (it contains NUL characters)")
    return text


async def _build_upload(doc_id: str, text: str, **metadata: Any) -> Document:
    """Clean the text in a worker thread (HTML parsing is CPU work) and mark it as uploaded."""
    document = await run_in_threadpool(document_from_text, doc_id, text, **metadata)
    return _as_upload(document)


def _as_upload(document: Document) -> Document:
    # origin "upload" is what makes `rag index` keep the document when it re-reads the corpus
    return replace(document, extra={**document.extra, "origin": "upload"})
