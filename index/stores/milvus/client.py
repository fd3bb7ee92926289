"""Reaching a Milvus index: where it is, what its collection says about itself, which rows are live.

An index is two collections: `<name>` holds the chunks (vectors, BM25, chunk records) and
`<name>_records` the rest (documents, state, writer leases), so that searches scan chunk rows
only. Milvus has no multi-row transaction, so a write commits by inserting one row: a state row
(kind STATE) that raises `committed` to its generation and lists the documents it replaced under
`retiring`. The state row with the highest serial is the index's state; inserting one row is
atomic in every Milvus, where a collection-property update is not implemented by all (milvus-lite
2.5 has none). `live_filter` is the scalar filter of the rows live at a generation; every search
and lookup of index/stores/milvus/store.py goes through it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlparse

from index.errors import (
    REBUILD_HINT,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    ModelError,
    StoreConnectionError,
)
from index.stores.contract import DEFAULT_COLLECTION, FORMAT_VERSION, Manifest, StoreLocation

if TYPE_CHECKING:
    from pymilvus import MilvusClient

CHUNK, DOCUMENT, STATE, LEASE = 0, 1, 2, 3  # chunks are the chunk collection; the others are records
RECORDS_SUFFIX = "_records"
CONNECT_TIMEOUT_S = 10.0
INSTALL_HINT = "install the scale extra: pip install 'numrag[scale]'"
Row = dict[str, Any]  # a row as pymilvus takes and returns it: field name -> value (JSON records inside)


@dataclass(frozen=True)
class MilvusLocation:
    """Where a Milvus index lives: a milvus-lite file (`*.db`) or a server URI, and a collection."""

    uri: str
    token: str | None = None
    collection: str = DEFAULT_COLLECTION

    @classmethod
    def of(cls, location: StoreLocation) -> MilvusLocation:
        """The Milvus half of a store location."""
        return cls(
            uri=location.milvus_address, token=location.milvus_token, collection=location.milvus_collection
        )

    @property
    def records(self) -> str:
        """The collection of the index's documents, state and leases."""
        return self.collection + RECORDS_SUFFIX

    @property
    def is_lite(self) -> bool:
        return not self.uri.startswith(("http://", "https://", "tcp://", "unix:"))

    @property
    def is_python_lite(self) -> bool:
        """milvus-lite 3, a pure-Python engine in this process."""
        return self.is_lite and lite_major() >= 3

    @property
    def is_compiled_lite(self) -> bool:
        """milvus-lite 2.5, Milvus's compiled engine in a child process: a server in most ways, but
        without HNSW, TEXT_MATCH or collection properties."""
        return self.is_lite and not self.is_python_lite


@functools.cache
def lite_major() -> int:
    """The installed milvus-lite's major version (0 when it is not installed); read once, because
    every store call that adapts to the engine asks and a metadata lookup costs about a millisecond."""
    try:
        return int(metadata.version("milvus-lite").split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return 0


class Retired(TypedDict):
    """Documents a write replaced or removed: their rows older than `gen` go after a grace period."""

    gen: int
    docs: list[str]
    at: float  # when, in seconds since the epoch


@dataclass(frozen=True)
class State:
    """What the index says about itself: the record of its newest STATE row."""

    model: str
    dim: int
    tokenizer: str
    chunk_tokens: int
    chunk_overlap: int
    committed: int = 0  # the last generation whose rows are live
    n_chunks: int = 0
    n_documents: int = 0
    max_model_tokens: int = 0
    model_window: int = 0
    created: str = ""
    retiring: list[Retired] = field(default_factory=list)
    format_version: int = FORMAT_VERSION
    serial: int = 0  # raised by every save; the newest state row wins
    dense_index: str = "HNSW"  # the vector index: HNSW, or FLAT on milvus-lite 2.5

    def manifest(self) -> Manifest:
        """The FAISS store's manifest shape, for code that describes either backend."""
        return Manifest(
            model=self.model,
            dim=self.dim,
            tokenizer=self.tokenizer,
            chunk_tokens=self.chunk_tokens,
            chunk_overlap=self.chunk_overlap,
            documents={},
            n_chunks=self.n_chunks,
            dense_kind=self.dense_index.lower(),
            max_model_tokens=self.max_model_tokens,
            model_window=self.model_window,
            created=self.created,
        )


_CLIENTS: dict[tuple[str, str], MilvusClient] = {}
_LOADED: set[tuple[str, str]] = set()  # (uri, collection) loaded by this process
_CLIENTS_LOCK = threading.Lock()


def connect(location: MilvusLocation) -> MilvusClient:
    """The process's MilvusClient for a URI and token (milvus-lite lets one client open a file), or
    one clear error: pymilvus missing, URI unreachable, token refused, file held by another process."""
    key = (location.uri, location.token or "")
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = _new_client(location)
        return _CLIENTS[key]


def disconnect(location: MilvusLocation) -> None:
    """Close the process's client of a URI (milvus-lite then lets another process open the file)."""
    with _CLIENTS_LOCK:
        client = _CLIENTS.pop((location.uri, location.token or ""), None)
    forget_loaded(location)
    if client is not None:
        client.close()
    if location.is_lite:  # milvus-lite serves the file from a thread of this process until released
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(location.uri)


def _new_client(location: MilvusLocation) -> MilvusClient:
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError as exc:
        raise ModelError(f"RAG_STORE=milvus needs pymilvus; {INSTALL_HINT}") from exc
    # pymilvus logs each failed call with a traceback, and warns that iterators on milvus-lite take
    # their timestamp from the client; the errors raised here carry its message. (Set after the
    # import: importing pymilvus configures its loggers.)
    for name in ("pymilvus", "pymilvus.milvus_client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if location.is_lite:  # milvus-lite 3's in-process gRPC server logs calls it does not implement
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        Path(location.uri).expanduser().parent.mkdir(parents=True, exist_ok=True)  # it makes no folder
    try:
        with _server_log(location):
            return MilvusClient(uri=location.uri, token=location.token or "", timeout=CONNECT_TIMEOUT_S)
    except MilvusException as exc:
        raise _connection_error(location, exc) from exc
    except Exception as exc:  # grpc and file errors do not share a base class
        raise _connection_error(location, exc) from exc


@contextmanager
def _server_log(location: MilvusLocation) -> Iterator[None]:
    """milvus-lite 2.5 starts its engine as a child process that inherits standard error and logs
    every index commit there; point the child's standard error at `<file>.log` beside the data."""
    if not location.is_compiled_lite:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(f"{Path(location.uri).expanduser()}.log", "ab") as log:
            os.dup2(log.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _connection_error(location: MilvusLocation, exc: Exception) -> Exception:
    text = str(exc)
    if location.is_lite and "open local milvus failed" in text.lower():
        return IndexLockedError(
            f"another process has the milvus-lite file {location.uri} open (milvus-lite lets one "
            "process use a file). Stop that process (a running `rag serve`, another `rag index`), or "
            "run a Milvus server and set RAG_MILVUS_URI=http://host:19530 so several processes can share it"
        )
    lowered = text.lower()
    refused = any(word in lowered for word in ("auth", "token", "credential", "permission", "denied"))
    # a server that takes the connection and then fails the handshake refused the token (Milvus 2.3
    # says only "illegal connection params or server unavailable")
    if refused or (location.token and _listening(location.uri)):
        return StoreConnectionError(
            f"Milvus at {location.uri} refused the credentials ({text}); set RAG_MILVUS_TOKEN to "
            "'user:password' or an API key that the server accepts"
        )
    return StoreConnectionError(
        f"cannot reach Milvus at {location.uri} ({text}); start the server or correct RAG_MILVUS_URI "
        "(a local *.db file path runs the embedded milvus-lite)"
    )


def _listening(uri: str) -> bool:
    """True when something accepts TCP connections at the URI's host and port."""
    parsed = urlparse(uri)
    if not parsed.hostname:
        return False
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 19530), timeout=2.0):
            return True
    except OSError:
        return False


def read_state(client: MilvusClient, location: MilvusLocation) -> State:
    """The collection's state; IndexMissingError when there is no collection or no committed write."""
    if not client.has_collection(location.collection):
        raise IndexMissingError(
            f"no collection {location.collection!r} at {location.uri}; build one with `rag index`"
        )
    state = stored_state(client, location)
    if state is None:
        raise IndexCorruptError(
            f"collection {location.collection!r} at {location.uri} was not made by `rag index` (it has "
            f"no state row in {location.records!r}); choose another RAG_MILVUS_COLLECTION or "
            f"{REBUILD_HINT}"
        )
    if state.committed == 0:
        raise IndexMissingError(
            f"collection {location.collection!r} at {location.uri} holds no finished write; "
            "build it with `rag index`"
        )
    return state


def stored_state(client: MilvusClient, location: MilvusLocation) -> State | None:
    """The newest state row of an index, checked; None when it has none (no records collection, or
    one of another schema)."""
    from pymilvus.exceptions import MilvusException

    if not client.has_collection(location.records):
        return None
    fields = {f["name"] for f in client.describe_collection(location.records).get("fields", [])}
    if not {"kind", "part", "record"} <= fields:
        return None
    load(client, location, location.records)
    try:
        rows = client.query(
            location.records,
            filter=f"kind == {STATE}",
            output_fields=["part", "record"],
            consistency_level="Strong",
        )
    except MilvusException as exc:
        raise StoreConnectionError(f"Milvus at {location.uri} failed to read the state: {exc}") from exc
    if not rows:
        return None
    newest = max(rows, key=lambda row: row["part"])
    try:
        state = State(**newest["record"])
    except (ValueError, TypeError) as exc:
        message = f"the state row of {location.collection!r} is damaged ({exc}); {REBUILD_HINT}"
        raise IndexCorruptError(message) from exc
    if state.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"collection {location.collection!r} has format version {state.format_version}, but this "
            f"program reads version {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    return state


def load(client: MilvusClient, location: MilvusLocation, *names: str) -> None:
    """Load collections (the index's two unless named) for searches and queries, once per process
    and server: a server keeps them loaded, and a query on a released one fails."""
    from pymilvus.exceptions import MilvusException

    for name in names or (location.collection, location.records):
        if (location.uri, name) in _LOADED:
            continue
        try:
            client.load_collection(name)
        except MilvusException as exc:
            raise StoreConnectionError(f"Milvus at {location.uri} cannot load {name!r}: {exc}") from exc
        _LOADED.add((location.uri, name))


def forget_loaded(location: MilvusLocation) -> None:
    """After a drop or a disconnect: load again before the next query."""
    for key in [key for key in _LOADED if key[0] == location.uri]:
        _LOADED.discard(key)


def live_filter(state: State, kind: int = CHUNK) -> str:
    """Rows of `kind` (chunks, or document records) that were live at the state's generation:
    committed, and not replaced since."""
    parts = (
        [f"gen <= {state.committed}"] if kind == CHUNK else [f"kind == {kind}", f"gen <= {state.committed}"]
    )
    for retired in state.retiring:
        if retired["gen"] <= state.committed and retired["docs"]:
            # not (replaced and older), in the form every Milvus parses (2.5's segcore has no `not (...)`)
            parts.append(f"(doc_id not in {quoted(retired['docs'])} or gen >= {retired['gen']})")
    return " and ".join(parts)


def quoted(values: list[str] | frozenset[str]) -> str:
    """A list of strings as a Milvus filter literal."""
    return json.dumps(list(values))
