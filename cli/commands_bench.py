"""`rag bench`: speed and scale on this machine against a straightforward baseline; `--soak` runs a soak."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.options import IndexDirOption, settings_with

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
QuickOption = Annotated[bool, typer.Option("--quick", help="Small sizes, short runs (about 2 minutes)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object")]
SquadOption = Annotated[
    Path | None,
    typer.Option(
        "--squad", help="SQuAD v1.1 dev JSON (default: ../shared/datasets/squad-v1.1/dev-v1.1.json)"
    ),
]
ClientsOption = Annotated[int, typer.Option("--clients", help="Concurrent HTTP clients", min=1, max=64)]
DurationOption = Annotated[
    float | None, typer.Option("--duration", help="Seconds of HTTP load (default: 20; --quick: 3)", min=1)
]
DocOption = Annotated[
    Path | None,
    typer.Option("--doc", help="Markdown report to write (default: docs/benchmarks.md; --quick: none)"),
]
DeviceOption = Annotated[str, typer.Option("--device", help="Device of the indexing runs: cpu or cuda")]
SoakOption = Annotated[
    float | None,
    typer.Option("--soak", help="Run eval/soak.py's mixed traffic for MINUTES instead", metavar="MINUTES"),
]


def bench(
    quick: QuickOption = False,
    as_json: JsonOption = False,
    squad: SquadOption = None,
    clients: ClientsOption = 8,
    duration: DurationOption = None,
    doc: DocOption = None,
    device: DeviceOption = "cpu",
    soak: SoakOption = None,
    index_dir: IndexDirOption = None,
) -> None:
    """Measure indexing, store scale, query latency, HTTP load and cold start; compare with a baseline."""
    if soak is not None:
        _run_soak(soak, index_dir, as_json)
        return
    from eval.bench import BenchConfig
    from eval.bench_data import DEFAULT_SQUAD

    options = {"squad": squad or DEFAULT_SQUAD, "clients": clients, "model": settings_with().model}
    options["device"] = device
    if duration is not None:
        options["duration_s"] = duration
    config = BenchConfig.quick_config(**options) if quick else BenchConfig(**options)
    target = doc or (None if quick else DOC_PATH)
    _run_bench(config, target, as_json, _command(quick, squad, clients, duration))


def _run_bench(config: object, doc: Path | None, as_json: bool, command: str) -> None:
    """Run the benchmark, write the Markdown report, print the figures."""
    from eval.bench import run_bench
    from eval.bench_http import BenchError
    from eval.bench_report import render_markdown, render_text

    try:
        results = run_bench(config, _to_stderr)  # type: ignore[arg-type]
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if doc is not None:
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(render_markdown(results, command))
    if as_json:
        print(json.dumps({**results["summary"], "details": results}, indent=2, default=str))
        return
    print(render_text(results))
    if doc is not None:
        print(f"\nwrote {doc}")


def _to_stderr(line: str) -> None:
    """Progress goes to stderr, so `--json` output stays one clean object."""
    print(f"· {line}", file=sys.stderr, flush=True)


def _command(quick: bool, squad: Path | None, clients: int, duration: float | None) -> str:
    """The command line that reproduces a run."""
    parts = ["rag bench"] + (["--quick"] if quick else [])
    if squad is not None:
        parts += ["--squad", str(squad)]
    if clients != 8:
        parts += ["--clients", str(clients)]
    if duration is not None:
        parts += ["--duration", f"{duration:g}"]
    return " ".join(parts)


def _run_soak(minutes: float, index_dir: Path | None, as_json: bool) -> None:
    """Hand over to eval/soak.py's run_soak, imported only now; a clear error when it is missing."""
    try:
        from eval import soak
    except ModuleNotFoundError as exc:
        if exc.name != "eval.soak":
            raise
        typer.echo(
            "error: --soak needs eval/soak.py (with run_soak(minutes, index_dir, ...)), which this "
            "checkout does not have yet; run `rag bench` without --soak for the benchmarks",
            err=True,
        )
        raise typer.Exit(2) from exc
    settings = settings_with(index_dir=index_dir)
    report = soak.run_soak(minutes, index_dir=settings.index_dir)
    print(json.dumps(report, indent=2, default=str) if as_json else _plain(report))


def _plain(report: dict) -> str:
    return "\n".join(f"{key}: {value}" for key, value in report.items())


def register(app: typer.Typer) -> None:
    """Add the command of this module to the app."""
    app.command()(bench)
