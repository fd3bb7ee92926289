"""A short soak: `rag serve` under mixed traffic (bench/soak.py) ends with no errors."""

from __future__ import annotations

import pytest

from bench.soak import run_soak
from index.stores.faiss.store import current_version


@pytest.mark.slow
def test_a_short_soak_has_no_errors(built_index):
    index_dir, _ = built_index
    live = current_version(index_dir).name
    result = run_soak(0.2, index_dir, clients=3, seed=1)
    assert result["errors"] == 0, result["error_samples"]
    assert result["requests"] > 0 and result["by_kind"]["ask"] > 0 and result["by_kind"]["search"] > 0
    assert result["requests"] == sum(result["by_kind"].values())
    assert 10 <= result["duration_s"] < 12 + 2 * 60  # stops by itself
    assert 0 < result["rss_start_mb"] <= result["rss_peak_mb"]
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    assert current_version(index_dir).name == live  # it wrote to a copy, never to the given index


def test_the_soak_section_is_written_and_kept_by_later_benchmarks(tmp_path):
    from bench.soak import render_markdown
    from cli.commands_bench import SOAK_HEADING, _section, _with_section, write_section

    report = {
        "requests": 12, "errors": 0, "by_kind": {"ask": 7, "search": 5}, "clients": 2, "duration_s": 3.0,
        "p50_ms": 9.0, "p95_ms": 20.0, "latency_ms_by_kind": {"ask": {"p50": 10.0, "p95": 21.0}},
        "rss_start_mb": 250.0, "rss_warm_mb": 300.0, "rss_end_mb": 301.0, "rss_peak_mb": 302.0,
        "rss_growth_after_warmup_mb": 1.0,
    }  # fmt: skip
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Machine\n\n2 cores\n\n## GPU\n\nNone.\n")
    write_section(doc, SOAK_HEADING, render_markdown(report, "rag bench --soak 0.05"))
    first = doc.read_text()
    assert "| errors | 0 |" in first and "ask 7, search 5" in first and "+1 MB" in first
    assert first.index("## GPU") < first.index(SOAK_HEADING)
    report["requests"] = 99
    write_section(doc, SOAK_HEADING, render_markdown(report, "rag bench --soak 0.05"))
    second = doc.read_text()
    assert second.count(SOAK_HEADING) == 1
    assert "| requests | 99 " in second and "| requests | 12 " not in second
    # a later `rag bench` rewrites the file from its own results and carries the soak section over
    kept = _section(second, SOAK_HEADING)
    rewritten = _with_section("# Benchmarks\n\n## Machine\n\n4 cores\n", SOAK_HEADING, kept.split("\n", 1)[1])
    assert "4 cores" in rewritten and "| requests | 99 " in rewritten
