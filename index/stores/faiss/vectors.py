"""The dense half of the index: FAISS inner product over unit vectors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from index.errors import REBUILD_HINT, IndexCorruptError
from index.stores.contract import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

if TYPE_CHECKING:
    import faiss

DenseKind = Literal["flat", "hnsw"]
# Exact search is fast enough below this many rows; above it HNSW keeps queries in milliseconds.
HNSW_THRESHOLD = 50_000


def choose_kind(n_rows: int) -> DenseKind:
    """Exact search for small indexes, HNSW for large ones."""
    return "hnsw" if n_rows >= HNSW_THRESHOLD else "flat"


class DenseIndex:
    """A FAISS index whose row i is chunk i."""

    def __init__(self, faiss_index: faiss.Index, kind: DenseKind) -> None:
        self._index = faiss_index
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, kind: DenseKind | None = None) -> DenseIndex:
        """Index unit vectors for inner-product (cosine) search."""
        import faiss

        kind = kind or choose_kind(len(vectors))
        index: faiss.Index
        if kind == "hnsw":
            index = hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index, kind)

    def search(
        self, query: np.ndarray, k: int, allowed_rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) for one query vector, optionally only among allowed_rows."""
        import faiss

        k = min(k, self.size if allowed_rows is None else len(allowed_rows))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params: faiss.SearchParameters | None = None
        if allowed_rows is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed_rows, dtype=np.int64))
            if self.kind == "hnsw":
                ef_search = max(HNSW_EF_SEARCH, k)
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef_search)  # type: ignore[attr-defined]  # faiss's stubs omit it
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]  # faiss's stubs omit its keywords
        scores, rows = self._index.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k, params=params
        )
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep]

    def save(self, path: Path) -> None:
        """Write the FAISS index file."""
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, mmap: bool = False) -> DenseIndex:
        """Read a FAISS index file, memory-mapped when asked."""
        import faiss

        if not path.is_file():
            raise IndexCorruptError(f"{path.name} is missing from {path.parent}; {REBUILD_HINT}")
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        try:
            index = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            raise IndexCorruptError(f"{path} cannot be read (truncated or damaged); {REBUILD_HINT}") from exc
        if not isinstance(index, faiss.IndexHNSW):
            return cls(index, "flat")
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, "hnsw")
