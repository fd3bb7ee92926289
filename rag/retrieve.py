"""Hybrid retrieval: dense and lexical (BM25) candidates fused into one ranking.

The store is FAISS + bm25s (rows are ints; fusion here) or Milvus (rows are chunk-row keys;
Milvus fuses the two lists with its own hybrid_search and ranker)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from index.embed import Embedder
from index.errors import InputError
from index.stores.contract import RowKey, Scope, Scores, Store
from rag.cache import VectorCache
from rag.types import Filters, Hit, RetrievalMode

Fusion = Literal["rrf", "weighted"]
RRF_K = 60  # the constant of Cormack et al.; damps the weight of the very top ranks
CANDIDATES = 50  # how deep each list is read before fusion
QUERY_CACHE_SIZE = 1024


@dataclass
class Timings:
    """Milliseconds spent in each step of the last search."""

    embed_ms: float = 0.0
    dense_ms: float = 0.0
    bm25_ms: float = 0.0
    fusion_ms: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Search one loaded index version; safe to share between threads for reading."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        mode: RetrievalMode = "hybrid",
        fusion: Fusion = "weighted",
        dense_weight: float = 0.5,
        query_cache: VectorCache | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = mode
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.query_cache = VectorCache(QUERY_CACHE_SIZE) if query_cache is None else query_cache
        self.timings = Timings()

    def embed_query(self, query: str) -> np.ndarray:
        """The query's unit vector, from a small LRU cache when it was asked before."""
        cached = self.query_cache.get_many([query])
        if cached:
            return cached[query]
        vector = self.embedder.embed_batch([query])[0]
        self.query_cache.put_many([(query, vector)])
        return vector

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """The k best chunks for query, best first."""
        if not query.strip():
            raise InputError("the query is empty; ask something")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        timings = Timings()
        scope = self.store.scope(filters)
        if self.store.scope_is_empty(scope):
            self.timings = timings
            return []
        depth = max(CANDIDATES, k)
        if self.mode == "hybrid" and self.store.fuses:  # Milvus: its hybrid_search and ranker
            vector = self._timed_embed(query, timings)
            started = time.perf_counter()
            fused = self.store.hybrid_search(query, vector, depth, k, scope, self.fusion, self.dense_weight)
            timings.dense_ms = (time.perf_counter() - started) * 1000
            dense: Scores = {}
            lexical: Scores = {}
        else:
            dense = self._dense(query, depth, scope, timings) if self.mode != "bm25" else {}
            lexical = self._lexical(query, depth, scope, timings) if self.mode != "dense" else {}
            fused = self._fuse(dense, lexical)
        started = time.perf_counter()
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        self.store.prefetch([key for key, _ in ranked])  # Milvus: the hits' records in two calls
        hits = [self._hit(key, score, rank, dense, lexical) for rank, (key, score) in enumerate(ranked)]
        timings.fusion_ms = (time.perf_counter() - started) * 1000
        self.timings = timings
        return hits

    def _timed_embed(self, query: str, timings: Timings) -> np.ndarray:
        started = time.perf_counter()
        vector = self.embed_query(query)
        timings.embed_ms = (time.perf_counter() - started) * 1000
        return vector

    def _dense(self, query: str, depth: int, scope: Scope, timings: Timings) -> Scores:
        vector = self._timed_embed(query, timings)
        started = time.perf_counter()
        scores = self.store.dense_search(vector, depth, scope)
        timings.dense_ms = (time.perf_counter() - started) * 1000
        return scores

    def _lexical(self, query: str, depth: int, scope: Scope, timings: Timings) -> Scores:
        started = time.perf_counter()
        scores = self.store.lexical_search(query, depth, scope)
        timings.bm25_ms = (time.perf_counter() - started) * 1000
        return scores

    def _fuse(self, dense: Scores, lexical: Scores) -> Scores:
        if not lexical:
            return dense
        if not dense:
            return lexical
        if self.fusion == "weighted":
            return _weighted(dense, lexical, self.dense_weight)
        return _reciprocal_rank(dense, lexical)

    def _hit(self, key: RowKey, score: float, rank: int, dense: Scores, lexical: Scores) -> Hit:
        chunk = self.store.chunk(key)
        return Hit(
            chunk=chunk,
            document=self.store.documents[chunk.doc_id],
            score=score,
            rank=rank,
            dense_score=dense.get(key),
            lexical_score=lexical.get(key),
        )


def _ranks(scores: Scores) -> dict[RowKey, int]:
    ordered = sorted(scores, key=lambda row: (-scores[row], row))
    return {row: rank for rank, row in enumerate(ordered)}


def _reciprocal_rank(dense: Scores, lexical: Scores) -> Scores:
    """Reciprocal rank fusion: sum of 1 / (RRF_K + rank) over the lists a row appears in."""
    fused: Scores = {}
    for ranks in (_ranks(dense), _ranks(lexical)):
        for row, rank in ranks.items():
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
    return fused


def _weighted(dense: Scores, lexical: Scores, dense_weight: float) -> Scores:
    """Convex combination of min-max normalised scores."""
    fused: Scores = {}
    for weight, scores in ((dense_weight, dense), (1 - dense_weight, lexical)):
        low, high = min(scores.values()), max(scores.values())
        span = (high - low) or 1.0
        for row, score in scores.items():
            fused[row] = fused.get(row, 0.0) + weight * (score - low) / span
    return fused
