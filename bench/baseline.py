"""The baseline `rag bench` compares with: the straightforward version a user would write.

sentence-transformers' `encode` for the query (default settings), `util.semantic_search` over
every chunk vector, rank_bm25's `BM25Okapi` over lower-cased whitespace tokens (the query is
tokenized again at each call), and reciprocal rank fusion in plain Python. Same model, same
chunk vectors, same depth (50 per list) and k. It retrieves; it has no answer step.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from bench.query import Summary, summarize

DEPTH = 50
RRF_K = 60
BASELINE_PHASES = ("embed", "dense", "bm25", "fusion", "total")


class Baseline:
    """sentence-transformers + semantic_search + rank_bm25 over one list of chunk texts."""

    def __init__(self, model_path: str) -> None:
        started = time.perf_counter()
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_path, device="cpu")
        self.load_s = time.perf_counter() - started
        self._bm25: object | None = None
        self._vectors: object | None = None

    def index(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> float:
        """Fit BM25 over texts and hold their vectors (embedding texts when none are given); seconds."""
        import torch
        from rank_bm25 import BM25Okapi

        started = time.perf_counter()
        if vectors is None:
            vectors = self.model.encode(
                list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
        self._vectors = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        self._bm25 = BM25Okapi([text.lower().split() for text in texts])
        return time.perf_counter() - started

    def clear(self) -> None:
        """Drop the BM25 model and the vectors (BM25Okapi holds a dict per chunk)."""
        self._bm25 = None
        self._vectors = None

    def search(self, query: str, k: int = 5) -> tuple[list[int], dict[str, float]]:
        """The k best rows for query and the milliseconds of each step."""
        from sentence_transformers import util

        spent: dict[str, float] = {}
        started = time.perf_counter()
        vector = self.model.encode(query, convert_to_tensor=True, normalize_embeddings=True)
        spent["embed"] = _since(started)
        started = time.perf_counter()
        dense = util.semantic_search(vector, self._vectors, top_k=DEPTH)[0]
        spent["dense"] = _since(started)
        started = time.perf_counter()
        scores = self._bm25.get_scores(query.lower().split())
        lexical = [int(row) for row in np.argsort(scores)[::-1][:DEPTH] if scores[row] > 0]
        spent["bm25"] = _since(started)
        started = time.perf_counter()
        fused: dict[int, float] = {}
        for ranking in ([int(hit["corpus_id"]) for hit in dense], lexical):
            for rank, row in enumerate(ranking):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda row: -fused[row])[:k]
        spent["fusion"] = _since(started)
        spent["total"] = sum(spent.values())
        return best, spent


def time_baseline(baseline: Baseline, questions: Sequence[str], torch_threads: int | None = None) -> Summary:
    """Percentiles of each baseline step over the questions (torch's own thread count unless given)."""
    import torch

    default_threads = torch.get_num_threads()
    samples: dict[str, list[float]] = {phase: [] for phase in BASELINE_PHASES}
    try:
        torch.set_num_threads(torch_threads or default_threads)
        for question in questions:
            _, spent = baseline.search(question)
            for phase in BASELINE_PHASES:
                samples[phase].append(spent[phase])
    finally:
        torch.set_num_threads(default_threads)
    return summarize(samples)


def baseline_indexing(baseline: Baseline, texts: Sequence[str]) -> dict[str, float]:
    """Chunks per second of the baseline's indexing: encode every text, then fit BM25."""
    seconds = baseline.index(texts)
    return {"chunks": len(texts), "seconds": seconds, "chunks_per_s": len(texts) / max(seconds, 1e-9)}


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
