"""`rag bench`: indexing throughput, store scale, query latency, HTTP load and cold start, with a baseline.

`run_bench(config, say)` returns every figure, nested by section, with a flat `summary` of the
headline keys (`query_p50_ms`, `http_p50_ms`, `http_rps`, `index_chunks_per_s`, `cold_start_s`,
`baseline_query_p50_ms`, `baseline_index_chunks_per_s`, …) that `rag bench --json` prints and
docs/benchmarks.md is written from. The baseline (bench/baseline.py) runs in the same
process on the same chunks and vectors. Everything runs on this machine's CPU, in a scratch
folder that is removed afterwards; HTTP traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

from bench.baseline import Baseline, baseline_indexing, time_baseline
from bench.data import bundled_corpus, default_squad, folder_bytes, squad_corpus, synthetic_store
from bench.http_load import (
    ask_all,
    cli_cold_start,
    cpu_seconds,
    load_summary,
    run_load,
    running_server,
    server_rss_mb,
)
from bench.levers import compare_encoders, compare_faiss_threads
from bench.query import TimedEmbedder, dense_latency, percentiles, time_store
from bench.stages import failure, run_stage
from bench.summary import machine_info, summarize_results
from index.embed import Embedder, load_embedder, resolve_model_path
from index.stores.contract import ChunkParams, WriteRequest, embedding_text
from index.stores.faiss.build import update_index
from index.stores.faiss.store import IndexStore, current_version
from index.stores.faiss.vectors import DenseIndex

Say = Callable[[str], None]
T = TypeVar("T")
EF_SEARCH_SWEEP = (32, 64, 128, 256)
MEMORY_QUESTIONS = 50  # asked of the scale-size server before its memory is read


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and durations of one run; `quick()` gives the two-minute version."""

    quick: bool = False
    squad: Path | None = field(default_factory=default_squad)
    squad_articles: int | None = None  # None: all 48
    sizes: tuple[int, int] = (10_000, 100_000)  # synthetic stores: (the headline size, the scale size)
    queries: int = 100  # distinct questions per store, asked cold then warm
    baseline_queries: int = 50
    baseline_index_chunks: int = 256
    scale_queries: int = 200  # query vectors for recall@10 and dense latency
    clients: int = 8
    duration_s: float = 20.0
    http_pool: int = 200  # distinct questions the HTTP clients cycle through
    cold_runs: int = 3
    model: str = "all-MiniLM-L6-v2"
    device: str = "cpu"  # for the indexing runs; "cuda" measures a GPU where there is one

    @classmethod
    def quick_config(cls, **overrides: object) -> BenchConfig:
        """Smaller sizes and shorter runs: about two minutes on 2 cores."""
        quick = cls(
            quick=True,
            squad_articles=2,
            sizes=(10_000, 20_000),
            queries=10,
            baseline_queries=5,
            baseline_index_chunks=16,
            scale_queries=40,
            duration_s=3.0,
            http_pool=16,
            cold_runs=1,
        )
        return replace(quick, **overrides)  # type: ignore[arg-type]  # overrides are BenchConfig fields; replace checks their names


def run_bench(config: BenchConfig, say: Say = lambda _: None, work_dir: Path | None = None) -> dict:
    """Run every section and return the results (see the module docstring)."""
    scratch = work_dir or Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        return _Bench(config, scratch, say).run()
    finally:
        if work_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)


class _Bench:
    """One run's state: the config, the scratch folder, the models and the results so far."""

    def __init__(self, config: BenchConfig, work: Path, say: Say) -> None:
        self.config = config
        self.work = work
        self.say = say
        self.results: dict = {"config": _jsonable(asdict(config)), "machine": machine_info()}
        self.embedder: Embedder | None = None
        self.baseline: Baseline | None = None
        self.corpus_dir = work / "corpus"  # the bundled corpus's index, for the cold-start runs

    def run(self) -> dict:
        started = time.perf_counter()
        self._timed("models", self._load_models, strict=True)  # every later section needs the models
        corpus_store, corpus_questions = self._timed("index_corpus", self._index_corpus) or (None, None)
        base, questions = self._timed("index_squad", self._index_squad) or (None, [])
        base, questions = (base, questions) if base else (corpus_store, corpus_questions)
        self._timed("baseline_indexing", self._baseline_indexing, base)
        self.results["query"] = {}
        corpus_figures = self._timed("query_corpus", self._time_queries, corpus_store, corpus_questions)
        if corpus_figures is not None:
            self.results["query"]["corpus"] = corpus_figures
        synthetic = self._timed("synthetic", self._synthetic_sizes, base, questions)
        headline_dir, scale_dir = synthetic or (None, None)
        self._timed("http", self._http, headline_dir, questions)
        self._timed("memory", self._memory, scale_dir, questions)
        self._timed("cold_start", self._cold_start, corpus_questions[0] if corpus_questions else None)
        self._timed("levers", self._levers, questions)
        self.results["seconds"] = time.perf_counter() - started
        self.results["machine"]["load_average_end"] = list(os.getloadavg())
        self.results["summary"] = summarize_results(self.results)
        return self.results

    def _timed(self, section: str, step: Callable[..., T], *args: object, strict: bool = False) -> T | None:
        """Run one section, adding its wall time to results["section_seconds"].

        A section that raises is recorded in results["failed"] (one line) and gives None, unless
        strict (then it raises); a section whose input an earlier failure left missing (None) is not
        run and is recorded the same way.
        """
        if any(arg is None for arg in args):
            self.results.setdefault("failed", {})[section] = "not run: a section it needs failed"
            return None
        started = time.perf_counter()
        try:
            outcome = step(*args) if strict else run_stage(section, partial(step, *args), self.say)
        finally:
            spent = self.results.setdefault("section_seconds", {})
            spent[section] = round(time.perf_counter() - started, 2)
        if message := failure(outcome):
            self.results.setdefault("failed", {})[section] = message
            return None
        return outcome  # type: ignore[return-value]

    def _load_models(self) -> None:
        self.say("loading the embedder (ONNX Runtime) and the baseline (sentence-transformers)")
        started = time.perf_counter()
        self.embedder = load_embedder(self.config.model, "cpu")
        self.results["model"] = {
            "embedder": type(self.embedder).__name__,
            "load_s": time.perf_counter() - started,
        }
        self.baseline = Baseline(resolve_model_path(self.config.model))
        self.results["model"]["baseline_load_s"] = self.baseline.load_s

    def _indexer(self) -> Embedder:
        if self.config.device == "cpu":
            return self.embedder  # type: ignore[return-value]  # set by _load_models before any step runs
        return load_embedder(self.config.model, self.config.device)

    def _index_corpus(self) -> tuple[IndexStore, list[str]]:
        self.say("indexing the bundled corpus")
        corpus = bundled_corpus()
        store, figures = self._index(corpus.name, corpus.documents)
        self.results.setdefault("indexing", {})["corpus"] = figures
        return store, corpus.questions

    def _index_squad(self) -> tuple[IndexStore | None, list[str]]:
        path = self.config.squad
        if path is None or not path.is_file():
            message = f"SQuAD v1.1 dev set not found at {path}; its indexing run is skipped (--squad PATH)"
            self.say(message)
            self.results.setdefault("indexing", {})["squad"] = {"skipped": message}
            return None, []
        self.say(f"indexing SQuAD v1.1 dev ({self.config.squad_articles or 'all'} articles) from {path}")
        corpus = squad_corpus(path, self.config.squad_articles)
        store, figures = self._index(corpus.name, corpus.documents)
        self.results["indexing"]["squad"] = figures
        return store, corpus.questions

    def _index(self, name: str, documents: list) -> tuple[IndexStore, dict]:
        """Index documents into a fresh folder, then again unchanged; throughput of the first run."""
        timed = TimedEmbedder(self._indexer())
        index_dir = self.work / name
        store, report = update_index(index_dir, timed, WriteRequest(files=documents, params=ChunkParams()))
        _, again = update_index(index_dir, timed, WriteRequest(files=documents, params=ChunkParams()))
        seconds = max(report.seconds, 1e-9)
        figures = {
            "documents": report.documents,
            "chunks": report.chunks,
            "tokens": report.tokens,
            "tokens_per_chunk": report.tokens / max(1, report.chunks),
            "seconds": report.seconds,
            "embed_seconds": timed.spent_ms / 1000,
            "chunks_per_s": report.chunks / seconds,
            "tokens_per_s": report.tokens / seconds,
            "reindex_unchanged_s": again.seconds,
            "reindex_embedded_chunks": again.embedded_chunks,
            "device": self.config.device,
        }
        return store, figures

    def _baseline_indexing(self, base: IndexStore) -> None:
        texts = [embedding_text(base.documents[c.doc_id], c) for c in base.chunks]
        texts = texts[: self.config.baseline_index_chunks]
        self.say(f"baseline indexing of {len(texts)} chunks (sentence-transformers encode + BM25Okapi)")
        self.results["baseline_indexing"] = baseline_indexing(self.baseline, texts)  # type: ignore[arg-type]  # set by _load_models before any step runs

    def _time_queries(self, store: IndexStore, questions: list[str]) -> dict:
        """Ours (cold and warm) and the baseline's latency over one store."""
        asked = questions[: self.config.queries]
        self.say(f"timing {len(asked)} questions at {len(store.chunks):,} chunks (ours, cold then warm)")
        figures = time_store(store, self.embedder, asked)  # type: ignore[arg-type]  # set by _load_models before any step runs
        texts = [embedding_text(store.documents[c.doc_id], c) for c in store.chunks]
        self.say(f"timing the baseline at {len(store.chunks):,} chunks")
        baseline: Baseline = self.baseline  # type: ignore[assignment]  # set by _load_models before any step runs
        figures["baseline_fit_s"] = baseline.index(texts, vectors=np.asarray(store.vectors))
        figures["baseline"] = time_baseline(baseline, asked[: self.config.baseline_queries])
        # torch's threads wait on each other when other processes share the cores: one thread, for reference
        figures["baseline_1thread"] = time_baseline(baseline, asked[: self.config.baseline_queries], 1)
        baseline.clear()
        return figures

    def _synthetic_sizes(self, base: IndexStore, questions: list[str]) -> tuple[Path, Path]:
        """Build, time and save the headline-size and the scale-size stores; their folders."""
        folders = []
        for position, size in enumerate(self.config.sizes):
            scale = position == len(self.config.sizes) - 1
            kind = "hnsw" if scale and self.config.quick else None  # quick runs still measure HNSW
            self.say(f"building a synthetic store of {size:,} chunks")
            built = synthetic_store(base, size, kind=kind)
            self.results["query"][_label(size)] = self._time_queries(built.store, questions)
            if position == 0:
                self._faiss_threads(built.store, questions)
            folder = self.work / f"synthetic-{size}"
            started = time.perf_counter()
            built.store.save(folder)
            save_s = time.perf_counter() - started
            if scale:
                self._scale(built, folder, save_s, questions)
            folders.append(folder)
            del built
            gc.collect()
        return folders[0], folders[-1]

    def _faiss_threads(self, store: IndexStore, questions: list[str]) -> None:
        queries = self.embedder.embed_many(questions[: self.config.scale_queries])  # type: ignore[union-attr]  # set by _load_models before any step runs
        levers = self.results.setdefault("levers", {})
        levers["faiss_threads"] = {"chunks": len(store.chunks), **compare_faiss_threads(store, queries)}

    def _scale(self, built: object, folder: Path, save_s: float, questions: list[str]) -> None:
        store: IndexStore = built.store  # type: ignore[attr-defined]  # built is a bench.stores result, imported lazily
        self.say(f"store scale at {len(store.chunks):,} chunks: recall@10 of {store.dense.kind} vs exact")
        queries = self.embedder.embed_many(questions[: self.config.scale_queries])  # type: ignore[union-attr]  # set by _load_models before any step runs
        exact = DenseIndex.build(np.asarray(store.vectors), store.manifest.dim, kind="flat")
        self.results["scale"] = {
            "chunks": len(store.chunks),
            "dense_kind": store.dense.kind,
            "dense_build_s": built.dense_build_s,  # type: ignore[attr-defined]  # built is a bench.stores result, imported lazily
            "bm25_build_s": built.lexical_build_s,  # type: ignore[attr-defined]  # built is a bench.stores result, imported lazily
            "save_s": save_s,
            "disk_mb": folder_bytes(current_version(folder)) / 2**20,
            "search_ms": dense_latency(store, queries),
            "exact_search_ms": dense_latency(_store_with(store, exact), queries),
            "recall_at_10": _recall(store.dense, exact, queries),
            "ef_search_sweep": _ef_sweep(store, exact, queries),
        }

    def _http(self, index_dir: Path, questions: list[str]) -> None:
        """Load on the headline-size server as started (FAISS on one thread, answer cache on), then
        with FAISS on every core, then with no answer cache: each lever off in turn."""
        self.results["http"] = self._http_run(index_dir, questions, {})
        every_core = {"OMP_NUM_THREADS": str(os.cpu_count() or 1)}
        self.results["http_omp_all"] = self._http_run(index_dir, questions, every_core)
        self.results["http_no_answer_cache"] = self._http_run(index_dir, questions, {"RAG_ANSWER_CACHE": "0"})

    def _http_run(self, index_dir: Path, questions: list[str], env: dict[str, str]) -> dict:
        pool = questions[: self.config.http_pool]
        size = self.config.sizes[0]
        clients, seconds = self.config.clients, self.config.duration_s
        self.say(f"HTTP: rag serve over {size:,} chunks {env or ''}, {clients} clients, {seconds:g} s")
        log = self.work / f"serve-headline{len(env)}.log"
        with running_server(index_dir, log, pool[0], extra_env=env) as server:
            first_pass = ask_all(server, pool, clients)
            server_cpu, client_cpu = cpu_seconds(server), cpu_seconds(None)
            load = run_load(server, pool, clients, seconds)
            requests = max(1, len(load.latencies_ms))
            return {
                "chunks": size,
                "env": env,
                "first_answer_s": server.first_answer_s,
                "first_pass": {**percentiles(first_pass.latencies_ms), "errors": first_pass.errors},
                **load_summary(load, clients, len(pool)),
                "server_cpu_ms_per_request": (cpu_seconds(server) - server_cpu) * 1000 / requests,
                "client_cpu_ms_per_request": (cpu_seconds(None) - client_cpu) * 1000 / requests,
                "rss_mb": server_rss_mb(server),
            }

    def _memory(self, index_dir: Path, questions: list[str]) -> None:
        size = self.config.sizes[-1]
        self.say(f"memory: rag serve over {size:,} chunks")
        pool = questions[: min(self.config.http_pool, MEMORY_QUESTIONS)]
        with running_server(index_dir, self.work / "serve-scale.log", pool[0]) as server:
            asked = ask_all(server, pool, self.config.clients)
            self.results["memory"] = {
                "chunks": size,
                "first_answer_s": server.first_answer_s,
                "questions": len(pool),
                "errors": asked.errors,
                "rss_mb": server_rss_mb(server),
            }

    def _cold_start(self, question: str) -> None:
        self.say("cold start: `rag ask` and `rag serve` over the bundled corpus")
        runs = cli_cold_start(self.corpus_dir, question, self.config.cold_runs, self.work)
        with running_server(self.corpus_dir, self.work / "serve-cold.log", question) as server:
            first_answer_s = server.first_answer_s
        self.results["cold_start"] = {"cli_ask_s": runs, "serve_first_answer_s": first_answer_s}

    def _levers(self, questions: list[str]) -> None:
        self.say("query encoder levers")
        asked = questions[: max(10, self.config.queries // 2)]
        levers = compare_encoders(self.baseline.model, self.embedder, asked)  # type: ignore[union-attr, arg-type]  # set by _load_models before any step runs
        self.results.setdefault("levers", {}).update(query_encoder=levers, questions=len(asked))


def _label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


def _store_with(store: IndexStore, dense: DenseIndex) -> IndexStore:
    return replace(store, dense=dense)


def _recall(approximate: DenseIndex, exact: DenseIndex, queries: np.ndarray, k: int = 10) -> float:
    """Share of the exact top-k that the approximate index also returns."""
    found = 0
    for query in queries:
        truth = set(exact.search(query, k)[1].tolist())
        found += len(truth & set(approximate.search(query, k)[1].tolist()))
    return found / max(1, k * len(queries))


def _ef_sweep(store: IndexStore, exact: DenseIndex, queries: np.ndarray) -> dict[str, dict]:
    """Recall@10 and p50 latency of an HNSW index at several efSearch values (empty for a flat one)."""
    if store.dense.kind != "hnsw":
        return {}
    hnsw = store.dense._index.hnsw  # type: ignore[attr-defined]  # the benchmark turns the knob it tunes
    configured = hnsw.efSearch
    sweep = {}
    try:
        for ef in EF_SEARCH_SWEEP:
            hnsw.efSearch = ef
            recall = _recall(store.dense, exact, queries)
            sweep[str(ef)] = {"recall_at_10": recall, "p50_ms": dense_latency(store, queries)["p50"]}
    finally:
        hnsw.efSearch = configured
    return sweep


def _jsonable(values: dict) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
