"""Data for `rag bench`: the bundled corpus, the SQuAD v1.1 dev set, and synthetic stores of any size.

A synthetic store repeats a real store's documents as "editions": edition 0 is the original,
each later one has its digits permuted (so its figures differ but every offset stays the same)
and its vectors jittered (cosine about 0.9 to the original), which gives the dense index a
cluster per real chunk. Texts are real sentences, so the answerer has real work to do.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.ingest import discover_files, load_documents
from index.paths import bundled_corpus_dir, checkout_datasets_dir
from index.stores.contract import embedding_text
from index.stores.faiss.bm25 import LexicalIndex
from index.stores.faiss.store import IndexStore
from index.stores.faiss.vectors import DenseIndex, DenseKind
from index.types import Chunk, Document

SQUAD_FILE = Path("squad-v1.1") / "dev-v1.1.json"  # under the datasets folder
JITTER = 0.5  # noise norm relative to a unit vector: cosine to the original of about 0.89


@dataclass(frozen=True)
class Corpus:
    """Documents to index and questions to ask about them."""

    name: str
    documents: list[Document]
    questions: list[str]


@dataclass(frozen=True)
class SyntheticStore:
    """A store built in memory, with the seconds its dense and BM25 parts took to build."""

    store: IndexStore
    dense_build_s: float
    lexical_build_s: float


def bundled_corpus() -> Corpus:
    """The five bundled articles and the questions of the bundled eval set."""
    from eval.questions import BUNDLED_QUESTIONS
    from qadata.questions import load_eval_set

    documents, _ = load_documents(discover_files([bundled_corpus_dir()]))
    questions = [item.question for item in load_eval_set(BUNDLED_QUESTIONS)]
    return Corpus("corpus", documents, questions)


def default_squad(datasets: Path | None = None) -> Path | None:
    """The SQuAD v1.1 dev file in the datasets folder given, else beside a source checkout (or None)."""
    folder = datasets or checkout_datasets_dir()
    return None if folder is None else folder / SQUAD_FILE


def squad_corpus(path: Path, articles: int | None = None) -> Corpus:
    """SQuAD v1.1 dev articles (one document each) and their numeric questions."""
    from qadata.external import load_external

    loaded = load_external("squad", path)
    documents = list(loaded.documents[:articles] if articles else loaded.documents)
    kept = {document.doc_id for document in documents}
    by_document: dict[str, list[str]] = {}
    for item in loaded.items:
        if set(item.sources) <= kept:
            by_document.setdefault(item.sources[0], []).append(item.question)
    return Corpus("squad", documents, _round_robin(list(by_document.values())))


def _round_robin(groups: list[list[str]]) -> list[str]:
    """The first item of each group, then the second of each, …: a prefix samples every group."""
    longest = max((len(group) for group in groups), default=0)
    return [group[i] for i in range(longest) for group in groups if i < len(group)]


def synthetic_store(
    base: IndexStore, n_chunks: int, seed: int = 0, kind: DenseKind | None = None
) -> SyntheticStore:
    """A store of exactly n_chunks made of editions of base's documents (see the module docstring)."""
    rng = np.random.default_rng(seed)
    documents, chunks, rows = _editions(base, n_chunks, rng)
    vectors = _jittered(np.asarray(base.vectors)[rows], first_edition=len(base.chunks), rng=rng)
    started = time.perf_counter()
    dense = DenseIndex.build(vectors, base.manifest.dim, kind=kind)
    dense_s = time.perf_counter() - started
    started = time.perf_counter()
    lexical = LexicalIndex.build([embedding_text(documents[c.doc_id], c) for c in chunks])
    lexical_s = time.perf_counter() - started
    manifest = replace(
        base.manifest,
        documents={doc_id: d.content_hash for doc_id, d in documents.items()},
        n_chunks=len(chunks),
        dense_kind=dense.kind,
    )
    store = IndexStore(manifest, documents, chunks, vectors, dense, lexical)
    return SyntheticStore(store, dense_s, lexical_s)


def _editions(
    base: IndexStore, n_chunks: int, rng: np.random.Generator
) -> tuple[dict[str, Document], list[Chunk], list[int]]:
    """Documents, chunks and base row numbers of editions 0, 1, … until n_chunks chunks."""
    if not base.chunks:
        raise ValueError("a synthetic store needs a base store with at least one chunk")
    rows_of: dict[str, list[int]] = {}
    for row, chunk in enumerate(base.chunks):
        rows_of.setdefault(chunk.doc_id, []).append(row)
    documents: dict[str, Document] = {}
    chunks: list[Chunk] = []
    rows: list[int] = []
    edition = 0
    while len(chunks) < n_chunks:
        table = str.maketrans("0123456789", "".join(map(str, rng.permutation(10)))) if edition else {}
        for doc_id, doc_rows in rows_of.items():
            document = _edition_of(base.documents[doc_id], edition, table)
            documents[document.doc_id] = document
            for row in doc_rows[: n_chunks - len(chunks)]:
                chunks.append(_chunk_of(base.chunks[row], document))
                rows.append(row)
            if len(chunks) >= n_chunks:
                break
        edition += 1
    return documents, chunks, rows


def _edition_of(document: Document, edition: int, table: dict[int, str]) -> Document:
    if edition == 0:
        return document
    text = document.text.translate(table)
    return replace(
        document,
        doc_id=f"e{edition}-{document.doc_id}",
        text=text,
        title=f"{document.title} (edition {edition})",
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _chunk_of(chunk: Chunk, document: Document) -> Chunk:
    ordinal = chunk.chunk_id.rsplit("#", 1)[-1]
    return replace(
        chunk,
        doc_id=document.doc_id,
        chunk_id=f"{document.doc_id}#{ordinal}",
        text=document.text[chunk.start : chunk.end],
    )


def _jittered(vectors: np.ndarray, first_edition: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors with Gaussian noise added to every row from first_edition on."""
    noisy = np.array(vectors, dtype=np.float32)
    extra = len(noisy) - first_edition
    if extra > 0:
        noise = rng.standard_normal((extra, noisy.shape[1]), dtype=np.float32)
        noisy[first_edition:] += JITTER * noise / np.sqrt(noisy.shape[1])
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return noisy


def folder_bytes(folder: Path) -> int:
    """Total size of the files under folder."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def numeric_questions(corpus: Corpus, limit: int) -> list[str]:
    """Up to limit distinct questions of the corpus, in a fixed order."""
    return list(dict.fromkeys(corpus.questions))[:limit]
