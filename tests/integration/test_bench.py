"""`rag bench` on tiny sizes, the load generator against a real `rag serve`, and the ONNX query path."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bench.data import synthetic_store
from bench.http_load import load_summary, run_load, running_server
from bench.report import render_markdown, render_text
from bench.suite import BenchConfig, run_bench
from index.embed import EXPORT_MIN_COSINE, OnnxEmbedder, SentenceTransformerEmbedder, load_embedder

MODEL = "all-MiniLM-L6-v2"
SUMMARY_KEYS = (
    "query_p50_ms",
    "query_warm_p50_ms",
    "http_p50_ms",
    "http_rps",
    "index_chunks_per_s",
    "cold_start_s",
    "baseline_query_p50_ms",
    "baseline_index_chunks_per_s",
    "memory_rss_mb",
    "speedup_search_vs_baseline",
)
TEXTS = [
    "How big is the capacity fund?",
    "China and Kazakhstan set up a 2-billion-dollar bilateral capacity cooperation fund.",
    "trade turnover " * 200,  # longer than the model's 256-piece window: truncated the same way
    "",
]


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEmbedder:
    """sentence-transformers itself, the reference the ONNX path must match."""
    return load_embedder(MODEL, "cpu", backend="torch")  # type: ignore[return-value]  # load_embedder is typed to return the base Embedder


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    """The ONNX Runtime embedder (exported on first use), or a skip when onnxruntime or onnx is missing."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # the exporter's
    return load_embedder(MODEL, "cpu", backend="onnx")  # type: ignore[return-value]  # load_embedder is typed to return the base Embedder


def test_cpu_default_is_the_onnx_embedder(onnx_embedder):
    assert isinstance(load_embedder(MODEL, "cpu"), OnnxEmbedder)


def test_onnx_vectors_match_sentence_transformers(onnx_embedder, reference):
    ours, theirs = onnx_embedder.embed_batch(TEXTS), reference.embed_batch(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.min(np.sum(ours * theirs, axis=1)) >= EXPORT_MIN_COSINE


def test_onnx_batches_match_single_calls(onnx_embedder):
    together = onnx_embedder.embed_many(TEXTS * 3, batch_size=4)
    alone = np.vstack([onnx_embedder.embed_batch([text]) for text in TEXTS * 3])
    assert np.allclose(together, alone, atol=1e-5)


def test_an_unusable_onnx_cache_falls_back_to_sentence_transformers(reference, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    embedder = load_embedder(MODEL, "cpu", cache_dir=blocker / "onnx")
    assert isinstance(embedder, SentenceTransformerEmbedder)


def test_onnx_counts_tokens_like_the_reference(onnx_embedder, reference):
    for text in TEXTS:
        assert onnx_embedder.count_model_tokens(text) == reference.count_model_tokens(text)


@pytest.mark.parametrize("size", [7, 50])
def test_synthetic_store_has_the_size_asked_for_and_real_offsets(built_index, size):
    store = synthetic_store(built_index[1], size).store
    assert len(store.chunks) == store.dense.size == store.lexical.size == size
    for chunk in store.chunks:
        assert store.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    assert np.allclose(np.linalg.norm(store.vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_load_generator_gets_no_errors_from_a_real_server(built_index, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(built_index[0], index_dir)
    questions = ["how big is the capacity fund?", "What was the trade turnover between Kazakhstan and China?"]
    with running_server(index_dir, tmp_path / "serve.log", questions[0]) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        summary = load_summary(run_load(server, questions, clients=2, seconds=2.0), 2, len(questions))
    assert summary["errors"] == 0
    assert summary["requests"] > 0 and summary["rps"] > 0 and summary["p50_ms"] > 0


@pytest.mark.slow
def test_tiny_bench_reports_every_headline_figure(tmp_path):
    config = BenchConfig(
        squad=None,
        sizes=(300, 600),
        queries=3,
        baseline_queries=2,
        baseline_index_chunks=8,
        scale_queries=5,
        clients=2,
        duration_s=1.0,
        http_pool=3,
        cold_runs=1,
    )
    results = run_bench(config, work_dir=tmp_path)
    summary = results["summary"]
    for key in SUMMARY_KEYS:
        assert summary[key] > 0, key
    assert summary["http_errors"] == 0
    assert "skipped" in results["indexing"]["squad"]
    assert set(results["query"]) == {"corpus", "300", "600"}
    assert results["levers"]["query_encoder"]["onnx"]["min_cosine"] >= EXPORT_MIN_COSINE
    assert "## Headline figures" in render_markdown(results, "rag bench")
    assert "HTTP answered requests/s" in render_text(results)
