"""What the app holds for its lifetime: the settings and one Engine, or why there is none."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from index.embed import Embedder, load_embedder
from index.errors import IndexMissingError, RagError
from rag.engine import Engine, EngineConfig
from rag.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class AppState:
    """Loaded once at start-up; `engine` is None when the index could not be loaded."""

    settings: Settings
    engine: Engine | None = None
    load_error: RagError | None = None


def engine_config(settings: Settings) -> EngineConfig:
    """The engine's configuration from the settings."""
    return EngineConfig.from_settings(settings)


def load_state(settings: Settings) -> AppState:
    """Load the model and the index (building it first if asked to); keep the error if that fails."""
    try:
        engine = _load_engine(settings)
    except RagError as exc:
        log.warning("the index is not loaded: %s", exc)
        return AppState(settings=settings, load_error=exc)
    store = engine.store
    log.info(
        "loaded index %s (%s): %d documents, %d chunks, model %s",
        engine.config.location.describe(),
        store.version,
        len(store.documents),
        store.n_chunks,
        engine.embedder.name,
    )
    return AppState(settings=settings, engine=engine)


def _load_engine(settings: Settings) -> Engine:
    embedder = load_embedder(settings.model, settings.device)
    try:
        return Engine(engine_config(settings), embedder=embedder)
    except IndexMissingError:
        if not settings.build_index_on_start:
            raise
    _build_index(settings, embedder)
    return Engine(engine_config(settings), embedder=embedder)


def _build_index(settings: Settings, embedder: Embedder) -> None:
    """Index settings.corpus_dir into settings.index_dir, as `rag index` would."""
    from index.ingest import discover_files, load_documents
    from index.stores import ChunkParams, update_store

    location = engine_config(settings).location
    log.info("no index at %s; building it from %s", location.describe(), settings.corpus_dir)
    documents, skipped = load_documents(discover_files([settings.corpus_dir]))
    for item in skipped:
        log.warning("skipped %s: %s", item.path, item.reason)
    _, report = update_store(
        location,
        embedder,
        files=documents,
        params=ChunkParams(settings.chunk_tokens, settings.chunk_overlap),
        batch_size=settings.batch_size,
    )
    log.info("built index %s: %d documents, %d chunks", report.version, report.documents, report.chunks)
