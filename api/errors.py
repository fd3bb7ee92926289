"""HTTP errors in one place: a class → status table for RagError and one JSON error shape.

Every error body is `{"error": {"type": ..., "message": ...}}`. Routes raise domain errors
(`RagError` subclasses); `rag_error_handler` turns them into responses by walking the
exception's class hierarchy until it meets an entry of `ERROR_STATUS`.

Errors that only the API can meet extend the tree of `index/errors.py`:

RagError
 ├── InputError
 │    ├── UnsupportedFileError
 │    │    ├── UploadTooLargeError      body or file over settings.max_upload_bytes
 │    │    └── UnsupportedEncodingError an upload that is not UTF-8 text
 │    └── UnsupportedMediaTypeError     a request body that is neither JSON nor multipart
 └── AuthError                          the API key is missing or wrong, or the write is cross-site
      ├── MissingApiKeyError
      ├── WrongApiKeyError
      └── CrossSiteWriteError            a write sent by a page of another site (Origin header)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import (
    IndexCorruptError,
    IndexError_,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    InvalidDocIdError,
    LLMError,
    ModelError,
    NotFoundError,
    QuestionError,
    RagError,
    StoreConnectionError,
    UnsupportedFileError,
)
from rag.ground import GroundingError

log = logging.getLogger(__name__)


class UploadTooLargeError(UnsupportedFileError):
    """A request body or uploaded file over the configured size limit."""


class UnsupportedEncodingError(UnsupportedFileError):
    """An uploaded file whose bytes are not UTF-8 text."""


class UnsupportedMediaTypeError(InputError):
    """A request body in a format the endpoint does not take."""


class AuthError(RagError):
    """The request lacks the credentials an endpoint needs."""


class MissingApiKeyError(AuthError):
    """No API key was sent to an endpoint that needs one."""


class WrongApiKeyError(AuthError):
    """The API key sent does not match the configured one."""


class CrossSiteWriteError(AuthError):
    """A write whose Origin is neither this server nor one of RAG_CORS_ORIGINS."""


ERROR_STATUS: dict[type[RagError], int] = {
    RagError: 500,
    InputError: 422,
    UnsupportedFileError: 422,
    UploadTooLargeError: 413,
    UnsupportedEncodingError: 415,
    UnsupportedMediaTypeError: 415,
    InvalidDocIdError: 422,
    QuestionError: 422,
    NotFoundError: 404,
    IndexError_: 503,
    IndexMissingError: 503,
    IndexMismatchError: 503,
    IndexCorruptError: 503,
    IndexLockedError: 503,
    StoreConnectionError: 503,
    ModelError: 503,
    LLMError: 502,
    GroundingError: 500,
    AuthError: 401,
    MissingApiKeyError: 401,
    WrongApiKeyError: 403,
    CrossSiteWriteError: 403,
}


def status_for(error: RagError) -> int:
    """HTTP status of a domain error: the entry of its nearest class in ERROR_STATUS."""
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 500


def error_response(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The one JSON error shape."""
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


async def rag_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Map a RagError to its status through ERROR_STATUS."""
    assert isinstance(exc, RagError)
    status = status_for(exc)
    if status == 500:  # a 503 (no index yet) is expected and already logged at start-up
        log.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    headers = {"WWW-Authenticate": 'Bearer, ApiKey realm="rag"'} if status == 401 else None
    return error_response(status, type(exc).__name__, str(exc), headers)


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Request bodies and parameters that fail their schema: 422 naming each bad field."""
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "ValidationError", describe_validation(exc.errors()))


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (unknown route, wrong method) in the same JSON shape."""
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, "HTTPError", str(exc.detail), exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered with a JSON 500 that reveals nothing."""
    log.exception("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
    return error_response(500, "InternalError", "the server failed to handle this request; see its log")


def describe_validation(errors: object) -> str:
    """One readable line per invalid field: "body.top_k: Input should be less than or equal to 50"."""
    lines = []
    for error in errors if isinstance(errors, list | tuple) else []:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            problem = error.get("ctx", {}).get("error", "")
            lines.append(f"the request body is not valid JSON ({problem} at character {loc[-1]})")
            continue
        where = ".".join(str(part) for part in loc)
        lines.append(f"{where}: {error.get('msg', 'invalid value')}" if where else error.get("msg", ""))
    return "; ".join(lines) or "the request is not valid"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(RagError, rag_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
