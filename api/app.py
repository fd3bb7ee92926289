"""The FastAPI application: `create_app()` wires settings, the engine, routes, errors and the page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.routes import documents, health, query
from api.state import AppState, load_state
from api.uploads import MULTIPART_SLACK, BodySizeLimit
from rag.engine import Engine
from rag.settings import Settings, get_settings

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
DESCRIPTION = (
    "Ask numeric questions about news articles and get the number with the exact sentence, "
    'title and date it comes from. Errors are JSON: `{"error": {"type", "message"}}`.'
)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; pass an engine to reuse one already loaded (tests), else the lifespan loads it."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            app.state.rag = AppState(settings=settings, engine=engine)
        else:  # loading the model and the index is blocking work: keep it off the event loop
            app.state.rag = await anyio.to_thread.run_sync(load_state, settings)
        yield

    app = FastAPI(
        title="numrag",
        summary="Grounded numeric question answering over news articles",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # above the upload route's own limits, so that its fuller messages come first
    app.add_middleware(BodySizeLimit, limit=settings.max_upload_bytes + 2 * MULTIPART_SLACK)
    _add_cors(app, settings)
    for router in (query.router, documents.router, health.router):
        app.include_router(router)
    _add_page(app)
    return app


def _add_cors(app: FastAPI, settings: Settings) -> None:
    """CORS stays off unless RAG_CORS_ORIGINS names the origins allowed."""
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization"],
        )


def _add_page(app: FastAPI) -> None:
    """The one web page at `/`, with its script and style under /static."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")
