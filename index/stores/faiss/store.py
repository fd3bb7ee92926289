"""The persisted index: FAISS vectors, BM25, chunk and document records, and a manifest.

Layout of an index directory (RAG_INDEX_DIR):

    CURRENT                 name of the live version folder, replaced atomically
    .lock                   held by whichever process is writing
    v-<time>-<id>/          one complete, immutable version
        manifest.json       model, dimension, tokenizer, chunk parameters, hashes, format version
        documents.jsonl     one Document per line (cleaned text included)
        chunks.jsonl        one Chunk per line, in vector order
        vectors.npy         float32 unit vectors, row i belongs to chunk i
        dense.faiss         FAISS index over the same rows
        bm25/               bm25s files over the same rows
    tmp-<id>/               a version being written; leftovers of a killed build are removed

Writers build a new version in tmp-<id>/, rename it to v-…/ and then replace CURRENT, so a
reader sees the old version or the new one, never a mix, and a crash leaves the old one whole.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from index.errors import (
    REBUILD_HINT,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
)
from index.lexical import lexical_tokens
from index.stores.contract import (
    FORMAT_VERSION,
    Filters,
    Fusion,
    Manifest,
    RowKey,
    Rows,
    Scope,
    Scores,
    Vector,
    check_compatible,
)
from index.stores.faiss.bm25 import LexicalIndex
from index.stores.faiss.vectors import DenseIndex
from index.types import Chunk, Document, document_from_record

KEEP_VERSIONS = 2  # the live one and the one before, for readers still loading it
_TYPES = {"str": str, "int": int, "bool": bool, "dict[str, str]": dict}  # every annotation of Manifest
Record = TypeVar("Record", Document, Chunk)


@dataclass
class IndexStore:
    """One loaded version of the index; treat as immutable once built."""

    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: DenseIndex
    lexical: LexicalIndex
    version: str = ""

    fuses = False  # the retriever fuses the dense and BM25 lists itself

    def chunks_of(self, doc_id: str) -> list[int]:
        """Row numbers of a document's chunks."""
        return [i for i, c in enumerate(self.chunks) if c.doc_id == doc_id]

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def newer_generation(self) -> bool:
        """Always False: a FAISS folder is reloaded by restarting the process that serves it."""
        return False

    def chunk_counts(self) -> Counter[str]:
        """Chunks per document."""
        return Counter(chunk.doc_id for chunk in self.chunks)

    def chunk(self, key: RowKey) -> Chunk:
        """The chunk of a row a search returned."""
        return self.chunks[_row(key)]

    def scope(self, filters: Filters | None) -> Rows | None:
        """Rows of the documents rag.types.Filters admits (None when it admits everything)."""
        if filters is None or not filters.active:
            return None
        admitted = {d for d, doc in self.documents.items() if filters.admits(doc)}
        return np.asarray([i for i, c in enumerate(self.chunks) if c.doc_id in admitted], dtype=np.int64)

    def prefetch(self, keys: Sequence[RowKey]) -> None:
        """Nothing to do: chunks and documents are in memory."""

    @staticmethod
    def scope_is_empty(scope: Scope) -> bool:
        """True when the scope admits no row."""
        return scope is not None and len(scope) == 0

    def dense_search(self, vector: Vector, depth: int, scope: Scope) -> Scores:
        """Inner-product (cosine) scores of the `depth` nearest rows."""
        scores, rows = self.dense.search(vector, depth, _rows(scope))
        return {int(r): float(s) for r, s in zip(rows, scores, strict=True)}

    def lexical_search(self, query: str, depth: int, scope: Scope) -> Scores:
        """BM25 scores of the `depth` best rows that share a word with the query."""
        scores = self.lexical.scores(query)
        admitted = _rows(scope)
        if admitted is not None:
            masked = np.full_like(scores, -np.inf)
            masked[admitted] = scores[admitted]
            scores = masked
        depth = min(depth, len(scores))
        top = np.argpartition(-scores, depth - 1)[:depth] if depth else np.zeros(0, dtype=np.int64)
        return {int(r): float(scores[r]) for r in top if scores[r] > 0}

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
        """Not offered: `fuses` is False, so the retriever fuses the dense and BM25 lists itself."""
        raise NotImplementedError("the FAISS store leaves fusion to the retriever (its `fuses` is False)")

    def knows(self, word: str) -> bool:
        """True when the word (stemmed as BM25 stems it) occurs in an indexed chunk."""
        return all(self.lexical.knows(t) for t in lexical_tokens(word))

    def idf(self, word: str) -> float:
        """BM25's inverse document frequency of the word's stem."""
        stems = lexical_tokens(word)
        return self.lexical.idf(stems[0]) if stems else 0.0

    def save(self, index_dir: Path) -> str:
        """Write this store as a new version and make it the live one; returns its name."""
        index_dir.mkdir(parents=True, exist_ok=True)
        tmp = index_dir / f"tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            self._write_files(tmp)
            # names sort by creation time, to the microsecond
            version = f"v-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:6]}"
            os.rename(tmp, index_dir / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync(index_dir)
        _write_atomic(index_dir / "CURRENT", version + "\n")
        self.version = version
        remove_stale_versions(index_dir)
        return version

    def _write_files(self, folder: Path) -> None:
        with open(folder / "documents.jsonl", "w", encoding="utf-8") as out:
            for document in self.documents.values():
                out.write(json.dumps(asdict(document), ensure_ascii=False) + "\n")
        with open(folder / "chunks.jsonl", "w", encoding="utf-8") as out:
            for chunk in self.chunks:
                out.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        np.save(folder / "vectors.npy", self.vectors)
        self.dense.save(folder / "dense.faiss")
        self.lexical.save(folder / "bm25")
        # the manifest goes last: a version folder without one is incomplete
        (folder / "manifest.json").write_text(json.dumps(asdict(self.manifest), indent=2) + "\n")
        for path in folder.iterdir():
            if path.is_file():
                _fsync(path)


def current_version(index_dir: Path) -> Path:
    """Folder of the live version, or IndexMissingError saying how to build one."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexMissingError(f"no index at {index_dir}; build one with `rag index` (or `make index`)")
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
        raise IndexCorruptError(f"{pointer} cannot be read ({exc}); {REBUILD_HINT}") from exc
    folder = index_dir / name
    if not name.startswith("v-") or "/" in name or not folder.is_dir():
        raise IndexCorruptError(f"{pointer} names {name!r}, which is not an index version; {REBUILD_HINT}")
    return folder


def read_manifest(folder: Path) -> Manifest:
    """Parse and check a version's manifest."""
    try:
        raw = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{folder} has no manifest.json; {REBUILD_HINT}") from exc
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"manifest in {folder} cannot be read: {exc}; {REBUILD_HINT}") from exc
    if not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION:
        found = raw.get("format_version") if isinstance(raw, dict) else None
        raise IndexMismatchError(
            f"index at {folder.parent} has format version {found!r}, but this program reads "
            f"version {FORMAT_VERSION}; {REBUILD_HINT}"
        )
    try:
        manifest = Manifest(**raw)
    except TypeError as exc:
        raise IndexCorruptError(f"manifest in {folder} is malformed: {exc}; {REBUILD_HINT}") from exc
    wrong = [
        f.name
        for f in fields(Manifest)
        if not isinstance(getattr(manifest, f.name), _TYPES.get(str(f.type), object))
    ]
    if wrong:
        raise IndexCorruptError(f"manifest in {folder} has values of the wrong type: {wrong}; {REBUILD_HINT}")
    return manifest


def load_store(index_dir: Path, model: str | None = None, dim: int | None = None) -> IndexStore:
    """Load the live version, checking it against the configured model and its own files."""
    folder = current_version(index_dir)
    manifest = read_manifest(folder)
    if model is not None:
        check_compatible(manifest, model, dim)
    documents = {d.doc_id: d for d in _read_jsonl(folder / "documents.jsonl", document_from_record)}
    chunks = _read_jsonl(folder / "chunks.jsonl", _chunk_from_record)
    vectors = _read_vectors(folder / "vectors.npy")
    dense = DenseIndex.load(folder / "dense.faiss")
    # the row counts first: BM25 over a damaged chunk list would fail without saying why
    _check_consistent(manifest, documents, chunks, vectors, dense, folder)
    lexical = _read_lexical(folder / "bm25", len(chunks))
    return IndexStore(manifest, documents, chunks, vectors, dense, lexical, version=folder.name)


def _read_jsonl(path: Path, build: Callable[[dict[str, Any]], Record]) -> list[Record]:
    try:
        with open(path, encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines if line.strip()]
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{path.name} is missing from {path.parent}; {REBUILD_HINT}") from exc
    except ValueError as exc:
        raise IndexCorruptError(f"{path} is damaged ({exc}); {REBUILD_HINT}") from exc
    try:
        return [build(record) for record in records]
    except (ValueError, TypeError, AttributeError) as exc:  # AttributeError: a record that is no object
        raise IndexCorruptError(f"{path} is damaged ({exc}); {REBUILD_HINT}") from exc


def _chunk_from_record(record: dict[str, Any]) -> Chunk:
    return Chunk(**record)


def _read_vectors(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r")
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{path.name} is missing from {path.parent}; {REBUILD_HINT}") from exc
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
        raise IndexCorruptError(f"{path} is damaged ({exc}); {REBUILD_HINT}") from exc


def _read_lexical(folder: Path, size: int) -> LexicalIndex:
    try:
        return LexicalIndex.load(folder, size)
    except IndexCorruptError as exc:  # its message says what is wrong, not how to recover
        raise IndexCorruptError(f"{exc}; {REBUILD_HINT}") from exc


def _check_consistent(
    manifest: Manifest,
    documents: dict[str, Document],
    chunks: list[Chunk],
    vectors: np.ndarray,
    dense: DenseIndex,
    folder: Path,
) -> None:
    """Every part must describe the same rows and documents as the manifest."""
    sizes = {
        "manifest": manifest.n_chunks,
        "chunks.jsonl": len(chunks),
        "vectors.npy": vectors.shape[0] if vectors.ndim else 0,
        "dense.faiss": dense.size,
    }
    if len(set(sizes.values())) != 1:
        raise IndexCorruptError(f"index parts in {folder} disagree on row counts {sizes}; {REBUILD_HINT}")
    if not chunks:  # the writer never saves an empty index
        raise IndexCorruptError(f"the index in {folder} holds no chunks; {REBUILD_HINT}")
    if vectors.ndim != 2 or vectors.shape[1] != manifest.dim or dense.dim != manifest.dim:
        raise IndexCorruptError(f"vector dimension in {folder} is not {manifest.dim}; {REBUILD_HINT}")
    if set(documents) != set(manifest.documents) or any(c.doc_id not in documents for c in chunks):
        raise IndexCorruptError(f"documents.jsonl in {folder} disagrees with the manifest; {REBUILD_HINT}")


def remove_stale_versions(index_dir: Path) -> None:
    """Delete versions older than the last KEEP_VERSIONS (never the live one)."""
    try:
        live = (index_dir / "CURRENT").read_text().strip()
    except OSError:
        return
    versions = sorted(p for p in index_dir.glob("v-*") if p.is_dir() and p.name != live)
    for old in versions[: max(0, len(versions) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(index_dir: Path) -> list[str]:
    """Delete tmp-* folders left by killed writers; call only while holding the write lock."""
    removed = []
    for leftover in index_dir.glob("tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
        removed.append(leftover.name)
    for leftover in index_dir.glob("CURRENT.tmp-*"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover.name)
    return removed


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    """Flush a file or a folder entry to disk, so a rename after it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _row(key: RowKey) -> int:
    """A FAISS row number (the keys this store's searches return)."""
    if isinstance(key, str):
        raise TypeError(f"a FAISS store addresses chunks by row number, not by {key!r}")
    return key


def _rows(scope: Scope) -> Rows | None:
    """The admitted rows of a scope this store made."""
    if isinstance(scope, str):
        raise TypeError(f"a FAISS store scopes searches by rows, not by the filter {scope!r}")
    return scope
