"""Writing a Milvus index: add, replace and delete documents with all-or-nothing visibility.

A write takes the writer lease (a lease row, WriterLease), removes what a killed writer left
(rows above `committed`), inserts the new rows under generation committed + 1 while readers
keep filtering them out, flushes, and then commits by inserting one state row.
The rows it replaced stay, filtered out, for RETIRE_GRACE_S so that readers still holding the
previous generation keep whole documents; a later write deletes them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from index.chunk import chunk_document
from index.embed import Embedder
from index.errors import IndexMismatchError, IndexMissingError
from index.stores.contract import (
    BuildReport,
    ChunkParams,
    WritePlan,
    WriteRequest,
    build_report,
    embedding_text,
    plan_write,
    same_params,
)
from index.stores.milvus.client import (
    DOCUMENT,
    STATE,
    MilvusLocation,
    Retired,
    State,
    connect,
    live_filter,
    load,
    read_state,
    stored_state,
)
from index.stores.milvus.lease import WriterLease
from index.stores.milvus.rows import (
    chunk_row,
    create_collection,
    dense_index,
    document_rows,
    drop_collections,
    state_row,
)
from index.stores.milvus.store import MilvusStore
from index.tokenize import TOKENIZER
from index.types import Document, document_from_record

if TYPE_CHECKING:
    from pymilvus import MilvusClient

RETIRE_GRACE_S = 60.0  # replaced rows outlive their replacement this long, for readers mid-answer
INSERT_ROWS = 256


@dataclass(frozen=True)
class Written:
    """What inserting a write's rows cost: its chunks, their tokens, the longest in model tokens."""

    chunks: int
    tokens: int
    max_model_tokens: int


def update_milvus(
    location: MilvusLocation, embedder: Embedder, request: WriteRequest
) -> tuple[MilvusStore, BuildReport]:
    """Bring the collection in line with the request: `files`, plus uploads and deletions."""
    started = time.perf_counter()
    client = connect(location)
    with WriterLease(client, location, request.lock_timeout, request.on_wait) as lease:
        state, salvaged = _prepare(client, location, embedder, request.params, request.rebuild)
        load(client, location)
        reader = MilvusStore(client, location, state) if state.committed else None
        old = salvaged if reader is None else _light_documents(reader)
        reusable = (
            not request.rebuild and reader is not None and same_params(state.manifest(), request.params)
        )
        plan = plan_write(old, request, reusable=reusable)
        if not plan.writes:
            assert reader is not None  # a first write always has something to write
            return reader, build_report(plan, reader.n_chunks, 0, started, reader.version)
        gen = state.committed + 1
        written = _write_rows(client, location, embedder, plan.embed, gen, request, lease)
        retired = sorted((set(plan.embed) & set(old)) | set(plan.removed)) if state.committed else []
        committed = _commit(client, location, state, gen, retired, plan, request.params, embedder, written)
    store = MilvusStore(client, location, committed)
    return store, build_report(
        plan, committed.n_chunks, written.chunks, started, store.version, written.tokens
    )


def _prepare(
    client: MilvusClient, location: MilvusLocation, embedder: Embedder, params: ChunkParams, rebuild: bool
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


def _half_made(client: MilvusClient, location: MilvusLocation) -> bool:
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


def _rows(client: MilvusClient, collection: str, where: str) -> int:
    rows = client.query(collection, filter=where, output_fields=["count(*)"], consistency_level="Strong")
    return int(rows[0]["count(*)"]) if rows else 0


def _uploads(client: MilvusClient, location: MilvusLocation) -> dict[str, Document]:
    """Documents uploaded through the API, when the collection can still be read (only their text
    is fetched)."""
    try:
        store = MilvusStore(client, location, read_state(client, location))
    except IndexMissingError:
        return {}
    light = _light_documents(store)
    return {k: store.documents[k] for k, d in light.items() if d.extra.get("origin") == "upload"}


def _recover(client: MilvusClient, location: MilvusLocation, state: State) -> State:
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
        documents[record["doc_id"]] = document_from_record({**record, "text": ""})
    return dict(sorted(documents.items()))


def _write_rows(
    client: MilvusClient,
    location: MilvusLocation,
    embedder: Embedder,
    documents: dict[str, Document],
    gen: int,
    request: WriteRequest,
    lease: WriterLease,
) -> Written:
    """Insert the documents' rows and their chunks' rows under `gen`, embedding as batches arrive."""
    rows = [row for document in documents.values() for row in document_rows(document, gen)]
    for first in range(0, len(rows), INSERT_ROWS):
        client.insert(location.records, rows[first : first + INSERT_ROWS])
    params = request.params
    chunks = [
        (document, chunk)
        for document in documents.values()
        for chunk in chunk_document(document, params.tokens, params.overlap)
    ]
    texts = [embedding_text(document, chunk) for document, chunk in chunks]
    done = 0
    for batch, vectors in embedder.embed_stream(texts, batch_size=request.batch_size):
        batch_rows = [
            chunk_row(chunks[i][0], chunks[i][1], texts[i], vector, gen)
            for i, vector in zip(batch, vectors, strict=True)
        ]
        client.insert(location.collection, batch_rows)
        done += len(batch_rows)
        lease.renew()
        if request.progress:
            request.progress(done, len(texts))
    for name in (location.collection, location.records):  # the rows are durable before the commit
        client.flush(name)
    return Written(
        chunks=len(chunks),
        tokens=sum(chunk.n_tokens for _, chunk in chunks),
        max_model_tokens=max((embedder.count_model_tokens(t) for t in texts), default=0),
    )


def _commit(
    client: MilvusClient,
    location: MilvusLocation,
    state: State,
    gen: int,
    retired: list[str],
    plan: WritePlan,
    params: ChunkParams,
    embedder: Embedder,
    written: Written,
) -> State:
    """Make generation `gen` the live one by inserting one state row."""
    retiring = state.retiring
    if retired:
        retiring = [*retiring, Retired(gen=gen, docs=retired, at=time.time())]
    committed = replace(
        state,
        committed=gen,
        retiring=retiring,
        chunk_tokens=params.tokens,
        chunk_overlap=params.overlap,
        n_documents=len(plan.targets),
        max_model_tokens=max(written.max_model_tokens, state.max_model_tokens),
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


def save_state(client: MilvusClient, location: MilvusLocation, state: State) -> State:
    """Make `state` the collection's state: insert its row under the next serial (one row, so
    readers see the old state or the new one), then drop the older state rows."""
    saved = replace(state, serial=state.serial + 1)
    client.insert(location.records, [state_row(saved)])
    client.delete(location.records, filter=f"kind == {STATE} and part < {saved.serial}")
    return saved
