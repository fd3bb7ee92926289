"""`rag eval`: measure the answerer on an eval set, a configuration grid, or a public dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from cli.options import IndexDirOption, settings_with
from cli.progress import progress_bar

if TYPE_CHECKING:
    from eval.gate import Threshold
    from eval.runner import EvalReport
    from index.embed import Embedder
    from qadata.questions import EvalItem
    from rag.engine import EngineConfig
    from rag.settings import Settings

console = Console()

QuestionsOption = Annotated[
    Path | None,
    typer.Option(
        "--questions", help="JSONL eval set [default: the bundled eval/questions.jsonl]", show_default=False
    ),
]
JsonOption = Annotated[
    Path | None, typer.Option("--json", help="Write every per-question result and the metrics here")
]
DatasetOption = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="Evaluate on a public dataset instead: squad, squad2, tatqa (a file) or bbc (its folder)",
        show_default=False,
    ),
]
GateOption = Annotated[
    bool | None,
    typer.Option(
        "--gate/--no-gate",
        help="Exit 1 when a metric misses eval/thresholds.toml "
        "[default: gate an eval set, not --compare or --dataset]",
        show_default=False,
    ),
]


def evaluate(
    dataset_file: Annotated[
        Path | None, typer.Argument(help="The dataset file for --dataset", show_default=False)
    ] = None,
    questions: QuestionsOption = None,
    json_out: JsonOption = None,
    k: Annotated[
        int | None,
        typer.Option("-k", min=1, help="Passages retrieved per question [default: 5]", show_default=False),
    ] = None,
    index_dir: IndexDirOption = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="Every retrieval mode, fusion and time setting in one table")
    ] = False,
    dataset: DatasetOption = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N dataset questions")] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Ask only one split's questions (train, validation, heldout), over every document",
            show_default=False,
        ),
    ] = None,
    thresholds: Annotated[
        Path | None,
        typer.Option(
            "--thresholds", help="Thresholds TOML file [default: eval/thresholds.toml]", show_default=False
        ),
    ] = None,
    gate: GateOption = None,
    within_sources: Annotated[
        bool,
        typer.Option(
            "--within-sources",
            help="Ask each dataset question within its own source documents (filters.doc_ids)",
        ),
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the risk-coverage curve as an SVG here", show_default=False),
    ] = None,
) -> None:
    """Score numeric answers, citations, abstentions, retrieval and latency against gold answers."""
    from eval.gate import DEFAULT_THRESHOLDS, load_thresholds

    _check_options(dataset, dataset_file, questions, compare, split, within_sources)
    settings = settings_with(index_dir=index_dir, top_k=k)
    limits = load_thresholds(thresholds or DEFAULT_THRESHOLDS)
    if compare:
        _compare(questions, settings, json_out)
        return
    if dataset is not None:
        report = _run_dataset(dataset, dataset_file, limit, settings, split, within_sources)
    else:
        report = _run_questions(questions, settings)
    if plot is not None:
        from eval.plot import write_plot

        write_plot(plot, {report.label: report.metrics.risk_coverage}, f"risk-coverage: {report.label}")
        console.print(f"risk-coverage plot written to {plot}", highlight=False)
    _finish(report, limits, json_out, gate if gate is not None else dataset is None)


def _check_options(
    dataset: str | None,
    dataset_file: Path | None,
    questions: Path | None,
    compare: bool,
    split: str | None,
    within_sources: bool = False,
) -> None:
    from index.errors import InputError
    from qadata.splits import SPLITS

    if within_sources and dataset is None:
        raise InputError("--within-sources goes with --dataset")
    if split is not None and (dataset is None or split not in SPLITS):
        raise InputError(f"--split takes one of {', '.join(SPLITS)} and goes with --dataset")

    if dataset is None and dataset_file is not None:
        raise InputError(f"{dataset_file} is only read with --dataset squad|squad2|tatqa|bbc")
    if dataset is not None and (questions is not None or compare):
        raise InputError("--dataset runs a public dataset; leave out --questions and --compare with it")


def _run_questions(questions: Path | None, settings: Settings) -> EvalReport:
    from eval.runner import run_eval
    from rag.engine import Engine

    items, config, embedder = _eval_set_parts(questions, settings)
    with progress_bar(console, elapsed=True) as bar:
        task = bar.add_task("asking", total=len(items))
        engine = Engine(config, embedder)
        return run_eval(
            engine, items, k=settings.top_k, progress=lambda done, _: bar.update(task, completed=done)
        )


def _compare(questions: Path | None, settings: Settings, json_out: Path | None) -> None:
    from eval.report import compare_table, report_to_dict, write_json
    from eval.runner import compare_variants

    items, config, embedder = _eval_set_parts(questions, settings)
    with progress_bar(console, elapsed=True) as bar:
        task = bar.add_task("comparing", total=None)
        reports = compare_variants(
            config,
            embedder,
            items,
            k=settings.top_k,
            progress=lambda label, done, total: bar.update(
                task, description=label, completed=done, total=total
            ),
        )
    console.print(compare_table(reports))
    if json_out:
        write_json(json_out, {"runs": [report_to_dict(r) for r in reports]})
        console.print(f"results written to {json_out}", highlight=False)


def _eval_set_parts(
    questions: Path | None, settings: Settings
) -> tuple[list[EvalItem], EngineConfig, Embedder]:
    """The validated eval set (read before the model loads, so a bad line fails fast) and the engine parts."""
    from eval.questions import BUNDLED_QUESTIONS
    from qadata.questions import load_eval_set

    path = questions or BUNDLED_QUESTIONS
    items = load_eval_set(path)
    config, embedder = _engine_parts(settings)
    console.print(f"{len(items)} questions from {path}", highlight=False)
    return items, config, embedder


def _run_dataset(
    name: str,
    path: Path | None,
    limit: int | None,
    settings: Settings,
    split: str | None = None,
    within_sources: bool = False,
) -> EvalReport:
    from eval.runner import run_external
    from index.errors import InputError
    from qadata.external import DATASETS, load_external

    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; use one of {', '.join(DATASETS)}")
    if path is None:
        raise InputError(f"--dataset {name} needs the dataset file: rag eval --dataset {name} PATH")
    dataset = load_external(name, path, limit, split)  # type: ignore[arg-type]  # --split arrives as a plain string; load_external checks it
    console.print(
        f"{name}: {len(dataset.items)} questions over {len(dataset.documents)} documents", highlight=False
    )
    config, embedder = _engine_parts(settings)
    with progress_bar(console, elapsed=True) as bar:
        embedding = bar.add_task("indexing (temporary)", total=None)
        asking = bar.add_task("asking", total=len(dataset.items))
        report, built = run_external(
            dataset,
            config,
            embedder,
            k=settings.top_k,
            on_embed=lambda done, total: bar.update(embedding, completed=done, total=total),
            progress=lambda done, _: bar.update(asking, completed=done),
            label=f"{name}{f' {split}' if split else ''}{' within sources' if within_sources else ''}",
            within_sources=within_sources,
        )
    console.print(
        f"indexed {built.documents} documents ({built.chunks} chunks) in {built.seconds:.1f} s",
        highlight=False,
    )
    return report


def _engine_parts(settings: Settings) -> tuple[EngineConfig, Embedder]:
    from index.embed import load_embedder
    from rag.engine import EngineConfig

    with console.status("loading the embedding model…"):
        embedder = load_embedder(settings.model, settings.device)
    return EngineConfig.from_settings(settings), embedder


def _finish(report: EvalReport, limits: tuple[Threshold, ...], json_out: Path | None, gate: bool) -> None:
    from eval.gate import check_thresholds
    from eval.report import (
        failures_view,
        metrics_table,
        report_to_dict,
        risk_table,
        shortfall_to_dict,
        tags_table,
        write_json,
    )

    shortfalls = check_thresholds(report.metrics, limits)
    console.print(metrics_table(report, shortfalls, limits))
    console.print(tags_table(report))
    if report.metrics.risk_coverage:
        console.print(risk_table(report))
    if report.failures:
        console.print(failures_view(report), highlight=False)
    else:
        console.print("no failures")
    if json_out:
        write_json(
            json_out,
            {
                **report_to_dict(report),
                "gate": gate,
                "shortfalls": [shortfall_to_dict(s) for s in shortfalls],
            },
        )
        console.print(f"results written to {json_out}", highlight=False)
    for shortfall in shortfalls:
        style = "bold red]FAIL" if shortfall.failed and gate else "yellow]warn"
        console.print(f"[{style}[/] {shortfall.message}", highlight=False)
    if gate and any(s.failed for s in shortfalls):
        raise typer.Exit(1)
    if not shortfalls:
        console.print("every metric meets its threshold")


def register(app: typer.Typer) -> None:
    """Add `rag eval` to the app."""
    app.command("eval")(evaluate)
