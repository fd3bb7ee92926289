"""Every CLI failure is one line with a non-zero exit, and `rag bench --store milvus` keeps the store
figures it measured when Ray then fails to start."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bench.http_load import rag_command


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "RAY_"))}
    offline = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return {**env, **offline, **extra}


def test_an_os_error_is_one_line_not_a_traceback(tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    done = subprocess.run(
        [*rag_command(), "index", "--index-dir", str(not_a_folder / "index")],
        env=_env(), capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: NotADirectoryError"), done.stderr
    assert "RAG_DEBUG=1" in lines[0]


def test_rag_debug_shows_the_traceback(tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    done = subprocess.run(
        [*rag_command(), "index", "--index-dir", str(not_a_folder / "index")],
        env=_env(RAG_DEBUG="1"), capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "NotADirectoryError" in done.stderr


@pytest.mark.scale
@pytest.mark.slow
def test_store_bench_keeps_the_store_figures_when_ray_cannot_start(tmp_path):
    pytest.importorskip("ray")
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    # Ray keeps its session files under RAY_TMPDIR: a path under a plain file makes `ray.init` fail at
    # once, on this machine only (a Ray address would be resolved to the node's own address first)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    doc = tmp_path / "benchmarks.md"
    command = [*rag_command(), "bench", "--store", "milvus", "--chunks", "200", "--doc", str(doc), "--json"]
    done = subprocess.run(
        command, env=_env(RAY_TMPDIR=str(blocker / "ray")), capture_output=True, text=True, timeout=600,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert any(line.startswith("error: the ray stage failed: ") for line in done.stderr.splitlines())
    figures = json.loads(done.stdout)
    assert figures["faiss_hybrid_p50_ms"] > 0 and figures["milvus_hybrid_p50_ms"] > 0
    assert figures["faiss_chunks_per_s"] > 0 and figures["milvus_chunks_per_s"] > 0
    assert "NotADirectoryError" in figures["failed"]["ray"]
    in_process, ray = figures["details"]["ray"]
    assert in_process["mode"] == "in-process" and in_process["texts_per_s"] > 0
    assert ray["mode"] == "ray" and "failed" in ray
    written = doc.read_text()
    assert "## Stores: FAISS and Milvus" in written
    assert "| FAISS + bm25s (" in written and "| milvus-lite " in written
    assert "| ray | 1 | failed: NotADirectoryError" in written


@pytest.mark.slow
def test_a_failed_bench_section_keeps_the_figures_of_the_others(tmp_path):
    from bench.report import render_markdown, render_text
    from bench.suite import BenchConfig, run_bench

    # no HTTP question pool: the HTTP and memory sections fail (IndexError), the rest is measured
    config = BenchConfig(
        squad=None, sizes=(300, 600), queries=3, baseline_queries=2, baseline_index_chunks=8, scale_queries=5,
        clients=2, duration_s=1.0, http_pool=0, cold_runs=1,
    )  # fmt: skip
    results = run_bench(config, work_dir=tmp_path)
    assert set(results["failed"]) == {"http", "memory"}
    assert all(message.startswith("IndexError") for message in results["failed"].values())
    summary = results["summary"]
    assert summary["query_p50_ms"] > 0 and summary["index_chunks_per_s"] > 0 and summary["cold_start_s"] > 0
    assert summary["http_rps"] is None and summary["targets"]["http_rps"] is None
    assert summary["failed"] == results["failed"]
    markdown = render_markdown(results, "rag bench")
    assert "## Over HTTP\n\nNot measured: http failed (IndexError" in markdown
    assert "| query p50, cold, 300 chunks |" in markdown and "| HTTP answered requests/s | – |" in markdown
    assert "## Query latency, in-process" in markdown and "| total |" in markdown
    assert "  http: IndexError" in render_text(results)
