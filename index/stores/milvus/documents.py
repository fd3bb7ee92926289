"""What a loaded Milvus store keeps of its rows: chunk records by key, documents by id (LRUs)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from index.errors import IndexCorruptError
from index.stores.contract import RowKey
from index.stores.milvus.client import DOCUMENT, Row, live_filter, quoted
from index.types import Chunk, Document, document_from_record

if TYPE_CHECKING:
    from index.stores.milvus.store import MilvusStore

DOCUMENT_CACHE = 4096
CHUNK_CACHE = DOCUMENT_CACHE * 4


class Chunks:
    """A small thread-safe LRU of chunk records by row key."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[RowKey, Chunk] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: RowKey) -> Chunk | None:
        with self._lock:
            chunk = self._items.get(key)
            if chunk is not None:
                self._items.move_to_end(key)
            return chunk

    def put(self, key: RowKey, chunk: Chunk) -> None:
        with self._lock:
            self._items[key] = chunk
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class MilvusDocuments(Mapping[str, Document]):
    """The live documents of a MilvusStore: ids read once, records fetched on use and cached."""

    def __init__(self, store: MilvusStore) -> None:
        self._store = store
        self._cache: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()
        where = f"{live_filter(store.state, DOCUMENT)} and part == 0"
        self._ids = sorted(row["doc_id"] for row in store.iterate(where, ["doc_id"], store.location.records))
        self._known = frozenset(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._known

    def __getitem__(self, doc_id: str) -> Document:
        if doc_id not in self._known:
            raise KeyError(doc_id)
        return self.fetch_many({doc_id})[doc_id]

    def fetch_many(self, doc_ids: set[str]) -> dict[str, Document]:
        """The live documents among doc_ids: cached ones, and the others read in one query."""
        found = {}
        with self._lock:
            for doc_id in doc_ids & self._cache.keys():
                self._cache.move_to_end(doc_id)
                found[doc_id] = self._cache[doc_id]
        missing = sorted(d for d in doc_ids if d in self._known and d not in found)
        if not missing:
            return found
        store = self._store
        where = f"{live_filter(store.state, DOCUMENT)} and doc_id in {quoted(missing)}"
        # one query: documents have a few parts each, far below a query's 16,383-row cap for a
        # search's hits, and an iterator's extra calls would cost more than the fetch
        rows = store.call(
            store.client.query,
            store.location.records,
            filter=where,
            output_fields=["doc_id", "part", "body", "record"],
        )
        parts: dict[str, list[Row]] = {}
        for row in rows:
            parts.setdefault(row["doc_id"], []).append(row)
        documents = {doc_id: self._assemble(doc_id, parts.get(doc_id, [])) for doc_id in missing}
        with self._lock:
            self._cache.update(documents)
            for doc_id in documents:
                self._cache.move_to_end(doc_id)
            while len(self._cache) > DOCUMENT_CACHE:
                self._cache.popitem(last=False)
        return found | documents

    def _assemble(self, doc_id: str, rows: list[Row]) -> Document:
        rows = sorted(rows, key=lambda row: row["part"])
        if not rows or rows[0]["part"] != 0 or len(rows) != rows[0]["record"].get("parts", 1):
            raise IndexCorruptError(
                f"document {doc_id!r} is incomplete in {self._store.location.collection!r}"
            )
        record = {k: v for k, v in rows[0]["record"].items() if k != "parts"}
        return document_from_record({**record, "text": "".join(row["body"] for row in rows)})
