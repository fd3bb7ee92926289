"""Run an eval set through an Engine: one configuration, the comparison grid, or a dataset."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval.scorer import Metrics, QuestionResult, compute_metrics, score_question
from index.embed import Embedder
from index.stores import BuildReport, ChunkParams, StoreLocation, update_store
from qadata.external import ExternalSet
from qadata.questions import EvalItem
from rag.engine import Engine, EngineConfig
from rag.retrieve import Fusion
from rag.types import Filters, RetrievalMode

Progress = Callable[[int, int], None]  # (questions done, questions in all)
WARM_UP_QUESTION = "How big is it?"  # asked once before timing, so model start-up is not a question's latency


@dataclass(frozen=True)
class EvalReport:
    """One run of an eval set under one engine configuration."""

    label: str
    results: tuple[QuestionResult, ...]
    metrics: Metrics

    @property
    def failures(self) -> tuple[QuestionResult, ...]:
        return tuple(r for r in self.results if r.problems)


@dataclass(frozen=True)
class Variant:
    """An engine configuration that `rag eval --compare` measures."""

    label: str
    mode: RetrievalMode
    fusion: Fusion
    time_aware: bool


VARIANTS = tuple(
    Variant(f"{name} time-{'on' if time_aware else 'off'}", mode, fusion, time_aware)
    for name, mode, fusion in (
        ("bm25", "bm25", "rrf"),
        ("dense", "dense", "rrf"),
        ("hybrid-rrf", "hybrid", "rrf"),
        ("hybrid-weighted", "hybrid", "weighted"),
    )
    for time_aware in (False, True)
)


def describe(config: EngineConfig) -> str:
    """A short label of an engine configuration ("hybrid-rrf time-on")."""
    name = f"hybrid-{config.fusion}" if config.mode == "hybrid" else config.mode
    return f"{name} time-{'on' if config.time_aware else 'off'}"


def run_eval(
    engine: Engine,
    items: Sequence[EvalItem],
    k: int = 5,
    label: str | None = None,
    progress: Progress | None = None,
    within_sources: bool = False,
) -> EvalReport:
    """Ask every question (timing `ask`), retrieve its top k, and score both.

    `within_sources` asks each question within its own source documents (`filters.doc_ids`), as
    TAT-QA's questions, each about one report, assume."""
    engine.ask(WARM_UP_QUESTION, k=k)
    results = []
    for done, item in enumerate(items, start=1):
        filters = Filters(doc_ids=frozenset(item.sources)) if within_sources and item.sources else None
        started = time.perf_counter()
        answer, reading = engine.ask_and_read(item.question, k=k, filters=filters)
        latency_ms = (time.perf_counter() - started) * 1000
        retrieved = [hit.document.doc_id for hit in engine.search(item.question, k=k, filters=filters)]
        best = reading.best if reading is not None else None
        found = (best.probability, reading.answer_quantity(best)) if best and reading else None
        results.append(score_question(item, answer, retrieved, latency_ms, found))
        if progress:
            progress(done, len(items))
    return EvalReport(label or describe(engine.config), tuple(results), compute_metrics(results, k))


def compare_variants(
    config: EngineConfig,
    embedder: Embedder,
    items: Sequence[EvalItem],
    k: int = 5,
    variants: Sequence[Variant] = VARIANTS,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[EvalReport]:
    """The same eval set under each retrieval mode, fusion and time setting, on one index."""
    reports = []
    for variant in variants:
        engine = Engine(
            replace(config, mode=variant.mode, fusion=variant.fusion, time_aware=variant.time_aware),
            embedder,
        )
        on_step = (lambda done, total, v=variant: progress(v.label, done, total)) if progress else None
        reports.append(run_eval(engine, items, k=k, label=variant.label, progress=on_step))
    return reports


def run_external(
    dataset: ExternalSet,
    config: EngineConfig,
    embedder: Embedder,
    k: int = 5,
    on_embed: Progress | None = None,
    progress: Progress | None = None,
    label: str | None = None,
    within_sources: bool = False,
) -> tuple[EvalReport, BuildReport]:
    """Index a dataset's documents in a temporary folder, then run its questions there."""
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as folder:
        index_dir = Path(folder) / "index"
        _, built = update_store(
            StoreLocation("faiss", index_dir),
            embedder,
            files=list(dataset.documents),
            params=ChunkParams(config.chunk_tokens, config.chunk_overlap),
            batch_size=config.batch_size,
            progress=on_embed,
        )
        # a dataset gets its own FAISS index in the temporary folder, whatever store RAG_STORE names
        engine = Engine(replace(config, index_dir=index_dir, model=embedder.name, store="faiss"), embedder)
        label = label or f"{dataset.name} {describe(engine.config)}"
        report = run_eval(
            engine, dataset.items, k=k, label=label, progress=progress, within_sources=within_sources
        )
        return report, built
