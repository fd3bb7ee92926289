"""A short soak: `rag serve` under mixed traffic (eval/soak.py) ends with no errors."""

from __future__ import annotations

import pytest

from eval.soak import run_soak
from index.store import current_version


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
