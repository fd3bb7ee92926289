"""Dependencies of the routes, as `Annotated` aliases: the settings, the engine, API-key checks."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.errors import CrossSiteWriteError, MissingApiKeyError, WrongApiKeyError
from api.state import AppState
from index.errors import IndexMissingError, InputError
from rag.engine import Engine
from rag.settings import Settings

if TYPE_CHECKING:
    from fastapi._compat import ModelField
    from fastapi.dependencies.models import Dependant

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the RAG_API_KEY value")
_bearer = HTTPBearer(auto_error=False, description="the RAG_API_KEY value as a bearer token")


async def get_state(request: Request) -> AppState:
    """The state the lifespan loaded."""
    return request.app.state.rag


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings_dep(state: StateDep) -> Settings:
    """The app's settings."""
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_engine(state: StateDep) -> Engine:
    """The loaded engine; the start-up error (503, saying to run `rag index`) when there is none."""
    if state.engine is None:
        raise state.load_error or IndexMissingError("no index is loaded; build one with `rag index`")
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def check_api_key(
    settings: Settings, header_key: str | None, bearer: HTTPAuthorizationCredentials | None
) -> None:
    """Raise unless no key is configured or the request carries it (X-API-Key or Bearer)."""
    expected = settings.api_key
    if not expected:
        return
    given = header_key if header_key is not None else (bearer.credentials if bearer else None)
    if not given:
        raise MissingApiKeyError(
            "this endpoint needs the API key: send it in the X-API-Key header or as `Authorization: Bearer …`"
        )
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise WrongApiKeyError("the API key sent is not the configured one (RAG_API_KEY)")


def check_same_site(settings: Settings, origin: str | None, host: str | None) -> None:
    """Refuse a write that a browser sent from another site's page (a cross-site form post).

    CORS stops such a page from reading the answer, not from sending a multipart form, which
    browsers send without asking first; without an API key that would add a document.
    """
    if origin is None:  # not sent by a browser page
        return
    allowed = {item.strip() for item in settings.cors_origins.split(",") if item.strip()}
    if origin not in allowed and urlsplit(origin).netloc != host:
        raise CrossSiteWriteError(
            f"writes from pages of other sites are refused (Origin {origin}); "
            "list the origin in RAG_CORS_ORIGINS to allow it"
        )


async def require_write_key(
    request: Request,
    settings: SettingsDep,
    header_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes come from this site or a non-browser client, with the API key whenever one is set."""
    check_same_site(settings, request.headers.get("origin"), request.headers.get("host"))
    check_api_key(settings, header_key, bearer)


async def require_read_key(
    settings: SettingsDep,
    header_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Reads need the API key only when RAG_PROTECT_READS is set."""
    if settings.protect_reads:
        check_api_key(settings, header_key, bearer)


WriteAccess = Depends(require_write_key)
ReadAccess = Depends(require_read_key)


def reject_unknown_query(request: Request) -> None:
    """A query parameter the route does not declare is a typo to report ("?top_k=3"), not to ignore."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params:
        return
    declared = {param.alias for param in _query_params(dependant)}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        accepted = ", ".join(sorted(declared)) or "none"
        raise InputError(
            f"unknown query parameter {', '.join(map(repr, unknown))}; this route accepts: {accepted}"
        )


def _query_params(dependant: Dependant) -> Iterator[ModelField]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


KnownQuery = Depends(reject_unknown_query)
