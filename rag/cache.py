"""A thread-safe LRU cache of vectors, shared by the index versions an engine swaps in.

Its keys never go stale across versions: query vectors are keyed by the query text (the model
is fixed for an engine), sentence vectors by document id, content hash and offset. So an upload
or a delete, which swaps in a new retriever and answerer, keeps every vector computed so far.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable

import numpy as np


class VectorCache:
    """At most `size` vectors; the least recently used go first. Safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get_many(self, keys: Iterable[Hashable]) -> dict[Hashable, np.ndarray]:
        """The cached vectors among keys (each marked as just used)."""
        found = {}
        with self._lock:
            for key in keys:
                vector = self._items.get(key)
                if vector is not None:
                    self._items.move_to_end(key)
                    found[key] = vector
        return found

    def put_many(self, items: Iterable[tuple[Hashable, np.ndarray]]) -> None:
        """Store vectors, dropping the least recently used beyond the size."""
        with self._lock:
            for key, vector in items:
                self._items[key] = vector
                self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
