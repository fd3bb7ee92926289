"""Writing a Milvus index: add, replace and delete documents with all-or-nothing visibility.

A write takes the writer lease (a lease row, WriterLease), removes what a killed writer left
(rows above `committed`), inserts the new rows under generation committed + 1 while readers
keep filtering them out, flushes, and then commits by inserting one state row.
The rows it replaced stay, filtered out, for RETIRE_GRACE_S so that readers still holding the
previous generation keep whole documents; a later write deletes them.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from index.build import (
    BuildReport,
    ChunkParams,
    Progress,
    _empty_index_message,
    _target_documents,
    build_report,
    embedding_text,
    same_params,
)
from index.chunk import chunk_document
from index.embed import Embedder
from index.errors import IndexLockedError, IndexMismatchError, IndexMissingError, InputError
from index.milvus_client import (
    DOCUMENT,
    LEASE,
    STATE,
    MilvusLocation,
    State,
    connect,
    live_filter,
    load,
    read_state,
    stored_state,
)
from index.milvus_rows import (
    chunk_row,
    create_collection,
    dense_index,
    document_rows,
    drop_collections,
    lease_id,
    lease_row,
    state_row,
)
from index.milvus_store import MilvusStore
from index.tokenize import TOKENIZER
from index.types import Document

RETIRE_GRACE_S = 60.0  # replaced rows outlive their replacement this long, for readers mid-answer
LEASE_S = 120.0  # a writer renews its lease after each batch; a dead writer's lease lapses
# a writer reads the leases this long after inserting its own, so that a rival's lease inserted
# before that read is seen (an insert reaches Milvus within milliseconds of its timestamp)
SETTLE_S = 0.2
INSERT_ROWS = 256


def update_milvus(
    location: MilvusLocation,
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
) -> tuple[MilvusStore, BuildReport]:
    """Bring the collection in line with `files`, plus uploads and deletions (see update_index)."""
    started = time.perf_counter()
    params = params or ChunkParams()
    client = connect(location)
    with WriterLease(client, location, lock_timeout, on_wait) as lease:
        state, salvaged = _prepare(client, location, embedder, params, rebuild)
        load(client, location)
        reader = MilvusStore(client, location, state) if state.committed else None
        old = salvaged if reader is None else _light_documents(reader)
        targets = _target_documents(old, files, upserts, deletes)
        if not targets:
            raise InputError(_empty_index_message(deletes))
        everything = rebuild or reader is None or not same_params(state.manifest(), params)
        changed = {
            doc_id: document
            for doc_id, document in targets.items()
            if everything or doc_id not in old or old[doc_id].content_hash != document.content_hash
        }
        removed = sorted(set(old) - set(targets))
        if not changed and not removed:
            assert reader is not None  # a first write always has something to write
            unchanged = build_report(len(targets), reader.n_chunks, 0, 0, [], started, reader.version, False)
            return reader, unchanged
        gen = state.committed + 1
        counts = _write_rows(client, location, embedder, changed, gen, params, batch_size, progress, lease)
        retired = sorted((set(changed) & set(old)) | set(removed)) if state.committed else []
        committed = _commit(client, location, state, gen, retired, targets, params, embedder, counts)
    store = MilvusStore(client, location, committed)
    return store, build_report(
        len(targets),
        committed.n_chunks,
        len(changed),
        counts["chunks"],
        removed,
        started,
        store.version,
        True,
        counts["tokens"],
    )


def _prepare(
    client: Any, location: MilvusLocation, embedder: Embedder, params: ChunkParams, rebuild: bool
) -> tuple[State, dict[str, Document]]:
    """The index's state after recovery, created when missing; uploads kept on a rebuild."""
    salvaged: dict[str, Document] = {}
    if client.has_collection(location.collection) and not _half_made(client, location):
        state = stored_state(client, location)
        if state is not None and (state.model, state.dim) != (embedder.name, embedder.dim):
            if not rebuild:
                raise IndexMismatchError(
                    f"collection {location.collection!r} was built with {state.model} ({state.dim} dims) "
                    f"but the configured model is {embedder.name} ({embedder.dim} dims); run "
                    "`rag index --rebuild` to build it again, or set RAG_MILVUS_COLLECTION to another name"
                )
            salvaged = _uploads(client, location)
            drop_collections(client, location)
        elif state is None:
            raise IndexMismatchError(
                f"collection {location.collection!r} at {location.uri} was not made by `rag index`; "
                "set RAG_MILVUS_COLLECTION to another name"
            )
        else:
            if rebuild:
                salvaged = _uploads(client, location)
            return _recover(client, location, state), salvaged
    state = State(
        model=embedder.name,
        dim=embedder.dim,
        tokenizer=TOKENIZER,
        chunk_tokens=params.tokens,
        chunk_overlap=params.overlap,
        model_window=embedder.max_tokens,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        dense_index=dense_index(location)["index_type"],
    )
    drop_collections(client, location)  # what a writer killed while creating them left
    create_collection(client, location, embedder.dim)
    return save_state(client, location, state), salvaged


def _half_made(client: Any, location: MilvusLocation) -> bool:
    """True when a writer was killed while creating the collections or before saving the first
    state: no chunk rows, and no records collection or one with no document or state rows (a
    waiting writer's lease may be there)."""
    load(client, location, location.collection)
    if _rows(client, location.collection, "gen >= 0"):
        return False
    if not client.has_collection(location.records):
        return True
    load(client, location, location.records)
    return not _rows(client, location.records, f"kind in [{DOCUMENT}, {STATE}]")


def _rows(client: Any, collection: str, where: str) -> int:
    rows = client.query(collection, filter=where, output_fields=["count(*)"], consistency_level="Strong")
    return int(rows[0]["count(*)"]) if rows else 0


def _uploads(client: Any, location: MilvusLocation) -> dict[str, Document]:
    """Documents uploaded through the API, when the collection can still be read (only their text
    is fetched)."""
    try:
        store = MilvusStore(client, location, read_state(client, location))
    except IndexMissingError:
        return {}
    light = _light_documents(store)
    return {k: store.documents[k] for k, d in light.items() if d.extra.get("origin") == "upload"}


def _recover(client: Any, location: MilvusLocation, state: State) -> State:
    """Delete a killed writer's uncommitted rows and replaced rows past their grace period."""
    client.delete(location.collection, filter=f"gen > {state.committed}")
    client.delete(location.records, filter=f"kind == {DOCUMENT} and gen > {state.committed}")
    now = time.time()
    keep = []
    for retired in state.retiring:
        if now - retired["at"] < RETIRE_GRACE_S:
            keep.append(retired)
            continue
        docs = json.dumps(retired["docs"])
        where = f"doc_id in {docs} and gen < {retired['gen']}"
        client.delete(location.collection, filter=where)
        client.delete(location.records, filter=f"kind == {DOCUMENT} and {where}")
    if len(keep) != len(state.retiring):
        state = save_state(client, location, replace(state, retiring=keep))
    return state


def _light_documents(store: MilvusStore) -> dict[str, Document]:
    """Each live document's record without its text: enough to see what changed."""
    where = f"{live_filter(store.state, DOCUMENT)} and part == 0"
    documents = {}
    for row in store.iterate(where, ["record"], store.location.records):
        record = {k: v for k, v in row["record"].items() if k != "parts"}
        documents[record["doc_id"]] = Document(**record, text="")
    return dict(sorted(documents.items()))


def _write_rows(
    client: Any,
    location: MilvusLocation,
    embedder: Embedder,
    documents: dict[str, Document],
    gen: int,
    params: ChunkParams,
    batch_size: int,
    progress: Progress | None,
    lease: WriterLease,
) -> dict[str, int]:
    """Insert the documents' rows and their chunks' rows under `gen`, embedding as batches arrive."""
    rows = [row for document in documents.values() for row in document_rows(document, gen)]
    for first in range(0, len(rows), INSERT_ROWS):
        client.insert(location.records, rows[first : first + INSERT_ROWS])
    chunks = [
        (document, chunk)
        for document in documents.values()
        for chunk in chunk_document(document, params.tokens, params.overlap)
    ]
    texts = [embedding_text(document, chunk) for document, chunk in chunks]
    done = 0
    for batch, vectors in embedder.embed_stream(texts, batch_size=batch_size):
        batch_rows = [
            chunk_row(chunks[i][0], chunks[i][1], texts[i], vector, gen)
            for i, vector in zip(batch, vectors, strict=True)
        ]
        client.insert(location.collection, batch_rows)
        done += len(batch_rows)
        lease.renew()
        if progress:
            progress(done, len(texts))
    for name in (location.collection, location.records):  # the rows are durable before the commit
        client.flush(name)
    return {
        "chunks": len(chunks),
        "tokens": sum(chunk.n_tokens for _, chunk in chunks),
        "max_model_tokens": max((embedder.count_model_tokens(t) for t in texts), default=0),
    }


def _commit(
    client: Any,
    location: MilvusLocation,
    state: State,
    gen: int,
    retired: list[str],
    targets: dict[str, Document],
    params: ChunkParams,
    embedder: Embedder,
    counts: dict[str, int],
) -> State:
    """Make generation `gen` the live one by inserting one state row."""
    retiring = state.retiring
    if retired:
        retiring = [*retiring, {"gen": gen, "docs": retired, "at": time.time()}]
    committed = replace(
        state,
        committed=gen,
        retiring=retiring,
        chunk_tokens=params.tokens,
        chunk_overlap=params.overlap,
        n_documents=len(targets),
        max_model_tokens=max(counts["max_model_tokens"], state.max_model_tokens),
        model_window=embedder.max_tokens,
    )
    rows = client.query(
        location.collection,
        filter=live_filter(committed),
        output_fields=["count(*)"],
        consistency_level="Strong",
    )
    committed = replace(committed, n_chunks=int(rows[0]["count(*)"]))
    return save_state(client, location, committed)


def save_state(client: Any, location: MilvusLocation, state: State) -> State:
    """Make `state` the collection's state: insert its row under the next serial (one row, so
    readers see the old state or the new one), then drop the older state rows."""
    saved = replace(state, serial=state.serial + 1)
    client.insert(location.records, [state_row(saved)])
    client.delete(location.records, filter=f"kind == {STATE} and part < {saved.serial}")
    return saved


def _dead_here(lease: dict) -> bool:
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
        client: Any,
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

    def _first(self) -> dict | None:
        """The live lease that asked first (lapsed and dead writers' leases are deleted)."""
        rows = self.client.query(
            self.location.records,
            filter=f"kind == {LEASE}",
            output_fields=["id", "record"],
            consistency_level="Strong",
        )
        live, dead = [], []
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
