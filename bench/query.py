"""In-process query latency for `rag bench`: each step of retrieve-and-answer, timed per question."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from index.embed import Embedder
from index.errors import RagError
from index.stores.faiss.store import IndexStore
from rag.answer import Answerer
from rag.reader import SpanReader, WindowScores, load_reader
from rag.retrieve import Retriever

# Steps of one answered question; "answer" is everything after retrieval, "answer_read" the
# part of it the learned reader spends reading candidate sentences.
PHASES = ("embed", "dense", "bm25", "fusion", "search", "answer", "answer_read", "total")
Samples = dict[str, list[float]]
Summary = dict[str, dict[str, float]]


class TimedEmbedder(Embedder):
    """Delegates to another embedder and adds up the milliseconds its calls take."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self.spent_ms = 0.0

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with the inner embedder, timing the call."""
        started = time.perf_counter()
        try:
            return self.inner.embed_batch(texts)
        finally:
            self.spent_ms += (time.perf_counter() - started) * 1000

    def embed_many(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed many texts the inner embedder's way (it may run batches in parallel), timed."""
        started = time.perf_counter()
        try:
            return self.inner.embed_many(texts, batch_size=batch_size, on_batch=on_batch)
        finally:
            self.spent_ms += (time.perf_counter() - started) * 1000

    def count_model_tokens(self, text: str) -> int:
        """The inner embedder's count."""
        return self.inner.count_model_tokens(text)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and mean of values (zeros when there are none)."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}
    p50, p95, p99 = np.percentile(np.asarray(values, dtype=np.float64), [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "mean": float(np.mean(values))}


def summarize(samples: Samples) -> Summary:
    """Percentiles of every phase."""
    return {phase: percentiles(values) for phase, values in samples.items()}


class TimedReader:
    """Delegates to the span reader and adds up the milliseconds its calls take."""

    def __init__(self, inner: SpanReader) -> None:
        self.inner = inner
        self.meta = inner.meta
        self.reader_dir = inner.reader_dir
        self.spent_ms = 0.0

    def score(self, question: str, windows: Sequence[str]) -> list[WindowScores]:
        started = time.perf_counter()
        try:
            return self.inner.score(question, windows)
        finally:
            self.spent_ms += (time.perf_counter() - started) * 1000


class QueryTimer:
    """One store's retriever and answerer, asked question after question with each step timed."""

    def __init__(self, store: IndexStore, embedder: Embedder, k: int = 5) -> None:
        self.embedder = TimedEmbedder(embedder)
        self.retriever = Retriever(store, self.embedder)
        self.reader = TimedReader(load_reader())
        self.answerer = Answerer(self.retriever, self.reader)  # type: ignore[arg-type]  # TimedReader wraps a SpanReader and answers the same calls
        self.k = k
        self.errors = 0
        self.abstained = 0

    def run(self, questions: Sequence[str]) -> Samples:
        """Ask every question once; milliseconds per phase, one sample per question."""
        samples: Samples = {phase: [] for phase in PHASES}
        for question in questions:
            self._ask(question, samples)
        return samples

    def _ask(self, question: str, samples: Samples) -> None:
        self.embedder.spent_ms = 0.0
        self.reader.spent_ms = 0.0
        started = time.perf_counter()
        try:
            answer = self.answerer.ask(question, k=self.k)
        except RagError:
            self.errors += 1
            return
        total = (time.perf_counter() - started) * 1000
        self.abstained += answer.abstained
        timings = self.retriever.timings
        search = timings.embed_ms + timings.dense_ms + timings.bm25_ms + timings.fusion_ms
        steps = {
            "embed": timings.embed_ms,
            "dense": timings.dense_ms,
            "bm25": timings.bm25_ms,
            "fusion": timings.fusion_ms,
            "search": search,
            "answer": max(0.0, total - search),
            "answer_read": self.reader.spent_ms,
            "total": total,
        }
        for phase, value in steps.items():
            samples[phase].append(value)


def time_store(store: IndexStore, embedder: Embedder, questions: Sequence[str]) -> dict[str, object]:
    """Latency of a store: a cold pass (every question new) and a warm pass (the same again)."""
    timer = QueryTimer(store, embedder)
    cold = timer.run(questions)
    warm = timer.run(questions)
    return {
        "chunks": len(store.chunks),
        "questions": len(questions),
        "cold": summarize(cold),
        "warm": summarize(warm),
        "errors": timer.errors,
        "abstained_share": timer.abstained / max(1, 2 * len(questions)),
    }


def dense_latency(store: IndexStore, queries: np.ndarray, k: int = 10) -> dict[str, float]:
    """Milliseconds per dense search of the store's FAISS index, over the query vectors."""
    spent = []
    for query in queries:
        started = time.perf_counter()
        store.dense.search(query, k)
        spent.append((time.perf_counter() - started) * 1000)
    return percentiles(spent)
