"""The machine a benchmark ran on, the headline figures of a run, and the targets they are held to."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

PACKAGES = ("onnxruntime", "torch", "sentence-transformers", "faiss-cpu", "bm25s", "rank-bm25", "fastapi")


@dataclass(frozen=True)
class Target:
    """A headline figure's goal: at most or at least a threshold."""

    key: str
    direction: Literal["<=", ">="]
    threshold: float
    label: str

    def met(self, value: float | None) -> bool | None:
        """Whether value meets the target (None when it was not measured)."""
        if value is None:
            return None
        return value <= self.threshold if self.direction == "<=" else value >= self.threshold


TARGETS = (
    Target("query_p50_ms", "<=", 10.0, "in-process query p50, answer included (cold)"),
    Target("query_warm_p50_ms", "<=", 10.0, "in-process query p50, answer included (warm)"),
    Target("http_p50_ms", "<=", 20.0, "HTTP p50 under load"),
    Target("http_rps", ">=", 150.0, "answered requests/s"),
    Target("http_errors", "<=", 0.0, "HTTP errors"),
    Target("cold_start_s", "<=", 3.0, "cold start, `rag ask`"),
    Target("index_chunks_per_s", ">=", 40.0, "indexing chunks/s"),
    Target("memory_rss_mb", "<=", 1024.0, "server RSS at the scale size"),
    Target("hnsw_recall_at_10", ">=", 0.99, "HNSW recall@10 vs exact"),
    Target("speedup_search_vs_baseline", ">=", 3.0, "retrieval speed-up over the baseline"),
)


def machine_info() -> dict:
    """CPU count, `lscpu` head, memory, load, Python and the versions of the packages that matter."""
    import psutil

    lscpu = ""
    if shutil.which("lscpu"):
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "nproc": os.cpu_count(),
        "lscpu_head": lscpu.splitlines()[:10],
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def summarize_results(results: dict) -> dict:
    """The flat headline figures of a run (see bench/suite.py), with each target met or not.

    A figure whose section failed (results["failed"]) is None, and so is its target's verdict.
    """
    sizes = [key for key in results.get("query", {}) if key != "corpus"]
    headline = _at(results, "query", sizes[0] if sizes else "corpus") or {}
    indexing = results.get("indexing", {})
    indexed = indexing["squad"] if "chunks" in indexing.get("squad", {}) else indexing.get("corpus", {})
    summary = {
        "query_chunks": headline.get("chunks"),
        "query_p50_ms": _at(headline, "cold", "total", "p50"),
        "query_p95_ms": _at(headline, "cold", "total", "p95"),
        "query_p99_ms": _at(headline, "cold", "total", "p99"),
        "query_warm_p50_ms": _at(headline, "warm", "total", "p50"),
        "search_p50_ms": _at(headline, "cold", "search", "p50"),
        "answer_read_p50_ms": _at(headline, "cold", "answer_read", "p50"),
        "baseline_query_p50_ms": _at(headline, "baseline", "total", "p50"),
        "baseline_1thread_query_p50_ms": _at(headline, "baseline_1thread", "total", "p50"),
        "index_corpus": "squad" if indexed is indexing.get("squad") else "corpus",
        "index_chunks_per_s": indexed.get("chunks_per_s"),
        "index_tokens_per_s": indexed.get("tokens_per_s"),
        "reindex_unchanged_s": indexed.get("reindex_unchanged_s"),
        "baseline_index_chunks_per_s": _at(results, "baseline_indexing", "chunks_per_s"),
        **_http_and_more(results),
    }
    summary["speedup_search_vs_baseline"] = _ratio(summary["baseline_query_p50_ms"], summary["search_p50_ms"])
    summary["speedup_search_vs_baseline_1thread"] = _ratio(
        summary["baseline_1thread_query_p50_ms"], summary["search_p50_ms"]
    )
    summary["speedup_total_vs_baseline"] = _ratio(summary["baseline_query_p50_ms"], summary["query_p50_ms"])
    summary["index_speedup_vs_baseline"] = _ratio(
        summary["index_chunks_per_s"], summary["baseline_index_chunks_per_s"]
    )
    summary["targets"] = {t.key: t.met(summary.get(t.key)) for t in TARGETS}
    if results.get("failed"):
        summary["failed"] = results["failed"]
    return summary


def _http_and_more(results: dict) -> dict:
    scale = results.get("scale", {})
    cold_runs = _at(results, "cold_start", "cli_ask_s")
    figures = {
        "http_chunks": _at(results, "http", "chunks"),
        "http_p50_ms": _at(results, "http", "p50_ms"),
        "http_p95_ms": _at(results, "http", "p95_ms"),
        "http_p99_ms": _at(results, "http", "p99_ms"),
        "http_rps": _at(results, "http", "rps"),
        "http_errors": _at(results, "http", "errors"),
    }
    for run in ("http_omp_all", "http_no_answer_cache"):
        figures.update({f"{run}_{key}": _at(results, run, key) for key in ("p50_ms", "rps", "errors")})
    return {
        **figures,
        "cold_start_s": statistics.median(cold_runs) if cold_runs else None,
        "cold_start_serve_s": _at(results, "cold_start", "serve_first_answer_s"),
        "memory_chunks": _at(results, "memory", "chunks"),
        "memory_rss_mb": _at(results, "memory", "rss_mb"),
        "hnsw_recall_at_10": scale["recall_at_10"] if scale.get("dense_kind") == "hnsw" else None,
        "scale_build_s": scale["dense_build_s"] + scale["bm25_build_s"] + scale["save_s"] if scale else None,
        "scale_disk_mb": scale.get("disk_mb"),
    }


def _at(figures: dict, *keys: str) -> Any:
    """figures[k1][k2]...; None where a section was not measured."""
    value: Any = figures
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    return numerator / denominator if denominator > 0 else 0.0
