"""The reader through ONNX Runtime gives torch's scores, exports once, and mends a damaged cache."""

from __future__ import annotations

import numpy as np

from rag.reader import DEFAULT_READER_DIR, SpanReader

WINDOWS = [
    "The 22.4 km light railway will have 18 stations and one depot.",
    "In 2018, the trade turnover increased by 11.1%, reaching $11.7 billion.",
]


def _finite(scores) -> np.ndarray:
    return np.concatenate([np.where(np.isfinite(s.start), s.start, 0.0) for s in scores])


def test_onnx_scores_equal_torch_scores(tmp_path):
    onnx = SpanReader(DEFAULT_READER_DIR, backend="onnx", cache_dir=tmp_path)
    torch = SpanReader(DEFAULT_READER_DIR, backend="torch")
    assert onnx.backend == "onnx" and torch.backend == "torch"
    question = "How many stations will the railway have?"
    found, expected = onnx.score(question, WINDOWS), torch.score(question, WINDOWS)
    assert np.allclose(_finite(found), _finite(expected), atol=1e-3)
    assert np.allclose([s.null for s in found], [s.null for s in expected], atol=1e-3)
    first = WINDOWS[0].find("18 stations")
    span = (first, first + len("18 stations"))
    assert abs(found[0].best_span(*span) - expected[0].best_span(*span)) < 1e-3


def test_the_export_is_made_once_and_a_damaged_one_is_made_again(tmp_path):
    SpanReader(DEFAULT_READER_DIR, backend="onnx", cache_dir=tmp_path)
    (exported,) = list(tmp_path.glob("reader-*.onnx"))
    made = exported.stat().st_mtime_ns
    SpanReader(DEFAULT_READER_DIR, backend="onnx", cache_dir=tmp_path)
    assert exported.stat().st_mtime_ns == made  # opened, not exported again
    exported.write_bytes(b"not an onnx graph")
    reader = SpanReader(DEFAULT_READER_DIR, backend="onnx", cache_dir=tmp_path)
    assert reader.backend == "onnx" and exported.stat().st_size > 1_000_000
    assert reader.score("How long is the railway?", WINDOWS[:1])[0].start.size > 5
