"""Eval output: rich tables of metrics and failures, and the JSON file of every result."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from eval.gate import Shortfall, Threshold
from eval.runner import EvalReport
from eval.scorer import Metrics, QuestionResult, scores_by_tag
from index.errors import InputError
from rag.serialize import answer_to_dict

SNIPPET_CHARS = 220  # cited sentences longer than this are cut in the failure list
COMPARE_CAPTION = (
    "num: numeric accuracy, cite: citation correctness, absP/absR: abstention precision/recall, "
    "R@{k}/MRR: gold source in the top {k} passages, p50ms/p95ms: latency of ask"
)
# (metric, label, short label for the comparison table, what its denominator counts)
_ROWS = (
    ("numeric_accuracy", "numeric accuracy", "num", "answerable"),
    ("coverage", "coverage (answered)", "cov", "answerable"),
    ("answered_accuracy", "accuracy when answering", "accA", "answered"),
    ("wrong_rate", "wrong numbers", "wrong", "answerable"),
    ("citation_correctness", "citation correctness", "cite", "answered"),
    ("abstention_precision", "abstention precision", "absP", "abstentions"),
    ("abstention_recall", "abstention recall", "absR", "unanswerable"),
    ("recall_at_k", "recall@{k}", "R@{k}", "answerable"),
    ("mrr", "MRR@{k}", "MRR", "answerable"),
    ("latency_p50_ms", "latency p50 (ms)", "p50ms", "questions"),
    ("latency_p95_ms", "latency p95 (ms)", "p95ms", "questions"),
)


def format_metric(metrics: Metrics, name: str, digits: int = 1) -> str:
    """A metric as shown in tables: shares with three decimals, milliseconds with `digits`."""
    value = metrics.value(name)
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if name.startswith("latency") else f"{value:.3f}"


def metrics_table(
    report: EvalReport, shortfalls: Sequence[Shortfall] = (), thresholds: Sequence[Threshold] = ()
) -> Table:
    """One run's metrics, each with its denominator, and its threshold marked missed or met."""
    metrics = report.metrics
    table = Table(
        "metric", "value", "over", "threshold", title=f"{report.label}: {metrics.questions} questions"
    )
    limits = {t.metric: t for t in thresholds}
    missed = {s.threshold.metric for s in shortfalls if s.failed}
    for name, label, _, denominator in _ROWS:
        count = getattr(metrics, denominator, metrics.questions)
        table.add_row(
            label.format(k=metrics.k),
            format_metric(metrics, name),
            f"{count} {denominator}",
            _threshold_cell(limits.get(name), metrics.value(name), name in missed),
        )
    return table


def _threshold_cell(limit: Threshold | None, value: float | None, missed: bool) -> str:
    if limit is None:
        return ""
    shown = f"{'≥' if limit.bound == 'minimum' else '≤'} {limit.limit:g}"
    if value is None:
        return shown
    return f"{shown} [red]missed[/]" if missed else f"{shown} [green]met[/]"


def risk_table(report: EvalReport) -> Table:
    """The risk-coverage curve of a run: what a lower or higher threshold would trade."""
    table = Table(
        "confidence ≥", "coverage", "wrong among answers", title="risk-coverage (answerable questions)"
    )
    for confidence, coverage, risk in report.metrics.risk_coverage[3::4]:
        table.add_row(f"{confidence:.3f}", f"{coverage:.3f}", f"{risk:.3f}")
    return table


def compare_table(reports: Sequence[EvalReport]) -> Table:
    """Several runs side by side: one row per configuration, one column per metric (fits 80 columns)."""
    k = reports[0].metrics.k if reports else 5
    questions = reports[0].metrics.questions if reports else 0
    table = Table(
        title=f"rag eval --compare: {questions} questions",
        caption=COMPARE_CAPTION.format(k=k),
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    table.add_column("retrieval", no_wrap=True)
    table.add_column("time", no_wrap=True)
    for _, _, short, _ in _ROWS:
        table.add_column(short.format(k=k), justify="right", no_wrap=True)
    for report in reports:
        retrieval, _, time_setting = report.label.rpartition(" time-")
        cells = [format_metric(report.metrics, name, digits=0) for name, *_ in _ROWS]
        table.add_row(retrieval or report.label, time_setting, *cells)
    return table


def tags_table(report: EvalReport) -> Table:
    """Right answers per tag (for an unanswerable question, right means it abstained)."""
    table = Table("tag", "right", "questions", "share", title="by tag", box=box.SIMPLE_HEAD)
    for score in scores_by_tag(report.results):
        table.add_row(score.tag, str(score.right), str(score.questions), f"{score.share:.3f}")
    return table


def failures_view(report: EvalReport) -> Group:
    """Every failed question: what was expected, what came back, what was cited, and why."""
    blocks: list[Text] = [Text(f"{len(report.failures)} failures ({report.label})", style="bold")]
    for result in report.failures:
        item = result.item
        block = Text()
        block.append(f"{item.id}  ", style="bold").append(item.question + "\n")
        expected = _snippet(item.answer) if item.answer else "(abstain)"
        block.append("  expected ").append(expected, style="green")
        block.append(f" in {', '.join(item.sources) or '-'}\n" if item.answerable else "\n")
        block.append("  got      ").append(_got(result), style="red").append("\n")
        for citation in result.answer.citations:
            block.append(f"  cited    {citation.doc_id}: ", style="dim").append(
                _snippet(citation.text) + "\n"
            )
        block.append("  problem  " + "; ".join(result.problems), style="yellow")
        blocks.append(block)
    return Group(*blocks)


def _got(result: QuestionResult) -> str:
    answer = result.answer
    return f"(abstained: {answer.reason})" if answer.abstained else answer.answer or ""


def _snippet(text: str, width: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def result_to_dict(result: QuestionResult) -> dict[str, Any]:
    """One question's result as JSON: the gold item, the full answer and the scores."""
    item = result.item
    return {
        "id": item.id,
        "question": item.question,
        "expected": item.answer,
        "alternatives": list(item.alternatives),
        "sources": list(item.sources),
        "tags": list(item.tags),
        "got": result.answer.answer,
        "abstained": result.answer.abstained,
        "numeric_correct": result.numeric_correct,
        "citation_correct": result.citation_correct,
        "gold_rank": result.gold_rank,
        "retrieved": list(result.retrieved),
        "latency_ms": round(result.latency_ms, 3),
        "problems": list(result.problems),
        "answer": answer_to_dict(result.answer),
    }


def report_to_dict(report: EvalReport) -> dict[str, Any]:
    """A run as JSON: its label, metrics and every per-question result."""
    return {
        "label": report.label,
        "metrics": asdict(report.metrics),
        "by_tag": [asdict(score) for score in scores_by_tag(report.results)],
        "results": [result_to_dict(r) for r in report.results],
    }


def shortfall_to_dict(shortfall: Shortfall) -> dict[str, Any]:
    """A missed (or unmeasured) threshold as JSON."""
    return {
        **asdict(shortfall.threshold),
        "measured": shortfall.measured,
        "failed": shortfall.failed,
        "message": shortfall.message,
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write the eval output as indented UTF-8 JSON; InputError when the file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the eval results to {path}: {exc}") from exc
