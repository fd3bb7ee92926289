"""The two store backends behind one interface: FAISS + bm25s on local disk (the default) and Milvus.

`RAG_STORE=faiss|milvus` chooses; `open_store` loads the live version and `update_store`
writes one, with the same guarantees on both: a reader sees a document's old or new version,
never a mix, and a writer killed midway leaves the old or the new one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from index.build import BuildReport, ChunkParams, Progress, update_index
from index.embed import Embedder
from index.milvus_client import DEFAULT_COLLECTION, MilvusLocation
from index.milvus_store import open_milvus
from index.store import Manifest, load_store
from index.types import Chunk, Document

StoreKind = Literal["faiss", "milvus"]


class Store(Protocol):
    """What the retriever, the answerer, the API and the CLI use of a loaded index."""

    manifest: Manifest
    version: str
    documents: Mapping[str, Document]
    fuses: bool  # True: the store fuses dense and BM25 lists itself (hybrid_search)

    @property
    def n_chunks(self) -> int: ...

    def chunk_counts(self) -> Counter[str]: ...

    def chunks_of(self, doc_id: str) -> list: ...

    def chunk(self, key: Any) -> Chunk: ...

    def prefetch(self, keys: list) -> None: ...

    def scope(self, filters: Any) -> Any: ...

    def scope_is_empty(self, scope: Any) -> bool: ...

    def dense_search(self, vector: np.ndarray, depth: int, scope: Any) -> dict: ...

    def lexical_search(self, query: str, depth: int, scope: Any) -> dict: ...

    def knows(self, word: str) -> bool: ...

    def idf(self, word: str) -> float: ...


@dataclass(frozen=True)
class StoreLocation:
    """Where the index lives: a folder (FAISS) or a Milvus URI and collection."""

    kind: StoreKind = "faiss"
    index_dir: Path = Path(".rag_index")
    milvus_uri: str | None = None
    milvus_token: str | None = None
    milvus_collection: str = DEFAULT_COLLECTION

    @property
    def milvus(self) -> MilvusLocation:
        uri = self.milvus_uri or str(self.index_dir / "milvus.db")
        return MilvusLocation(uri=uri, token=self.milvus_token, collection=self.milvus_collection)

    def describe(self) -> str:
        """The location in words, for messages."""
        if self.kind == "faiss":
            return str(self.index_dir)
        milvus = self.milvus
        return f"{milvus.uri} (collection {milvus.collection})"


def open_store(location: StoreLocation, model: str | None = None, dim: int | None = None) -> Store:
    """Load the live version of the index, checked against the configured model."""
    if location.kind == "milvus":
        return open_milvus(location.milvus, model=model, dim=dim)
    return load_store(location.index_dir, model=model, dim=dim)


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
    """Add, replace and delete documents (see index.build.update_index) in either backend."""
    options = dict(
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
    if location.kind == "milvus":
        from index.milvus_write import update_milvus

        return update_milvus(location.milvus, embedder, **options)  # type: ignore[arg-type]
    return update_index(location.index_dir, embedder, **options)  # type: ignore[arg-type]
