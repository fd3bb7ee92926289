"""Scoring: each answer against its gold item, then the metrics over a whole run.

- numeric accuracy: the answer's quantity matches the gold one (`quantities_match`: same value
  within rounding, compatible unit), over answerable questions; an abstention counts as wrong.
- citation correctness: over answerable questions that were answered, a citation comes from a
  gold source and its cited text holds the gold quantity.
- abstention precision: abstentions on unanswerable questions / all abstentions;
  abstention recall: unanswerable questions abstained on / unanswerable questions.
- recall@k and MRR: rank of the first retrieved chunk from a gold source, over answerable questions.
- coverage: answerable questions answered; answered accuracy: answers to answerable questions
  that are right; wrong rate: answerable questions answered with a wrong number.
- risk-coverage: the reader's best candidate for every answerable question, ranked by its
  confidence: at each coverage, the share of those answers that are wrong (the curve a
  threshold moves along).
- latency p50 / p95: milliseconds of `Engine.ask` per question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qadata.questions import EvalItem
from rag.quantities import Quantity, parse_quantities, quantities_match, year_of
from rag.types import Answer, Citation

METRIC_NAMES = (
    "numeric_accuracy",
    "coverage",
    "answered_accuracy",
    "wrong_rate",
    "citation_correctness",
    "abstention_precision",
    "abstention_recall",
    "recall_at_k",
    "mrr",
    "latency_p50_ms",
    "latency_p95_ms",
)


@dataclass(frozen=True)
class QuestionResult:
    """What the system did with one eval question, and how it scored."""

    item: EvalItem
    answer: Answer
    latency_ms: float
    retrieved: tuple[str, ...]  # doc_ids of the top-k retrieved chunks, best first
    numeric_correct: bool | None  # None for an unanswerable question
    citation_correct: bool | None  # None when unanswerable, or answerable but abstained
    gold_rank: int | None  # 1-based rank of the first chunk from a gold source; None if not in top k
    best_confidence: float | None = None  # the reader's best candidate, answered or not: its confidence
    best_correct: bool | None = None  # and whether its quantity is the gold one (answerable only)

    @property
    def problems(self) -> tuple[str, ...]:
        """Why this result counts as a failure; empty when it does not."""
        if not self.item.answerable:
            return () if self.answer.abstained else ("answered an unanswerable question",)
        found = []
        if self.answer.abstained:
            found.append("abstained")
        elif not self.numeric_correct:
            found.append("wrong number")
        if self.citation_correct is False:
            found.append("citation does not support the gold answer")
        if self.item.sources and self.gold_rank is None:
            found.append("gold source not retrieved")
        return tuple(found)


@dataclass(frozen=True)
class Metrics:
    """Aggregate scores of one run; a metric is None when no question measures it."""

    questions: int
    answerable: int
    unanswerable: int
    answered: int  # answerable questions that got an answer
    abstentions: int
    k: int
    numeric_accuracy: float | None
    coverage: float | None
    answered_accuracy: float | None
    wrong_rate: float | None
    citation_correctness: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    recall_at_k: float | None
    mrr: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    risk_coverage: tuple[tuple[float, float, float], ...] = ()  # (confidence, coverage, risk) points

    def value(self, name: str) -> float | None:
        """A metric by its name in METRIC_NAMES."""
        if name not in METRIC_NAMES:
            raise KeyError(name)
        return getattr(self, name)


@dataclass(frozen=True)
class TagScore:
    """How the questions with one tag fared (right: the right number, or abstaining if unanswerable)."""

    tag: str
    questions: int
    right: int

    @property
    def share(self) -> float:
        return self.right / self.questions if self.questions else 0.0


def score_question(
    item: EvalItem,
    answer: Answer,
    retrieved: Sequence[str],
    latency_ms: float,
    best: tuple[float, Quantity] | None = None,
) -> QuestionResult:
    """Score one answer and the doc_ids retrieved for the same question; `best` is the reader's best
    candidate (confidence and quantity) whether it was answered or not."""
    answerable = item.answerable
    return QuestionResult(
        item=item,
        answer=answer,
        latency_ms=latency_ms,
        retrieved=tuple(retrieved),
        numeric_correct=is_numeric_correct(item, answer) if answerable else None,
        citation_correct=(
            is_citation_correct(item, answer.citations) if answerable and not answer.abstained else None
        ),
        gold_rank=gold_rank(item, retrieved),
        best_confidence=best[0] if best else None,
        best_correct=_matches_any(item.gold_quantities, [best[1]]) if best and answerable else None,
    )


def is_numeric_correct(item: EvalItem, answer: Answer) -> bool:
    """The answer's quantity matches a gold quantity (value within rounding, compatible unit)."""
    if answer.abstained or answer.quantity is None:
        return False
    return _matches_any(item.gold_quantities, [answer.quantity])


def is_citation_correct(item: EvalItem, citations: Sequence[Citation]) -> bool:
    """Some citation comes from a gold source and its cited text holds a gold quantity (the year of
    a stated date counts: "January 7, 1943" holds 1943)."""
    golds = item.gold_quantities
    return any(
        citation.doc_id in item.sources and _matches_any(golds, _with_years(parse_quantities(citation.text)))
        for citation in citations
    )


def _with_years(found: list[Quantity]) -> list[Quantity]:
    return [*found, *(year for q in found if (year := year_of(q)) is not None)]


def gold_rank(item: EvalItem, retrieved: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved doc_id that is a gold source, or None."""
    return next((rank for rank, doc_id in enumerate(retrieved, 1) if doc_id in item.sources), None)


def _matches_any(golds: Sequence[Quantity], found: Sequence[Quantity]) -> bool:
    return any(quantities_match(gold, quantity) for gold in golds for quantity in found)


def compute_metrics(results: Sequence[QuestionResult], k: int) -> Metrics:
    """Aggregate the per-question results of one run."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    abstained = [r for r in results if r.answer.abstained]
    answered = [r for r in answerable if not r.answer.abstained]
    ranked = [r for r in answerable if r.item.sources]
    latencies = [r.latency_ms for r in results]
    right = [r for r in answered if r.numeric_correct]
    return Metrics(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        answered=len(answered),
        abstentions=len(abstained),
        k=k,
        numeric_accuracy=_share([bool(r.numeric_correct) for r in answerable]),
        coverage=len(answered) / len(answerable) if answerable else None,
        answered_accuracy=len(right) / len(answered) if answered else None,
        wrong_rate=(len(answered) - len(right)) / len(answerable) if answerable else None,
        citation_correctness=_share([bool(r.citation_correct) for r in answered]),
        abstention_precision=_share([not r.item.answerable for r in abstained]),
        abstention_recall=_share([r.answer.abstained for r in unanswerable]),
        recall_at_k=_share([r.gold_rank is not None for r in ranked]),
        mrr=_mean([1.0 / r.gold_rank if r.gold_rank else 0.0 for r in ranked]),
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        risk_coverage=risk_coverage_curve(answerable),
    )


RISK_POINTS = 20


def risk_coverage_curve(answerable: Sequence[QuestionResult]) -> tuple[tuple[float, float, float], ...]:
    """(confidence, coverage, risk) at RISK_POINTS coverages: answering every answerable question whose
    best candidate is at least that confident covers that share, and that share of those is wrong."""
    read = sorted(
        (r for r in answerable if r.best_confidence is not None), key=lambda r: -(r.best_confidence or 0)
    )
    if not read:
        return ()
    points = []
    for step in range(1, RISK_POINTS + 1):
        n = max(1, round(step * len(read) / RISK_POINTS))
        wrong = sum(1 for r in read[:n] if not r.best_correct)
        points.append((round(read[n - 1].best_confidence or 0.0, 4), n / len(answerable), wrong / n))
    return tuple(points)


def scores_by_tag(results: Sequence[QuestionResult]) -> list[TagScore]:
    """Right answers per tag, tags in order of first appearance."""
    counts: dict[str, list[int]] = {}
    for result in results:
        right = result.answer.abstained if not result.item.answerable else bool(result.numeric_correct)
        for tag in result.item.tags:
            tally = counts.setdefault(tag, [0, 0])
            tally[0] += 1
            tally[1] += right
    return [TagScore(tag, total, right) for tag, (total, right) in counts.items()]


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None
