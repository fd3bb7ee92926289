"""Reaching a Milvus index: where it is, what its collection says about itself, which rows are live.

Milvus has no multi-row transaction, so a write commits by one collection-property update
(`numrag.state`): it raises `committed` to its generation and lists the documents it replaced
under `retiring`. `live_filter` is the scalar filter of the rows live at a generation; every
search and lookup of index/milvus_store.py goes through it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.errors import (
    REBUILD_HINT,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    ModelError,
    StoreConnectionError,
)
from index.store import FORMAT_VERSION, Manifest

STATE_KEY = "numrag.state"
WRITER_KEY = "numrag.writer"
DEFAULT_COLLECTION = "numrag"
CHUNK, DOCUMENT = 0, 1
CONNECT_TIMEOUT_S = 10.0
INSTALL_HINT = "install the scale extra: pip install 'numrag[scale]'"


@dataclass(frozen=True)
class MilvusLocation:
    """Where a Milvus index lives: a milvus-lite file (`*.db`) or a server URI, and a collection."""

    uri: str
    token: str | None = None
    collection: str = DEFAULT_COLLECTION

    @property
    def is_lite(self) -> bool:
        return not self.uri.startswith(("http://", "https://", "tcp://", "unix:"))


@dataclass(frozen=True)
class State:
    """What the collection says about itself (the collection property STATE_KEY)."""

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
    retiring: list[dict[str, Any]] = field(default_factory=list)  # [{"gen", "docs", "at"}]
    format_version: int = FORMAT_VERSION

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
            dense_kind="milvus-hnsw",
            max_model_tokens=self.max_model_tokens,
            model_window=self.model_window,
            created=self.created,
        )


_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def connect(location: MilvusLocation) -> Any:
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
    if client is not None:
        client.close()
    if location.is_lite:  # milvus-lite serves the file from a thread of this process until released
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(location.uri)


def _new_client(location: MilvusLocation) -> Any:
    # pymilvus logs each failed call with a traceback; the errors raised here carry its message
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    if location.is_lite:  # its in-process gRPC server logs calls it does not implement (index-build waits)
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    if location.is_lite:  # milvus-lite makes the file, not its folder
        Path(location.uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError as exc:
        raise ModelError(f"RAG_STORE=milvus needs pymilvus; {INSTALL_HINT}") from exc
    try:
        return MilvusClient(uri=location.uri, token=location.token or "", timeout=CONNECT_TIMEOUT_S)
    except MilvusException as exc:
        raise _connection_error(location, exc) from exc
    except Exception as exc:  # grpc and file errors do not share a base class
        raise _connection_error(location, exc) from exc


def _connection_error(location: MilvusLocation, exc: Exception) -> Exception:
    text = str(exc)
    if location.is_lite and "open local milvus failed" in text.lower():
        return IndexLockedError(
            f"another process has the milvus-lite file {location.uri} open (milvus-lite lets one "
            "process use a file). Stop that process (a running `rag serve`, another `rag index`), or "
            "run a Milvus server and set RAG_MILVUS_URI=http://host:19530 so several processes can share it"
        )
    lowered = text.lower()
    if any(word in lowered for word in ("auth", "token", "credential", "permission", "denied")):
        return StoreConnectionError(
            f"Milvus at {location.uri} refused the credentials ({text}); set RAG_MILVUS_TOKEN to "
            "'user:password' or an API key that the server accepts"
        )
    return StoreConnectionError(
        f"cannot reach Milvus at {location.uri} ({text}); start the server or correct RAG_MILVUS_URI "
        "(a local *.db file path runs the embedded milvus-lite)"
    )


def read_state(client: Any, location: MilvusLocation) -> State:
    """The collection's state; IndexMissingError when there is no collection or no committed write."""
    if not client.has_collection(location.collection):
        raise IndexMissingError(
            f"no collection {location.collection!r} at {location.uri}; build one with `rag index`"
        )
    state = stored_state(client, location)
    if state is None:
        raise IndexCorruptError(
            f"collection {location.collection!r} at {location.uri} was not made by `rag index` (it has "
            f"no {STATE_KEY} property); choose another RAG_MILVUS_COLLECTION or {REBUILD_HINT}"
        )
    if state.committed == 0:
        raise IndexMissingError(
            f"collection {location.collection!r} at {location.uri} holds no finished write; "
            "build it with `rag index`"
        )
    return state


def stored_state(client: Any, location: MilvusLocation) -> State | None:
    """The state property of an existing collection, checked; None when it has none."""
    raw = client.describe_collection(location.collection).get("properties", {}).get(STATE_KEY)
    if raw is None:
        return None
    try:
        state = State(**json.loads(raw))
    except (ValueError, TypeError) as exc:
        message = f"{STATE_KEY} of {location.collection!r} is damaged ({exc}); {REBUILD_HINT}"
        raise IndexCorruptError(message) from exc
    if state.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"collection {location.collection!r} has format version {state.format_version}, but this "
            f"program reads version {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    return state


def load(client: Any, location: MilvusLocation) -> None:
    """Load the collection into memory for searches (a no-op when it is loaded)."""
    from pymilvus.exceptions import MilvusException

    try:
        client.load_collection(location.collection)
    except MilvusException as exc:
        raise StoreConnectionError(
            f"Milvus at {location.uri} cannot load {location.collection!r}: {exc}"
        ) from exc


def live_filter(state: State, kind: int = CHUNK) -> str:
    """Rows of `kind` that were live at the state's generation: committed, and not replaced since."""
    parts = [f"kind == {kind}", f"gen <= {state.committed}"]
    for retired in state.retiring:
        if retired["gen"] <= state.committed and retired["docs"]:
            parts.append(f"not (doc_id in {quoted(retired['docs'])} and gen < {retired['gen']})")
    return " and ".join(parts)


def quoted(values: list[str] | frozenset[str]) -> str:
    """A list of strings as a Milvus filter literal."""
    return json.dumps(list(values))
