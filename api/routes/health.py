"""`GET /health`: always answers, so a missing index is reported rather than fatal."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import StateDep
from api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health(state: StateDep) -> HealthOut:
    """Whether the index is loaded, the model, document and chunk counts and the index version."""
    settings, engine = state.settings, state.engine
    store = engine.store if engine else None
    return HealthOut(
        status="ok" if store else "unavailable",
        index_loaded=store is not None,
        message=None if store else str(state.load_error or "no index is loaded; build one with `rag index`"),
        model=engine.embedder.name if engine else settings.model,
        documents=len(store.documents) if store else 0,
        chunks=store.n_chunks if store else 0,
        index_version=store.version if store else None,
        api_key_required=bool(settings.api_key),
        reads_protected=bool(settings.api_key) and settings.protect_reads,
    )
