"""Writing a FAISS index: chunk and embed what changed, reuse the rest, swap in atomically."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.chunk import chunk_document
from index.embed import Embedder
from index.errors import IndexMissingError
from index.lock import IndexLock
from index.stores.contract import (
    BuildReport,
    ChunkParams,
    Manifest,
    Progress,
    WritePlan,
    WriteRequest,
    build_report,
    embedding_text,
    plan_write,
    same_params,
)
from index.stores.faiss.bm25 import LexicalIndex
from index.stores.faiss.store import IndexStore, load_store, remove_leftovers
from index.stores.faiss.vectors import DenseIndex
from index.tokenize import TOKENIZER
from index.types import Chunk, Document


@dataclass(frozen=True)
class Assembled:
    """The chunks and vectors of every target document, in row order, and what embedding cost."""

    chunks: list[Chunk]
    vectors: np.ndarray
    embedded_chunks: int
    tokens: int
    max_model_tokens: int


def update_index(
    index_dir: Path, embedder: Embedder, request: WriteRequest
) -> tuple[IndexStore, BuildReport]:
    """Bring the index in line with the request: `files` (all file documents), uploads, deletions.

    Documents whose content hash and chunk parameters are unchanged keep their vectors;
    only new or changed documents are embedded. Nothing is written when nothing changed.
    """
    started = time.perf_counter()
    with IndexLock(index_dir, timeout=request.lock_timeout, on_wait=request.on_wait):
        remove_leftovers(index_dir)
        previous = None if request.rebuild else _load_previous(index_dir, embedder)
        old_docs = dict(previous.documents) if previous else _salvage_uploads(index_dir, request.rebuild)
        reusable = previous if previous and same_params(previous.manifest, request.params) else None
        plan = plan_write(old_docs, request, reusable=reusable is not None)
        assembled = _assemble(plan, reusable, embedder, request)
        store = previous
        if plan.writes or store is None:
            store = _make_store(plan.targets, assembled, embedder, request.params, previous)
            store.save(index_dir)
    n_chunks = len(assembled.chunks)
    return store, build_report(
        plan, n_chunks, assembled.embedded_chunks, started, store.version, assembled.tokens
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


def _assemble(
    plan: WritePlan, previous: IndexStore | None, embedder: Embedder, request: WriteRequest
) -> Assembled:
    """Chunks and vectors of every target document, embedding only what the plan says."""
    params = request.params
    chunks: list[Chunk] = []
    rows: list[np.ndarray | None] = []
    to_embed: list[int] = []
    for doc_id in plan.targets:
        if previous is not None and doc_id not in plan.embed:
            for row in previous.chunks_of(doc_id):
                chunks.append(previous.chunks[row])
                rows.append(np.asarray(previous.vectors[row]))
            continue
        for chunk in chunk_document(plan.targets[doc_id], params.tokens, params.overlap):
            to_embed.append(len(chunks))
            chunks.append(chunk)
            rows.append(None)
    texts = [embedding_text(plan.targets[chunks[i].doc_id], chunks[i]) for i in to_embed]
    max_model_tokens = max((embedder.count_model_tokens(t) for t in texts), default=0)
    fresh = embedder.embed_many(
        texts, batch_size=request.batch_size, on_batch=_advance(request.progress, len(texts))
    )
    for position, row in enumerate(to_embed):
        rows[row] = fresh[position]
    filled = [vector for vector in rows if vector is not None]  # every row is filled by now
    vectors = np.vstack(filled).astype(np.float32) if filled else np.zeros((0, embedder.dim), np.float32)
    tokens = sum(c.n_tokens for c in chunks)
    return Assembled(chunks, vectors, len(to_embed), tokens, max_model_tokens)


def _advance(progress: Progress | None, total: int) -> Callable[[int], None]:
    """The embedder's per-batch callback: counts the chunks embedded and reports them to `progress`."""
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    return advance


def _make_store(
    targets: dict[str, Document],
    assembled: Assembled,
    embedder: Embedder,
    params: ChunkParams,
    previous: IndexStore | None,
) -> IndexStore:
    chunks = assembled.chunks
    texts = [embedding_text(targets[c.doc_id], c) for c in chunks]
    max_tokens = assembled.max_model_tokens
    if previous and assembled.embedded_chunks < len(chunks):
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
    dense = DenseIndex.build(assembled.vectors, embedder.dim)
    manifest = replace(manifest, dense_kind=dense.kind)
    return IndexStore(manifest, targets, chunks, assembled.vectors, dense, LexicalIndex.build(texts))
