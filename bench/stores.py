"""FAISS beside Milvus (milvus-lite) on the same chunks, and Ray embedding beside plain encoding.

    rag bench --store milvus [--chunks 100000]

Both stores get the same synthetic chunks (editions of the bundled corpus with jittered
vectors, bench/data.py), so nothing is embedded for the store part: indexing figures are the
stores' own work (FAISS + bm25s build; Milvus inserts with its BM25 Function, then flush and
index). Queries are real numeric questions of the corpus, embedded once beforehand; latency is
the retriever's hybrid search (dense + BM25 fused: our fusion on FAISS and on milvus-lite 2.5,
Milvus's hybrid_search and ranker on a server), then each list alone. Memory is the resident-set
growth of this process and its children: milvus-lite 2.5 runs its engine in a child process.
"""

from __future__ import annotations

import contextlib
import gc
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from bench.data import bundled_corpus, numeric_questions, synthetic_store
from bench.query import percentiles
from bench.stages import failed_stages, failure, run_stage
from index.embed import Embedder, load_embedder
from index.stores import StoreLocation
from index.stores.contract import ChunkParams, WriteRequest, embedding_text
from index.stores.faiss.build import update_index
from index.stores.faiss.store import IndexStore
from rag.retrieve import Retriever

if TYPE_CHECKING:
    from index.stores.milvus.client import MilvusLocation

Say = Callable[[str], None]
INSERT_BATCH = 2000
QUESTIONS = 200
MODES = ("hybrid", "dense", "bm25")
STAGES = ("faiss", "milvus", "ray")


def compare_stores(
    n_chunks: int, model: str, say: Say = lambda _: None, ray_texts: int = 300, work: Path | None = None
) -> dict:
    """Indexing, memory and query latency of FAISS and milvus-lite at n_chunks; Ray throughput.

    Each of the three stages fails on its own (bench/stages.py): its entry is then {"failed": message}.
    """
    embedder = load_embedder(model)
    with tempfile.TemporaryDirectory(prefix="rag-bench-stores-", dir=work) as folder:
        base, questions = _base_store(Path(folder), embedder)
        vectors = {q: v for q, v in zip(questions, embedder.embed_many(questions), strict=True)}
        results: dict = {"chunks": n_chunks, "questions": len(questions)}
        say(f"FAISS + bm25s: {n_chunks:,} chunks")
        results["faiss"] = run_stage("faiss", partial(_faiss, base, n_chunks, embedder, vectors), say)
        gc.collect()
        say(f"milvus-lite: inserting {n_chunks:,} chunks (its BM25 Function tokenises each)")
        milvus = partial(_milvus_stage, base, n_chunks, embedder, vectors, Path(folder), say)
        results["milvus"] = run_stage("milvus", milvus, say)
    results["ray"] = run_stage("ray", partial(_ray, model, ray_texts, say), say)
    return results


def failed(results: dict) -> dict[str, str]:
    """The stages of a compare_stores run that failed, each with its one-line message (a Ray row's too)."""
    failures = failed_stages(results, STAGES)
    ray = results.get("ray")
    rows = [failure(row) for row in ray if failure(row)] if isinstance(ray, list) else []
    if rows:
        failures["ray"] = rows[0]
    return failures


def _base_store(folder: Path, embedder: Embedder) -> tuple[IndexStore, list[str]]:
    corpus = bundled_corpus()
    store, _ = update_index(
        folder / "base", embedder, WriteRequest(files=list(corpus.documents), params=ChunkParams())
    )
    return store, numeric_questions(corpus, QUESTIONS)


def _faiss(base: IndexStore, n_chunks: int, embedder: Embedder, vectors: dict) -> dict:
    before = _rss_mb()
    built = synthetic_store(base, n_chunks)
    figures = {
        "index_s": round(built.dense_build_s + built.lexical_build_s, 2),
        "chunks_per_s": round(n_chunks / (built.dense_build_s + built.lexical_build_s), 1),
        "memory_mb": round(_rss_mb() - before),
        "dense_kind": built.store.dense.kind,
    }
    figures["latency_ms"] = _latency(built.store, embedder, vectors)
    return figures


def _milvus_stage(
    base: IndexStore, n_chunks: int, embedder: Embedder, vectors: dict, folder: Path, say: Say
) -> dict:
    """The milvus-lite figures; the engine is released whether they were measured or not."""
    from index.stores.milvus.client import MilvusLocation, disconnect

    location = MilvusLocation.of(StoreLocation("milvus", folder, str(folder / "bench.db")))
    try:
        return _milvus(base, n_chunks, embedder, vectors, location, say)
    finally:
        disconnect(location)


def _milvus(
    base: IndexStore, n_chunks: int, embedder: Embedder, vectors: dict, location: MilvusLocation, say: Say
) -> dict:
    from index.stores.milvus.client import State, connect, load
    from index.stores.milvus.rows import chunk_row, create_collection, dense_index, document_rows
    from index.stores.milvus.store import MilvusStore
    from index.stores.milvus.write import save_state

    built = synthetic_store(base, n_chunks).store  # the same rows FAISS got
    before = _rss_mb()
    client = connect(location)
    started = time.perf_counter()
    create_collection(client, location, embedder.dim)
    records = [r for d in built.documents.values() for r in document_rows(d, 1)]
    rows = []
    for number, chunk in enumerate(built.chunks):
        document = built.documents[chunk.doc_id]
        rows.append(chunk_row(document, chunk, embedding_text(document, chunk), built.vectors[number], 1))
    del built
    for name, batch in ((location.records, records), (location.collection, rows)):
        for first in range(0, len(batch), INSERT_BATCH):
            client.insert(name, batch[first : first + INSERT_BATCH])
            if first // INSERT_BATCH % 10 == 0:
                say(f"  {name}: {min(first + INSERT_BATCH, len(batch)):,} of {len(batch):,} rows")
        client.flush(name)
    load(client, location)
    index_s = time.perf_counter() - started
    state = State(base.manifest.model, embedder.dim, "", 192, 32, committed=1, n_chunks=n_chunks)
    state = save_state(client, location, state)
    store = MilvusStore(client, location, state)
    figures = {
        "index_s": round(index_s, 2),
        "chunks_per_s": round(n_chunks / index_s, 1),
        "memory_mb": round(_rss_mb() - before),
        "disk_mb": round(_disk_bytes(Path(location.uri)) / 2**20),
        "lite_version": _lite_version(),
        "dense_index": dense_index(location)["index_type"],
    }
    del rows, records
    figures["latency_ms"] = _latency(store, embedder, vectors)
    return figures


def _disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _latency(store: object, embedder: Embedder, vectors: dict) -> dict:
    """p50/p95 of a search per retrieval mode, the query vectors taken from the cache."""
    latency = {}
    for mode in MODES:
        retriever = Retriever(store, embedder, mode=mode)  # type: ignore[arg-type]  # store is an IndexStore or a MilvusStore; mode is one of MODES
        retriever.query_cache.put_many(list(vectors.items()))
        retriever.search(next(iter(vectors)), k=5)  # warm
        samples = []
        for question in vectors:
            started = time.perf_counter()
            retriever.search(question, k=5)
            samples.append((time.perf_counter() - started) * 1000)
        latency[mode] = {k: round(v, 2) for k, v in percentiles(samples).items()}
    return latency


def _ray(model: str, count: int, say: Say) -> list[dict] | str:
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install 'numrag[scale]')"
    from bench.ray_throughput import corpus_chunk_texts, ray_throughput

    say(f"Ray Data: {count} texts in process, then on a local Ray with 1 and 2 workers")
    return ray_throughput(model, corpus_chunk_texts(count), workers=(1, 2), say=say)


def _rss_mb() -> float:
    """Resident memory of this process and its children (milvus-lite 2.5's engine is one)."""
    gc.collect()
    process = psutil.Process()
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # it may end meanwhile
            total += child.memory_info().rss
    return total / 2**20


def _lite_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("milvus-lite")
    except metadata.PackageNotFoundError:
        return "not installed"


def render_markdown(results: dict, command: str) -> str:
    """The stores section of docs/benchmarks.md; a failed stage shows its one-line error in its place."""
    lines = [
        f"Command: `{command}`. {results['chunks']:,} synthetic chunks (bench/stores.py), "
        f"{results['questions']} numeric questions of the corpus, query vectors embedded beforehand.",
        "",
        "| store | index s | chunks/s | memory MB | hybrid p50 / p95 ms | dense p50 ms | BM25 p50 ms |",
        "|---|---|---|---|---|---|---|",
        _store_row(results, "faiss"),
        _store_row(results, "milvus"),
        "",
        _target_note(summary(results)),
        "",
        "Ray Data embedding (the same texts, 2 CPU cores):",
        "",
        *_ray_lines(results["ray"]),
    ]
    return "\n".join(lines) + "\n"


def _store_row(results: dict, name: str) -> str:
    row = results[name]
    if name == "faiss":
        label = "FAISS + bm25s" + ("" if failure(row) else f" ({row['dense_kind']})")
    else:
        label = "milvus-lite" + ("" if failure(row) else f" {row['lite_version']} ({row['dense_index']})")
    if failure(row):
        return f"| {label} | failed: {failure(row)} | - | - | - | - | - |"
    latency = row["latency_ms"]
    return (
        f"| {label} | {row['index_s']} | {row['chunks_per_s']:,} | {row['memory_mb']:,} | "
        f"{latency['hybrid']['p50']} / {latency['hybrid']['p95']} | {latency['dense']['p50']} | "
        f"{latency['bm25']['p50']} |"
    )


def _target_note(headline: dict) -> str:
    measured = headline["milvus_hybrid_p50_ms"]
    verdict = "met" if headline["milvus_hybrid_p50_met"] else "NOT met"
    outcome = "not measured (the milvus stage failed)" if measured is None else f"{measured} ms, {verdict}"
    return (
        f"Target: milvus-lite hybrid p50 ≤ {headline['milvus_hybrid_p50_target_ms']} ms at 100,000 chunks: "
        f"{outcome}. milvus-lite 2.5 runs Milvus's compiled "
        "engine (segcore, knowhere, tantivy) in a child process over a Unix socket; its local mode builds "
        "no HNSW, so the vectors are searched exactly (FLAT, recall 1), and the retriever fuses the dense "
        "and BM25 lists itself because that release's WeightedRanker inverts BM25 scores (docs/scale.md). "
        "milvus-lite 3.x, a pure-Python rewrite, measured 2,163 ms here at 100,000 chunks: it walks every "
        "primary key of every segment in Python on each search. FAISS memory is the HNSW graph, "
        "vectors and bm25s arrays; milvus-lite's is its engine process's segments and indexes."
    )


def _ray_lines(ray: list[dict] | dict | str) -> list[str]:
    if isinstance(ray, str):
        return [ray]
    if isinstance(ray, dict):
        return [f"failed: {failure(ray)}"]
    lines = ["| mode | workers | texts | texts/s | ray.init s |", "|---|---|---|---|---|"]
    for row in ray:
        if failure(row):
            lines.append(f"| {row['mode']} | {row['workers']} | failed: {failure(row)} | - | - |")
            continue
        cells = (row["mode"], row["workers"] or "-", row["texts"], row["texts_per_s"], row.get("init_s", "-"))
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return [
        *lines,
        "",
        "Each Ray row includes starting a pool of actors that each load the model (Ray Data starts the "
        "pool per dataset) and Ray's scheduling; the in-process encoder already uses both cores. Ray "
        "pays only when it adds machines.",
    ]


def summary(results: dict) -> dict:
    """Flat headline figures, with the issue's target for milvus-lite's hybrid p50 (None: not measured)."""
    faiss, milvus = results["faiss"], results["milvus"]
    milvus_p50 = _figure(milvus, "latency_ms", "hybrid", "p50")
    headline = {
        "chunks": results["chunks"],
        "faiss_hybrid_p50_ms": _figure(faiss, "latency_ms", "hybrid", "p50"),
        "milvus_hybrid_p50_ms": milvus_p50,
        "milvus_hybrid_p50_target_ms": 50,
        "milvus_hybrid_p50_met": None if milvus_p50 is None else milvus_p50 <= 50,
        "faiss_chunks_per_s": _figure(faiss, "chunks_per_s"),
        "milvus_chunks_per_s": _figure(milvus, "chunks_per_s"),
        "faiss_memory_mb": _figure(faiss, "memory_mb"),
        "milvus_memory_mb": _figure(milvus, "memory_mb"),
    }
    if failures := failed(results):
        headline["failed"] = failures
    return headline


def _figure(figures: dict, *keys: str) -> float | None:
    """figures[k1][k2]...; None when the stage failed."""
    if failure(figures):
        return None
    value = figures
    for key in keys:
        value = value[key]
    return value
