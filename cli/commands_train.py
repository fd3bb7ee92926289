"""`rag train`: rebuild the learned reader's weights from the public datasets, seeded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.options import settings_with
from cli.progress import progress_bar

console = Console()


def train(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="Folder of the public QA datasets [env: RAG_DATASETS_DIR]", show_default=False
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the weights [default: the shipped rag/models/reader]",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option("--device", help="cpu or cuda [default: cuda when a GPU is there]", show_default=False),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random choice")] = 13,
    max_questions: Annotated[
        int | None,
        typer.Option(
            "--max-questions",
            min=1,
            help="Reader training questions used, numeric first [default: all of the reader fold]",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the training windows")] = 1,
    validation_limit: Annotated[
        int | None,
        typer.Option(
            "--validation-limit",
            min=1,
            help="Questions per reading set, ranker fold and validation (a quick check)",
            show_default=False,
        ),
    ] = None,
    ranker_only: Annotated[
        bool,
        typer.Option(
            "--ranker-only",
            help="Keep the reader already in --out; refit the ranker, calibration and threshold (minutes)",
        ),
    ] = False,
    tables_only: Annotated[
        bool,
        typer.Option(
            "--tables-only",
            help="Keep everything text is answered with (reader, ranker, calibration, threshold) in --out; "
            "refit the table ranker and the table calibrations (minutes)",
        ),
    ] = False,
) -> None:
    """Fine-tune the span reader, fit the ranker, choose on validation, write the weights and a model card."""
    from index.paths import datasets_dir
    from train.fit import TrainConfig
    from train.run import TrainRequest, run_training

    settings = settings_with(datasets_dir=data)
    data_dir = datasets_dir(settings.datasets_dir)
    config = TrainConfig(
        seed=seed, max_questions=max_questions, epochs=epochs, device=device or _best_device()
    )
    request = TrainRequest(data_dir, _weights_dir(out), config, validation_limit,
                           settings.model, ranker_only, tables_only)  # fmt: skip
    what = "training the reader"
    if ranker_only or tables_only:
        what = f"refitting the {'table ranker' if tables_only else 'ranker'} of {request.out_dir}"
    console.print(f"{what} on {config.device} (seed {seed}); data from {data_dir}", highlight=False)
    with progress_bar(console, elapsed=True, remaining=True, transient=False) as bar:
        tasks: dict[str, int] = {}

        def on_progress(stage: str, done: int, total: int | None, note: str) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total, description=f"{stage}: {note}")

        card = run_training(request, on_progress)
    chosen = card["validation"]["chosen"]
    if tables_only:
        _report_tables(request.out_dir, chosen, card["tables_refit"]["wall_time_s"])
        return
    figures = "; ".join(
        f"{domain} right {f.get('right', 0):.3f}, wrong {f.get('wrong', 0):.3f}, "
        f"abstention recall {f.get('abstention_recall', 0):.3f}"
        for domain, f in chosen["answered"].items()
    )
    seconds = card["ranker_refit"]["wall_time_s"] if ranker_only else card["wall_time_s"]["total"]
    console.print(
        f"weights written to {request.out_dir}: validation {figures}; {chosen['ranker']} ranker reading "
        f"{chosen['windows']} sentences, threshold {chosen['calibration']['threshold']:.3f}; "
        f"{seconds:.0f} s (model card: MODEL_CARD.md)",
        highlight=False,
    )


def _report_tables(out: Path, chosen: dict, seconds: float) -> None:
    """What `--tables-only` refitted: the table weight, and the cell calibration's cross-fitted figures."""
    fit, cells = chosen["table_ranker_fit"], chosen.get("table_calibration")
    weight = f"{fit['table_weight']:g}"
    figures = ""
    if cells:
        crossed = cells["cross_fitted"]
        figures = (f"; cells cross-fitted right {crossed['right']:.3f}, wrong {crossed['wrong']:.3f} at "
                   f"threshold {cells['threshold']:.3f}")  # fmt: skip
    console.print(
        f"table ranker written to {out}: table questions weigh {weight} (right cell first, out of "
        f"report: {fit['tried'][weight]['top1']:.3f}){figures}; text answers unchanged; "
        f"{seconds:.0f} s (model card: MODEL_CARD.md)",
        highlight=False,
    )


def _best_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def register(app: typer.Typer) -> None:
    """Add `rag train` to the app."""
    app.command("train")(train)


def _weights_dir(out: Path | None) -> Path:
    """--out, else the shipped weights' folder, which only a source checkout writes over."""
    from index.errors import InputError
    from index.paths import checkout_root
    from rag.reader import DEFAULT_READER_DIR

    if out is not None:
        return out
    if checkout_root() is None:
        raise InputError(
            "pass --out DIR: an installed copy keeps its shipped weights; serve the new ones with "
            "RAG_READER_DIR=DIR"
        )
    return DEFAULT_READER_DIR
