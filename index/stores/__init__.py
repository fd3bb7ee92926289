"""The two stores behind one contract: FAISS + bm25s on local disk (the default) and Milvus.

`RAG_STORE=faiss|milvus` chooses; `open_store` loads the live version and `update_store`
writes one, with the same guarantees on both: a reader sees a document's old or new version,
never a mix, and a writer killed midway leaves the old or the new one. The contract both
implement is index/stores/contract.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from index.embed import Embedder
from index.stores.contract import (
    BuildReport,
    ChunkParams,
    Progress,
    Store,
    StoreKind,
    StoreLocation,
    WriteRequest,
)
from index.stores.faiss.build import update_index
from index.stores.faiss.store import load_store
from index.stores.milvus.client import MilvusLocation
from index.stores.milvus.store import open_milvus
from index.types import Document

__all__ = [
    "BuildReport",
    "ChunkParams",
    "Store",
    "StoreKind",
    "StoreLocation",
    "WriteRequest",
    "open_store",
    "update_store",
    "write_store",
]


def open_store(location: StoreLocation, model: str | None = None, dim: int | None = None) -> Store:
    """Load the live version of the index, checked against the configured model."""
    if location.kind == "milvus":
        return open_milvus(MilvusLocation.of(location), model=model, dim=dim)
    return load_store(location.index_dir, model=model, dim=dim)


def write_store(
    location: StoreLocation, embedder: Embedder, request: WriteRequest
) -> tuple[Store, BuildReport]:
    """Carry out one write request in the location's store."""
    if location.kind == "milvus":
        from index.stores.milvus.write import update_milvus

        return update_milvus(MilvusLocation.of(location), embedder, request)
    return update_index(location.index_dir, embedder, request)


def update_store(
    location: StoreLocation,
    embedder: Embedder,
    *,
    files: Sequence[Document] | None = None,
    upserts: Sequence[Document] = (),
    deletes: Sequence[str] = (),
    params: ChunkParams | None = None,
    rebuild: bool = False,
    batch_size: int = 32,
    progress: Progress | None = None,
    lock_timeout: float = 60.0,
    on_wait: Callable[[str], None] | None = None,
) -> tuple[Store, BuildReport]:
    """Add, replace and delete documents in either store (the fields of WriteRequest, by keyword)."""
    request = WriteRequest(
        files=files,
        upserts=upserts,
        deletes=deletes,
        params=params or ChunkParams(),
        rebuild=rebuild,
        batch_size=batch_size,
        progress=progress,
        lock_timeout=lock_timeout,
        on_wait=on_wait,
    )
    return write_store(location, embedder, request)
