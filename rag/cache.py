"""A thread-safe LRU cache: query vectors shared by the index versions an engine swaps in, and answers.

Query vectors never go stale across versions: they are keyed by the query text (the model is
fixed for an engine). So an upload or a delete, which swaps in a new retriever and answerer,
keeps every query vector computed so far. Answers depend on the whole index, so each index
version has its own answer cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

import numpy as np

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most `size` values; the least recently used go first. Safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> V | None:
        """The cached value of key (marked as just used), or None."""
        return self.get_many([key]).get(key)

    def put(self, key: Hashable, value: V) -> None:
        """Store one value."""
        self.put_many([(key, value)])

    def get_many(self, keys: Iterable[Hashable]) -> dict[Hashable, V]:
        """The cached values among keys (each marked as just used)."""
        found = {}
        with self._lock:
            for key in keys:
                vector = self._items.get(key)
                if vector is not None:
                    self._items.move_to_end(key)
                    found[key] = vector
        return found

    def put_many(self, items: Iterable[tuple[Hashable, V]]) -> None:
        """Store values, dropping the least recently used beyond the size."""
        with self._lock:
            for key, vector in items:
                self._items[key] = vector
                self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


VectorCache = LRUCache[np.ndarray]
