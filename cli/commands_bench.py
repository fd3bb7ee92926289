"""`rag bench`: speed and scale on this machine against a straightforward baseline; `--soak` runs a soak."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.options import IndexDirOption, settings_with
from index.paths import checkout_root

QuickOption = Annotated[bool, typer.Option("--quick", help="Small sizes, short runs (about 2 minutes)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object")]
SquadOption = Annotated[
    Path | None,
    typer.Option(
        "--squad",
        help="SQuAD v1.1 dev JSON (default: squad-v1.1/dev-v1.1.json under RAG_DATASETS_DIR, or under "
        "../shared/datasets beside a source checkout)",
    ),
]
ClientsOption = Annotated[int, typer.Option("--clients", help="Concurrent HTTP clients", min=1, max=64)]
DurationOption = Annotated[
    float | None, typer.Option("--duration", help="Seconds of HTTP load (default: 20; --quick: 3)", min=1)
]
DocOption = Annotated[
    Path | None,
    typer.Option(
        "--doc",
        help="Markdown report to write (default: docs/benchmarks.md of a source checkout, else "
        "./benchmarks.md; --quick: none)",
    ),
]
DeviceOption = Annotated[str, typer.Option("--device", help="Device of the indexing runs: cpu or cuda")]
SoakOption = Annotated[
    float | None,
    typer.Option(
        "--soak",
        help="Instead: mixed traffic (asks, searches, uploads, deletes) against a live server for MINUTES; "
        "the result replaces the Soak section of the --doc file",
        metavar="MINUTES",
    ),
]


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Instead: FAISS beside this store (milvus) on the same chunks, and Ray embedding; "
        "the result replaces the Stores section of the --doc file",
        show_default=False,
    ),
]
ChunksOption = Annotated[int, typer.Option("--chunks", min=100, help="Chunks in each store for --store")]


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
    store: StoreOption = None,
    chunks: ChunksOption = 100_000,
) -> None:
    """Measure indexing, store scale, query latency, HTTP load and cold start; compare with a baseline."""
    if store is not None:
        _run_stores(store, 5_000 if quick and chunks == 100_000 else chunks, as_json, doc or default_doc())
        return
    if soak is not None:
        _run_soak(soak, index_dir, as_json, doc or default_doc())
        return
    from bench.data import default_squad
    from bench.suite import BenchConfig

    settings = settings_with()
    options = {
        "squad": squad or default_squad(settings.datasets_dir),
        "clients": clients,
        "model": settings.model,
    }
    options["device"] = device
    if duration is not None:
        options["duration_s"] = duration
    config = BenchConfig.quick_config(**options) if quick else BenchConfig(**options)
    target = doc or (None if quick else default_doc())
    _run_bench(config, target, as_json, _command(quick, squad, clients, duration))


def default_doc() -> Path:
    """docs/benchmarks.md of a source checkout; elsewhere benchmarks.md in the working directory."""
    root = checkout_root()
    return root / "docs" / "benchmarks.md" if root is not None else Path.cwd() / "benchmarks.md"


def _run_bench(config: object, doc: Path | None, as_json: bool, command: str) -> None:
    """Run the benchmark, write the Markdown report, print the figures."""
    from bench.http_load import BenchError
    from bench.report import render_markdown, render_text
    from bench.suite import run_bench

    try:
        results = run_bench(config, _to_stderr)  # type: ignore[arg-type]  # bench.suite is imported lazily, so config is typed object
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if doc is not None:
        doc.parent.mkdir(parents=True, exist_ok=True)
        soak = _section(doc.read_text(), SOAK_HEADING) if doc.is_file() else None
        written = render_markdown(results, command)
        doc.write_text(_with_section(written, SOAK_HEADING, soak.split("\n", 1)[1]) if soak else written)
    if as_json:
        print(json.dumps({**results["summary"], "details": results}, indent=2, default=str))
        _exit_if_failed(results.get("failed", {}))
        return
    print(render_text(results))
    if doc is not None:
        print(f"\nwrote {doc}")
    _exit_if_failed(results.get("failed", {}))


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


STORES_HEADING = "## Stores: FAISS and Milvus"


def _run_stores(store: str, chunks: int, as_json: bool, doc: Path) -> None:
    """bench/stores.py: FAISS beside milvus-lite on the same chunks, and Ray embedding."""
    from bench import stores

    if store != "milvus":
        raise typer.BadParameter(f"--store takes milvus (FAISS runs beside it), not {store!r}")
    results = stores.compare_stores(chunks, settings_with().model, say=_to_stderr)
    command = f"rag bench --store milvus --chunks {chunks}"
    print(
        json.dumps({**stores.summary(results), "details": results}, indent=2)
        if as_json
        else stores.render_markdown(results, command)
    )
    write_section(doc, STORES_HEADING, stores.render_markdown(results, command))
    print(f"wrote the stores section of {doc}", file=sys.stderr)
    _exit_if_failed(stores.failed(results))


def _exit_if_failed(failures: dict[str, str]) -> None:
    """After the figures are out: one line per failed stage on stderr, and exit status 1."""
    for stage, message in failures.items():
        typer.echo(f"error: the {stage} stage failed: {message}", err=True)
    if failures:
        raise typer.Exit(1)


def _run_soak(minutes: float, index_dir: Path | None, as_json: bool, doc: Path | None) -> None:
    """Run bench/soak.py's mixed traffic, print the report, record it in the benchmarks document."""
    from bench import soak

    settings = settings_with(index_dir=index_dir)
    report = soak.run_soak(minutes, index_dir=settings.index_dir)
    print(json.dumps(report, indent=2, default=str) if as_json else _plain(report))
    if doc is not None:
        write_section(doc, SOAK_HEADING, soak.render_markdown(report, f"rag bench --soak {minutes:g}"))
        print(f"wrote the soak section of {doc}", file=sys.stderr)
    if report["errors"]:
        raise typer.Exit(1)


SOAK_HEADING = "## Soak"


def write_section(doc: Path, heading: str, body: str) -> None:
    """Put `heading` + body into doc, replacing that section if it is there, appending it if not."""
    text = doc.read_text() if doc.is_file() else "# Benchmarks\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(_with_section(text, heading, body))


def _with_section(text: str, heading: str, body: str) -> str:
    section = f"{heading}\n\n{body.strip()}\n"
    kept = _section(text, heading)
    if kept is None:
        return text.rstrip("\n") + "\n\n" + section
    return text.replace(kept, section)


def _section(text: str, heading: str) -> str | None:
    """The section of text under heading, up to the next heading of the same level."""
    start = text.find(f"\n{heading}\n")
    if start < 0:
        return None
    end = text.find("\n## ", start + 1 + len(heading))
    return text[start + 1 : end + 1 if end >= 0 else len(text)]


def _plain(report: dict) -> str:
    return "\n".join(f"{key}: {value}" for key, value in report.items())


def register(app: typer.Typer) -> None:
    """Add the command of this module to the app."""
    app.command()(bench)
