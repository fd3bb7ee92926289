"""The Milvus backend of the index: searches and lookups of one committed generation.

Vectors, BM25 postings and records live in one collection (index/stores/milvus/rows.py); every
search and lookup is filtered to the rows live at the generation the store loaded
(index/stores/milvus/client.py), so a reader sees a document's old rows or its new rows, never a
mix. Writes are index/stores/milvus/write.py.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from index.errors import IndexCorruptError, RagError, StoreConnectionError
from index.stores.contract import (
    HNSW_EF_SEARCH,  # the same search breadth as the FAISS HNSW index
    Filters,
    Fusion,
    RowKey,
    Scope,
    Scores,
    Vector,
    check_compatible,
)
from index.stores.milvus.client import (
    MilvusLocation,
    Row,
    State,
    connect,
    live_filter,
    load,
    read_state,
)
from index.stores.milvus.documents import CHUNK_CACHE, Chunks, MilvusDocuments
from index.stores.milvus.rows import filter_expression
from index.types import Chunk

MAX_TOPK = 16_384  # the most hits one Milvus search returns
# how often a loaded store asks whether another process has committed (well inside the 60 s that
# replaced rows are kept for readers: index/stores/milvus/write.py RETIRE_GRACE_S)
REFRESH_S = 1.0
HIT_FIELDS = ["record"]  # what a search returns of each hit: its chunk record

if TYPE_CHECKING:
    from pymilvus import MilvusClient


class MilvusStore:
    """One loaded generation of a Milvus collection; the engine's view of the index."""

    def __init__(self, client: MilvusClient, location: MilvusLocation, state: State) -> None:
        self.client = client
        self.location = location
        # The retriever leaves dense + BM25 fusion to Milvus's hybrid_search and ranker, except on
        # milvus-lite 2.5: its WeightedRanker normalises BM25 scores as distances (1 - 2/pi atan s),
        # which ranks the best lexical match last, so the retriever fuses the two lists itself.
        self.fuses = not location.is_compiled_lite
        self.state = state
        self.manifest = state.manifest()
        self.version = f"gen-{state.committed}"
        self._chunks = Chunks(CHUNK_CACHE)
        self._frequencies: dict[str, int] = {}
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self.documents = MilvusDocuments(self)

    @property
    def n_chunks(self) -> int:
        return self.state.n_chunks

    def newer_generation(self) -> bool:
        """True when a writer (this process or another) has committed since this store was loaded;
        asked at most once per REFRESH_S, so a serving process picks up others' writes in time."""
        now = time.monotonic()
        if now - self._checked < REFRESH_S:
            return False
        self._checked = now
        try:
            return read_state(self.client, self.location).committed != self.state.committed
        except RagError:  # the reload will report it; until then keep serving what is loaded
            return False

    def scope(self, filters: Filters | None) -> str | None:
        """The Milvus filter of rag.types.Filters (None when it admits everything)."""
        if filters is None or not filters.active:
            return None
        return filter_expression(filters.doc_ids, filters.published_after, filters.published_before)

    @staticmethod
    def scope_is_empty(scope: Scope) -> bool:
        """True when the scope admits no row."""
        where = _filter(scope)
        return where is not None and "doc_id in []" in where

    def _where(self, scope: Scope) -> str:
        live = live_filter(self.state)
        where = _filter(scope)
        return live if where is None else f"{live} and ({where})"

    def dense_search(self, vector: Vector, depth: int, scope: Scope) -> Scores:
        """Cosine scores of the `depth` nearest live chunks."""
        hits = self._search(_vector_data(vector), "vector", depth, scope)
        return {hit["id"]: float(hit["distance"]) for hit in hits}

    def lexical_search(self, query: str, depth: int, scope: Scope) -> Scores:
        """Milvus's BM25 scores of the `depth` best live chunks (only those sharing a word)."""
        hits = self._search([query], "sparse", depth, scope)
        # a BM25 score is never negative; milvus-lite returns it negated as a distance, a server as is
        return {hit["id"]: abs(float(hit["distance"])) for hit in hits}

    def hybrid_search(
        self,
        query: str,
        vector: Vector,
        depth: int,
        k: int,
        scope: Scope,
        fusion: Fusion,
        dense_weight: float,
    ) -> Scores:
        """Dense and BM25 lists of `depth` fused by Milvus's own ranker; the k best."""
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        where = self._where(scope)
        requests = [
            AnnSearchRequest(
                data=_vector_data(vector),
                anns_field="vector",
                param=_search_params("vector", depth),
                limit=depth,
                expr=where,
            ),
            AnnSearchRequest(
                data=[query],
                anns_field="sparse",
                param=_search_params("sparse", depth),
                limit=depth,
                expr=where,
            ),
        ]
        ranker = RRFRanker(60) if fusion == "rrf" else WeightedRanker(dense_weight, 1 - dense_weight)
        result = self.call(
            self.client.hybrid_search,
            self.location.collection,
            requests,
            ranker,
            limit=k,
            output_fields=HIT_FIELDS,
        )
        return {hit["id"]: float(hit["distance"]) for hit in self._remember(result)}

    def _search(
        self, data: list[str] | list[list[float]], field_name: str, depth: int, scope: Scope
    ) -> list[Row]:
        """Keys and scores only: the retriever fetches the records of the hits it keeps (prefetch)."""
        result = self.call(
            self.client.search,
            self.location.collection,
            data=data,
            anns_field=field_name,
            limit=depth,
            filter=self._where(scope),
            search_params=_search_params(field_name, depth),
            output_fields=[],
        )
        return list(result[0]) if result else []

    def _remember(self, result: list[list[Row]]) -> list[Row]:
        """The hits of a one-query result, their chunk records kept for `chunk`."""
        hits = list(result[0]) if result else []
        for hit in hits:
            self._chunks.put(hit["id"], Chunk(**hit["entity"]["record"]))
        return hits

    def chunk(self, key: RowKey) -> Chunk:
        """The chunk of a row key that a search returned."""
        cached = self._chunks.get(key)
        if cached is not None:
            return cached
        rows = self.call(self.client.get, self.location.collection, ids=[key], output_fields=["record"])
        if not rows:
            raise IndexCorruptError(f"chunk row {key!r} vanished from {self.location.collection!r}")
        chunk = Chunk(**rows[0]["record"])
        self._chunks.put(key, chunk)
        return chunk

    def prefetch(self, keys: Sequence[RowKey]) -> None:
        """Fetch the chunk records and documents of a search's hits in two calls, not one per hit."""
        missing = [key for key in keys if self._chunks.get(key) is None]
        if missing:
            rows = self.call(self.client.get, self.location.collection, ids=missing, output_fields=["record"])
            for row in rows:
                self._chunks.put(row["id"], Chunk(**row["record"]))
        self.documents.fetch_many({self.chunk(key).doc_id for key in keys})

    def chunk_counts(self) -> Counter[str]:
        """Live chunks per document."""
        counts: Counter[str] = Counter()
        for row in self.iterate(live_filter(self.state), ["doc_id"]):
            counts[row["doc_id"]] += 1
        return counts

    def chunks_of(self, doc_id: str) -> list[RowKey]:
        """Row keys of a document's live chunks."""
        where = f"{live_filter(self.state)} and doc_id == {json.dumps(doc_id)}"
        return sorted(row["id"] for row in self.iterate(where, ["id"]))

    def knows(self, word: str) -> bool:
        """True when Milvus's analyzer finds the word in at least one live chunk."""
        return self.document_frequency(word) > 0

    def idf(self, word: str) -> float:
        """BM25's inverse document frequency of a word over the live chunks."""
        frequency = self.document_frequency(word)
        n_chunks = max(self.state.n_chunks, 1)
        return float(math.log(1 + (n_chunks - frequency + 0.5) / (frequency + 0.5)))

    def document_frequency(self, word: str) -> int:
        """Live chunks whose text holds the word (TEXT_MATCH through the collection's analyzer)."""
        word = word.lower()
        with self._lock:
            if word in self._frequencies:
                return self._frequencies[word]
        if not word.isalnum():  # the question's words are \\w tokens; anything else matches nothing
            return 0
        if self.location.is_compiled_lite:
            frequency = self._bm25_matches(word)
        else:
            rows = self.call(
                self.client.query,
                self.location.collection,
                filter=f"{live_filter(self.state)} and TEXT_MATCH(text, '{word}')",
                output_fields=["count(*)"],
            )
            frequency = int(rows[0]["count(*)"]) if rows else 0
        with self._lock:
            self._frequencies[word] = frequency
        return frequency

    def _bm25_matches(self, word: str) -> int:
        """Live chunks holding the word, counted as its BM25 hits (only they score above zero):
        milvus-lite 2.5 parses no TEXT_MATCH. Exact up to MAX_TOPK, Milvus's largest result; a
        word in more chunks than that counts MAX_TOPK (its IDF is then small either way)."""
        result = self.call(
            self.client.search,
            self.location.collection,
            data=[word],
            anns_field="sparse",
            limit=max(1, min(MAX_TOPK, self.state.n_chunks)),
            filter=live_filter(self.state),
            search_params=_search_params("sparse", 0),
            output_fields=[],
        )
        return len(result[0]) if result else 0

    def iterate(
        self, where: str, fields: list[str], collection: str | None = None, batch: int = 1000
    ) -> Iterator[Row]:
        """Every row of a collection (the chunks unless named) matching where, in batches
        (query_iterator pages past Milvus's query limit: a query without one returns at most
        16,383 rows, silently)."""
        collection = collection or self.location.collection
        if self.location.is_python_lite:  # it has no query window, nor the timestamp call iterators use
            yield from self.call(self.client.query, collection, filter=where, output_fields=fields)
            return
        iterator = self.call(
            self.client.query_iterator,
            collection,
            batch_size=batch,
            filter=where,
            output_fields=fields,
        )
        try:
            while rows := iterator.next():
                yield from rows
        finally:
            iterator.close()

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A Milvus call with Strong consistency; its errors become StoreConnectionError."""
        from pymilvus.exceptions import MilvusException

        if method.__name__ in ("search", "hybrid_search", "query", "query_iterator", "get"):
            kwargs.setdefault("consistency_level", "Strong")
        try:
            return method(*args, **kwargs)
        except MilvusException as exc:
            raise StoreConnectionError(
                f"Milvus at {self.location.uri} failed a {method.__name__} on "
                f"{args[0] if args else self.location.collection!r}: {exc}"
            ) from exc


def _search_params(field_name: str, depth: int) -> dict[str, object]:
    """Search parameters of the BM25 field, or of the HNSW vector field at breadth `depth`."""
    if field_name == "sparse":
        return {"metric_type": "BM25"}
    return {"metric_type": "COSINE", "params": {"ef": max(HNSW_EF_SEARCH, depth)}}


def _vector_data(vector: Vector) -> list[list[float]]:
    return [np.asarray(vector, dtype=np.float32).tolist()]


def open_milvus(location: MilvusLocation, model: str | None = None, dim: int | None = None) -> MilvusStore:
    """Connect and load the committed generation, checking it against the configured model."""
    client = connect(location)
    state = read_state(client, location)
    if model is not None:
        check_compatible(state.manifest(), model, dim)
    load(client, location)
    return MilvusStore(client, location, state)


def _filter(scope: Scope) -> str | None:
    """The filter expression of a scope this store made."""
    if scope is not None and not isinstance(scope, str):
        raise TypeError("a Milvus store scopes searches by a filter expression, not by row numbers")
    return scope
