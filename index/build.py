"""The indexing pipeline: chunk and embed what changed, reuse the rest, swap in atomically."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from index.chunk import chunk_document
from index.embed import Embedder
from index.errors import IndexMissingError, InputError, NotFoundError
from index.lexical import LexicalIndex
from index.lock import IndexLock
from index.store import IndexStore, Manifest, load_store, remove_leftovers
from index.tokenize import TOKENIZER
from index.types import Chunk, Document, Skipped
from index.vectors import DenseIndex

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)


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
class ChunkParams:
    tokens: int = 192
    overlap: int = 32


def update_index(
    index_dir: Path,
    embedder: Embedder,
    *,
    files: Sequence[Document] | None = None,
    upserts: Sequence[Document] = (),
    deletes: Sequence[str] = (),
    params: ChunkParams = ChunkParams(),
    rebuild: bool = False,
    batch_size: int = 32,
    progress: Progress | None = None,
    lock_timeout: float = 60.0,
    on_wait: Callable[[str], None] | None = None,
) -> tuple[IndexStore, BuildReport]:
    """Bring the index in line with `files` (all file documents), plus uploads and deletions.

    Documents whose content hash and chunk parameters are unchanged keep their vectors;
    only new or changed documents are embedded. Nothing is written when nothing changed.
    """
    started = time.perf_counter()
    with IndexLock(index_dir, timeout=lock_timeout, on_wait=on_wait):
        remove_leftovers(index_dir)
        previous = None if rebuild else _load_previous(index_dir, embedder)
        old_docs = dict(previous.documents) if previous else _salvage_uploads(index_dir, rebuild)
        targets = _target_documents(old_docs, files, upserts, deletes)
        if not targets:
            raise InputError(_empty_index_message(deletes))
        reusable = previous if previous and same_params(previous.manifest, params) else None
        chunks, vectors, counts = _assemble(targets, reusable, embedder, params, batch_size, progress)
        removed = sorted(set(old_docs) - set(targets))
        changed = rebuild or previous is None or counts["embedded_docs"] > 0 or bool(removed)
        store = previous
        if changed or store is None:
            store = _make_store(targets, chunks, vectors, embedder, params, previous, counts)
            store.save(index_dir)
    report = build_report(
        len(targets),
        len(chunks),
        counts["embedded_docs"],
        counts["embedded_chunks"],
        removed,
        started,
        store.version,
        changed,
        counts["tokens"],
    )
    return store, report


def build_report(
    documents: int,
    chunks: int,
    embedded_documents: int,
    embedded_chunks: int,
    removed: list[str],
    started: float,
    version: str,
    written: bool,
    tokens: int = 0,
) -> BuildReport:
    """What a write did (any store): what was embedded, what was reused, what went."""
    return BuildReport(
        documents=documents,
        chunks=chunks,
        embedded_documents=embedded_documents,
        embedded_chunks=embedded_chunks,
        reused_documents=documents - embedded_documents,
        reused_chunks=chunks - embedded_chunks,
        removed=removed,
        seconds=time.perf_counter() - started,
        version=version,
        written=written,
        tokens=tokens,
    )


def _load_previous(index_dir: Path, embedder: Embedder) -> IndexStore | None:
    try:
        return load_store(index_dir, model=embedder.name, dim=embedder.dim)
    except IndexMissingError:
        return None


def _salvage_uploads(index_dir: Path, rebuild: bool) -> dict[str, Document]:
    """On --rebuild, keep documents uploaded through the API when their records are readable."""
    if not rebuild:
        return {}
    try:
        old = load_store(index_dir)
    except Exception:  # a corrupt index is what --rebuild is for; uploads there are lost
        return {}
    return {k: d for k, d in old.documents.items() if d.extra.get("origin") == "upload"}


def _target_documents(
    old: dict[str, Document],
    files: Sequence[Document] | None,
    upserts: Sequence[Document],
    deletes: Sequence[str],
) -> dict[str, Document]:
    targets = dict(old)
    if files is not None:
        targets = {k: d for k, d in targets.items() if d.extra.get("origin") == "upload"}
        targets.update({d.doc_id: d for d in files})
    for document in upserts:
        targets[document.doc_id] = document
    for doc_id in deletes:
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
    return (manifest.chunk_tokens, manifest.chunk_overlap) == (params.tokens, params.overlap)


def embedding_text(document: Document, chunk: Chunk) -> str:
    """Text given to the embedder and BM25: the chunk, headed by its title for context."""
    if chunk.text.startswith(document.title):
        return chunk.text
    return f"{document.title}\n{chunk.text}"


def _assemble(
    targets: dict[str, Document],
    previous: IndexStore | None,
    embedder: Embedder,
    params: ChunkParams,
    batch_size: int,
    progress: Progress | None,
) -> tuple[list[Chunk], np.ndarray, dict[str, int]]:
    """Chunks and vectors of every target document, embedding only what changed."""
    chunks: list[Chunk] = []
    rows: list[np.ndarray | None] = []
    to_embed: list[int] = []
    counts = {"embedded_docs": 0, "embedded_chunks": 0, "tokens": 0, "max_model_tokens": 0}
    for doc_id, document in targets.items():
        old = previous.documents.get(doc_id) if previous else None
        if previous and old and old.content_hash == document.content_hash:
            for row in previous.chunks_of(doc_id):
                chunks.append(previous.chunks[row])
                rows.append(np.asarray(previous.vectors[row]))
            continue
        counts["embedded_docs"] += 1
        for chunk in chunk_document(document, params.tokens, params.overlap):
            to_embed.append(len(chunks))
            chunks.append(chunk)
            rows.append(None)
    counts["embedded_chunks"] = len(to_embed)
    counts["tokens"] = sum(c.n_tokens for c in chunks)
    texts = [embedding_text(targets[chunks[i].doc_id], chunks[i]) for i in to_embed]
    counts["max_model_tokens"] = max((embedder.count_model_tokens(t) for t in texts), default=0)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, len(texts))

    fresh = embedder.embed_many(texts, batch_size=batch_size, on_batch=advance)
    for position, row in enumerate(to_embed):
        rows[row] = fresh[position]
    vectors = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, embedder.dim), np.float32)
    return chunks, vectors, counts


def _make_store(
    targets: dict[str, Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    embedder: Embedder,
    params: ChunkParams,
    previous: IndexStore | None,
    counts: dict[str, int],
) -> IndexStore:
    texts = [embedding_text(targets[c.doc_id], c) for c in chunks]
    max_tokens = counts["max_model_tokens"]
    if previous and counts["embedded_chunks"] < len(chunks):
        max_tokens = max(max_tokens, previous.manifest.max_model_tokens)
    manifest = Manifest(
        model=embedder.name,
        dim=embedder.dim,
        tokenizer=TOKENIZER,
        chunk_tokens=params.tokens,
        chunk_overlap=params.overlap,
        documents={k: d.content_hash for k, d in targets.items()},
        n_chunks=len(chunks),
        max_model_tokens=max_tokens,
        model_window=embedder.max_tokens,
    )
    dense = DenseIndex.build(vectors, embedder.dim)
    manifest = replace(manifest, dense_kind=dense.kind)
    return IndexStore(manifest, targets, chunks, vectors, dense, LexicalIndex.build(texts))
