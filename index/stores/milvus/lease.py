"""The writer lease of a Milvus index: one writer per collection, without compare-and-set."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from index.errors import IndexLockedError
from index.stores.milvus.client import LEASE, MilvusLocation, Row, load
from index.stores.milvus.rows import lease_id, lease_row

if TYPE_CHECKING:
    from pymilvus import MilvusClient

LEASE_S = 120.0  # a writer renews its lease after each batch; a dead writer's lease lapses
# a writer reads the leases this long after inserting its own, so that a rival's lease inserted
# before that read is seen (an insert reaches Milvus within milliseconds of its timestamp)
SETTLE_S = 0.2
Lease = Row  # owner, asked, expires, pid, host: the record of a lease row


def _dead_here(lease: Lease) -> bool:
    """True when the lease's writer ran on this host and its process is gone (killed midway)."""
    if lease.get("host") != socket.gethostname() or not isinstance(lease.get("pid"), int):
        return False
    try:
        os.kill(lease["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


class WriterLease:
    """One writer per collection: a ticket lock of lease rows (kind LEASE), one per writer.

    Milvus has no compare-and-set. A writer inserts its lease row stamped with the time it asked,
    waits SETTLE_S so that every rival that asked earlier has its row in, and reads the live
    leases back: the earliest asker holds the collection, the others wait in that order. A lease
    lapses LEASE_S after its last renewal, or at once when its process on this host is gone, so
    a killed writer blocks nobody for long."""

    def __init__(
        self,
        client: MilvusClient,
        location: MilvusLocation,
        timeout: float,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.location = location
        self.timeout = timeout
        self.on_wait = on_wait
        self.key = uuid.uuid4().hex
        self.owner = f"pid {os.getpid()} on {socket.gethostname()} ({self.key[:8]})"
        self.asked = 0.0

    def __enter__(self) -> WriterLease:
        if not self.client.has_collection(self.location.records):
            return self  # the first writer creates the collections; its lease starts with the first renewal
        load(self.client, self.location, self.location.records)
        self.asked = time.time()
        self._write()
        deadline = time.monotonic() + self.timeout
        warned = False
        while True:
            time.sleep(SETTLE_S)
            holder = self._first()
            if holder is None or holder["owner"] == self.owner:
                return self
            if time.monotonic() >= deadline:
                self._remove()
                raise IndexLockedError(
                    f"another writer ({holder['owner']}) is writing collection {self.location.collection!r} "
                    f"at {self.location.uri}; waited {self.timeout:.0f} s. Try again when it has finished "
                    f"(its lease lapses {LEASE_S:.0f} s after its last batch if it died)"
                )
            if self.on_wait and not warned:
                self.on_wait(f"waiting for another writer ({holder['owner']}) to finish…")
                warned = True
            self._write()  # still waiting: keep this ticket alive

    def renew(self) -> None:
        """Extend the lease; called after each batch of a long write."""
        if not self.asked:  # the collections were made after __enter__
            self.asked = time.time()
        self._write()

    def __exit__(self, *exc_info: object) -> None:
        if self.client.has_collection(self.location.records):
            self._remove()

    def _first(self) -> Lease | None:
        """The live lease that asked first (lapsed and dead writers' leases are deleted)."""
        rows = self.client.query(
            self.location.records,
            filter=f"kind == {LEASE}",
            output_fields=["id", "record"],
            consistency_level="Strong",
        )
        live: list[dict[str, Any]] = []
        dead: list[int] = []
        for row in rows:
            lease = row["record"]
            lapsed = lease.get("expires", 0) < time.time() or _dead_here(lease)
            (dead if lapsed else live).append(row["id"] if lapsed else lease)
        if dead:
            self.client.delete(self.location.records, ids=dead)
        return min(live, key=lambda lease: (lease["asked"], lease["owner"]), default=None)

    def _write(self) -> None:
        lease = {
            "owner": self.owner,
            "asked": self.asked,
            "expires": time.time() + LEASE_S,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        self.client.upsert(self.location.records, [lease_row(self.key, lease)])

    def _remove(self) -> None:
        self.client.delete(self.location.records, ids=[lease_id(self.key)])
