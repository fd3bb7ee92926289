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
from pathlib import Path

import psutil

from bench.data import bundled_corpus, numeric_questions, synthetic_store
from bench.query import percentiles
from index.embed import Embedder, load_embedder
from index.stores import StoreLocation
from index.stores.contract import ChunkParams, WriteRequest, embedding_text
from index.stores.faiss.build import update_index
from index.stores.faiss.store import IndexStore
from rag.retrieve import Retriever

Say = Callable[[str], None]
INSERT_BATCH = 2000
QUESTIONS = 200
MODES = ("hybrid", "dense", "bm25")


def compare_stores(
    n_chunks: int, model: str, say: Say = lambda _: None, ray_texts: int = 300, work: Path | None = None
) -> dict:
    """Indexing, memory and query latency of FAISS and milvus-lite at n_chunks; Ray throughput."""
    embedder = load_embedder(model)
    with tempfile.TemporaryDirectory(prefix="rag-bench-stores-", dir=work) as folder:
        base, questions = _base_store(Path(folder), embedder)
        vectors = {q: v for q, v in zip(questions, embedder.embed_many(questions), strict=True)}
        results = {"chunks": n_chunks, "questions": len(questions)}
        say(f"FAISS + bm25s: {n_chunks:,} chunks")
        results["faiss"] = _faiss(base, n_chunks, embedder, vectors)
        gc.collect()
        say(f"milvus-lite: inserting {n_chunks:,} chunks (its BM25 Function tokenises each)")
        results["milvus"] = _milvus(base, n_chunks, embedder, vectors, Path(folder), say)
    results["ray"] = _ray(model, ray_texts, say)
    return results


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


def _milvus(
    base: IndexStore, n_chunks: int, embedder: Embedder, vectors: dict, folder: Path, say: Say
) -> dict:
    from index.stores.milvus.client import MilvusLocation, State, connect, disconnect, load
    from index.stores.milvus.rows import chunk_row, create_collection, dense_index, document_rows
    from index.stores.milvus.store import MilvusStore
    from index.stores.milvus.write import save_state

    built = synthetic_store(base, n_chunks).store  # the same rows FAISS got
    location = MilvusLocation.of(StoreLocation("milvus", folder, str(folder / "bench.db")))
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
    disconnect(location)
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
    return ray_throughput(model, corpus_chunk_texts(count), workers=(1, 2))


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
    """The stores section of docs/benchmarks.md."""
    lines = [
        f"Command: `{command}`. {results['chunks']:,} synthetic chunks (bench/stores.py), "
        f"{results['questions']} numeric questions of the corpus, query vectors embedded beforehand.",
        "",
        "| store | index s | chunks/s | memory MB | hybrid p50 / p95 ms | dense p50 ms | BM25 p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    milvus = results["milvus"]
    lite = f"milvus-lite {milvus.get('lite_version', '')} ({milvus.get('dense_index', '')})"
    for name, label in (("faiss", f"FAISS + bm25s ({results['faiss']['dense_kind']})"), ("milvus", lite)):
        row = results[name]
        latency = row["latency_ms"]
        lines.append(
            f"| {label} | {row['index_s']} | {row['chunks_per_s']:,} | {row['memory_mb']:,} | "
            f"{latency['hybrid']['p50']} / {latency['hybrid']['p95']} | {latency['dense']['p50']} | "
            f"{latency['bm25']['p50']} |"
        )
    headline = summary(results)
    verdict = "met" if headline["milvus_hybrid_p50_met"] else "NOT met"
    lines += [
        "",
        f"Target: milvus-lite hybrid p50 ≤ {headline['milvus_hybrid_p50_target_ms']} ms at 100,000 chunks: "
        f"{headline['milvus_hybrid_p50_ms']} ms, {verdict}. milvus-lite 2.5 runs Milvus's compiled "
        "engine (segcore, knowhere, tantivy) in a child process over a Unix socket; its local mode builds "
        "no HNSW, so the vectors are searched exactly (FLAT, recall 1), and the retriever fuses the dense "
        "and BM25 lists itself because that release's WeightedRanker inverts BM25 scores (docs/scale.md). "
        "milvus-lite 3.x, a pure-Python rewrite, measured 2,163 ms here at 100,000 chunks: it walks every "
        "primary key of every segment in Python on each search. FAISS memory is the HNSW graph, "
        "vectors and bm25s arrays; milvus-lite's is its engine process's segments and indexes.",
    ]
    ray = results["ray"]
    lines += ["", "Ray Data embedding (the same texts, 2 CPU cores):", ""]
    if isinstance(ray, str):
        lines.append(ray)
    else:
        lines += ["| mode | workers | texts | texts/s | ray.init s |", "|---|---|---|---|---|"]
        for row in ray:
            cells = (
                row["mode"],
                row["workers"] or "-",
                row["texts"],
                row["texts_per_s"],
                row.get("init_s", "-"),
            )
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        lines += [
            "",
            "Each Ray row includes starting a pool of actors that each load the model (Ray Data starts the "
            "pool per dataset) and Ray's scheduling; the in-process encoder already uses both cores. Ray "
            "pays only when it adds machines.",
        ]
    return "\n".join(lines) + "\n"


def summary(results: dict) -> dict:
    """Flat headline figures, with the issue's target for milvus-lite's hybrid p50."""
    milvus = results["milvus"]["latency_ms"]["hybrid"]["p50"]
    return {
        "chunks": results["chunks"],
        "faiss_hybrid_p50_ms": results["faiss"]["latency_ms"]["hybrid"]["p50"],
        "milvus_hybrid_p50_ms": milvus,
        "milvus_hybrid_p50_target_ms": 50,
        "milvus_hybrid_p50_met": milvus <= 50,
        "faiss_chunks_per_s": results["faiss"]["chunks_per_s"],
        "milvus_chunks_per_s": results["milvus"]["chunks_per_s"],
        "faiss_memory_mb": results["faiss"]["memory_mb"],
        "milvus_memory_mb": results["milvus"]["memory_mb"],
    }
