"""What every store agrees on: the `Store` protocol, the manifest, and one write request.

The retriever, the engine, the API and the CLI see a loaded index only through `Store`; the two
writers (index/stores/faiss/build.py, index/stores/milvus/write.py) take a `WriteRequest`, plan
it with `plan_write` and report a `BuildReport`. Nothing here imports a backend.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from index.errors import REBUILD_HINT, IndexMismatchError, InputError, NotFoundError
from index.types import Chunk, Document, Skipped

FORMAT_VERSION = 1
DEFAULT_COLLECTION = "numrag"
# The HNSW graph both stores build, so that their recall matches. Tuned with `rag bench` at 100k
# chunks (clustered vectors, real SQuAD questions): efConstruction 80 with efSearch 128 reached
# recall@10 0.973 against exact search; 200 with 256 reaches 0.997-1.0 at about 0.3 ms a query,
# for twice the build time (about 40 s on 2 cores).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256

StoreKind = Literal["faiss", "milvus"]
Fusion = Literal["rrf", "weighted"]
RowKey = int | str  # a FAISS row number or a Milvus row key
Rows = npt.NDArray[np.int64]
Scope = Rows | str | None  # FAISS: the admitted rows; Milvus: a filter expression; None: every row
Scores = dict[RowKey, float]  # a search's hits: row key -> score
Vector = npt.NDArray[np.float32]
Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


class Filters(Protocol):
    """What a store reads of rag.types.Filters to scope a search."""

    @property
    def doc_ids(self) -> frozenset[str] | None: ...

    @property
    def published_after(self) -> str | None: ...

    @property
    def published_before(self) -> str | None: ...

    @property
    def active(self) -> bool: ...

    def admits(self, document: Document) -> bool: ...


@dataclass(frozen=True)
class Manifest:
    """What an index says about itself."""

    model: str
    dim: int
    tokenizer: str
    chunk_tokens: int
    chunk_overlap: int
    documents: dict[str, str]  # doc_id -> content hash
    n_chunks: int
    dense_kind: str = "flat"
    embed_title: bool = True
    max_model_tokens: int = 0  # longest chunk in the model's own word pieces
    model_window: int = 0  # the model's max_seq_length
    format_version: int = FORMAT_VERSION
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))


class Store(Protocol):
    """What the retriever, the answerer, the engine, the API and the CLI use of a loaded index."""

    @property
    def manifest(self) -> Manifest: ...

    @property
    def version(self) -> str: ...

    @property
    def documents(self) -> Mapping[str, Document]: ...

    @property
    def fuses(self) -> bool:
        """True: the store fuses dense and BM25 lists itself (hybrid_search)."""
        ...

    @property
    def n_chunks(self) -> int: ...

    def newer_generation(self) -> bool:
        """True when another writer has committed since this store was loaded (reload it)."""
        ...

    def chunk_counts(self) -> Counter[str]: ...

    def chunks_of(self, doc_id: str) -> Sequence[RowKey]: ...

    def chunk(self, key: RowKey) -> Chunk: ...

    def prefetch(self, keys: Sequence[RowKey]) -> None: ...

    def scope(self, filters: Filters | None) -> Scope: ...

    def scope_is_empty(self, scope: Scope) -> bool: ...

    def dense_search(self, vector: Vector, depth: int, scope: Scope) -> Scores: ...

    def lexical_search(self, query: str, depth: int, scope: Scope) -> Scores: ...

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
        """The k best of the dense and BM25 lists, fused by the store (only when `fuses`)."""
        ...

    def knows(self, word: str) -> bool: ...

    def idf(self, word: str) -> float: ...


@dataclass(frozen=True)
class StoreLocation:
    """Where the index lives: a folder (FAISS) or a Milvus URI and collection."""

    kind: StoreKind = "faiss"
    index_dir: Path = Path(".rag_index")
    milvus_uri: str | None = None
    milvus_token: str | None = None
    milvus_collection: str = DEFAULT_COLLECTION

    @property
    def milvus_address(self) -> str:
        """The Milvus URI: the configured one, or a milvus-lite file in the index folder."""
        return self.milvus_uri or str(self.index_dir / "milvus.db")

    def describe(self) -> str:
        """The location in words, for messages."""
        if self.kind == "faiss":
            return str(self.index_dir)
        return f"{self.milvus_address} (collection {self.milvus_collection})"


@dataclass(frozen=True)
class ChunkParams:
    """How documents are cut into chunks (cl100k tokens)."""

    tokens: int = 192
    overlap: int = 32


@dataclass(frozen=True)
class WriteRequest:
    """One write to a store: the file documents, uploads and deletions, and how to write them.

    `files`, when given, is every file document: file documents not in it are removed (uploads
    stay). `rebuild` embeds everything again, keeping uploads whose records can be read.
    """

    files: Sequence[Document] | None = None
    upserts: Sequence[Document] = ()
    deletes: Sequence[str] = ()
    params: ChunkParams = ChunkParams()
    rebuild: bool = False
    batch_size: int = 32
    progress: Progress | None = None
    lock_timeout: float = 60.0
    on_wait: Callable[[str], None] | None = None


@dataclass(frozen=True)
class BuildReport:
    """What one run of the pipeline did."""

    documents: int
    chunks: int
    embedded_documents: int
    embedded_chunks: int
    reused_documents: int
    reused_chunks: int
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    version: str = ""
    written: bool = False
    tokens: int = 0


@dataclass(frozen=True)
class WritePlan:
    """What a write does: the documents the index will hold, those to embed, those that go."""

    targets: dict[str, Document]  # by doc_id, sorted
    embed: dict[str, Document]  # new or changed targets (every target when nothing is reusable)
    removed: list[str]  # sorted

    @property
    def writes(self) -> bool:
        """False when the index already holds exactly the targets: nothing to write."""
        return bool(self.embed or self.removed)


def plan_write(old: Mapping[str, Document], request: WriteRequest, reusable: bool) -> WritePlan:
    """Targets from the old documents and the request; embed what changed (all unless reusable).

    A document is reused when its content hash is unchanged and `reusable` (same model and chunk
    parameters, no rebuild). NotFoundError for a deletion of an unknown document, InputError when
    no document would be left.
    """
    targets = _target_documents(old, request)
    if not targets:
        raise InputError(_empty_index_message(request.deletes))
    embed = {
        doc_id: document
        for doc_id, document in targets.items()
        if not reusable or doc_id not in old or old[doc_id].content_hash != document.content_hash
    }
    return WritePlan(targets, embed, sorted(set(old) - set(targets)))


def _target_documents(old: Mapping[str, Document], request: WriteRequest) -> dict[str, Document]:
    targets = dict(old)
    if request.files is not None:
        targets = {k: d for k, d in targets.items() if d.extra.get("origin") == "upload"}
        targets.update({d.doc_id: d for d in request.files})
    for document in request.upserts:
        targets[document.doc_id] = document
    for doc_id in request.deletes:
        if doc_id not in targets:
            raise NotFoundError(f"document {doc_id!r} is not in the index")
        del targets[doc_id]
    return dict(sorted(targets.items()))


def _empty_index_message(deletes: Sequence[str]) -> str:
    """Why an index with no documents is refused (BM25 and the answerer need at least one)."""
    if deletes:
        return (
            f"deleting {', '.join(map(repr, deletes))} would leave the index with no documents; "
            "add another document first"
        )
    return "there are no documents to index; give at least one .txt, .md or .html article"


def same_params(manifest: Manifest, params: ChunkParams) -> bool:
    """True when the index was chunked with these parameters (its chunks can be reused)."""
    return (manifest.chunk_tokens, manifest.chunk_overlap) == (params.tokens, params.overlap)


def embedding_text(document: Document, chunk: Chunk) -> str:
    """Text given to the embedder and BM25: the chunk, headed by its title and by the caption of
    each table whose rows it holds, so a row is found by the words of its table's caption too."""
    heads = [] if chunk.text.startswith(document.title) else [document.title]
    heads += [
        table.caption
        for table in document.tables
        if table.caption
        and chunk.start < table.end
        and table.start < chunk.end
        and table.caption not in chunk.text
    ]
    return "\n".join([*heads, chunk.text])


def check_compatible(manifest: Manifest, model: str, dim: int | None = None) -> None:
    """Raise IndexMismatchError when the index was built with another model or dimension."""
    if manifest.model != model or (dim is not None and manifest.dim != dim):
        raise IndexMismatchError(
            f"index was built with {manifest.model} ({manifest.dim} dims) but the configured "
            f"model is {model}{f' ({dim} dims)' if dim else ''}; {REBUILD_HINT}"
        )


def build_report(
    plan: WritePlan, chunks: int, embedded_chunks: int, started: float, version: str, tokens: int = 0
) -> BuildReport:
    """What a write did (any store): what was embedded, what was reused, what went."""
    documents, embedded_documents = len(plan.targets), len(plan.embed)
    return BuildReport(
        documents=documents,
        chunks=chunks,
        embedded_documents=embedded_documents,
        embedded_chunks=embedded_chunks,
        reused_documents=documents - embedded_documents,
        reused_chunks=chunks - embedded_chunks,
        removed=plan.removed,
        seconds=time.perf_counter() - started,
        version=version,
        written=plan.writes,
        tokens=tokens,
    )
