"""`rag index` and `rag info`: build the index and describe it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.options import IndexDirOption, ModelOption, settings_with
from cli.progress import progress_bar

console = Console()


def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to index [default: corpus/]")
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything from scratch")] = False,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    chunk_tokens: Annotated[int | None, typer.Option(help="Chunk size in cl100k tokens")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Overlap between chunks in tokens")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Embedding batch size")] = None,
    device: Annotated[str | None, typer.Option(help="Torch device: cpu, cuda, mps")] = None,
    lock_timeout: Annotated[float, typer.Option(help="Seconds to wait for another writer")] = 60.0,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Embed on Ray Data actors: a bare --ray starts a local Ray, an ADDRESS (auto, "
            "host:6379, ray://host:10001) joins a cluster. Needs the scale extra: "
            "pip install 'numrag\\[scale]'",
            show_default=False,
        ),
    ] = None,
    ray_workers: Annotated[int, typer.Option(min=1, help="Embedding actors on Ray")] = 2,
) -> None:
    """Ingest articles (.txt, .md, .html, .pdf) into the index; only new or changed files are embedded."""
    from index.embed import load_embedder
    from index.ingest import discover_files, load_documents
    from rag.engine import EngineConfig

    settings = settings_with(
        index_dir=index_dir,
        model=model,
        chunk_tokens=chunk_tokens,
        chunk_overlap=chunk_overlap,
        batch_size=batch_size,
        device=device,
    )
    location = EngineConfig.from_settings(settings).location
    files = discover_files(paths or [settings.corpus_dir])
    documents, skipped = load_documents(files)
    for item in skipped:
        console.print(f"[yellow]skipped[/] {item.path}: {item.reason}", highlight=False)
    with console.status("loading the embedding model…"):
        embedder = load_embedder(settings.model, settings.device)
    with contextlib.ExitStack() as stack:
        if ray is not None:
            embedder = stack.enter_context(_ray_embedder(embedder, settings, ray, ray_workers))
        report = _write(location, embedder, documents, rebuild, settings, lock_timeout)
    _print_report(report, len(skipped), location.describe())


def _ray_embedder(embedder, settings, address: str, workers: int):
    """The embedder on Ray actors (a local Ray for "local"), stopped when the index is written."""
    from index.ray_embed import RayEmbedder

    where = "a local Ray" if address == "local" else f"the Ray cluster at {address}"
    console.print(f"embedding on {where} with {workers} workers", highlight=False)
    return RayEmbedder(
        embedder,
        settings.model,
        address=None if address == "local" else address,
        workers=workers,
        device=settings.device,
        batch_size=settings.batch_size,
    )


def _write(location, embedder, documents, rebuild, settings, lock_timeout):
    from index.stores import ChunkParams, update_store

    with progress_bar(console, remaining=True) as bar:
        task = bar.add_task("embedding", total=None)
        _, report = update_store(
            location,
            embedder,
            files=documents,
            rebuild=rebuild,
            params=ChunkParams(settings.chunk_tokens, settings.chunk_overlap),
            batch_size=settings.batch_size,
            lock_timeout=lock_timeout,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            on_wait=lambda msg: console.print(msg),
        )
    return report


def _print_report(report, n_skipped: int, where: str) -> None:
    table = Table(show_header=False, box=None)
    rows = [
        ("documents", report.documents),
        ("chunks", report.chunks),
        ("embedded now", f"{report.embedded_chunks} chunks in {report.embedded_documents} documents"),
        ("reused", f"{report.reused_chunks} chunks in {report.reused_documents} documents"),
        ("removed", ", ".join(report.removed) or "none"),
        ("skipped files", n_skipped),
        ("seconds", f"{report.seconds:.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    state = "written" if report.written else "unchanged"
    console.print(f"index {state}: {where} ({report.version})", highlight=False)


def info(index_dir: IndexDirOption = None) -> None:
    """Describe the index: model, chunking, documents and their dates."""
    from index.stores import open_store
    from rag.engine import EngineConfig

    settings = settings_with(index_dir=index_dir)
    location = EngineConfig.from_settings(settings).location
    store = open_store(location)
    manifest = store.manifest
    kind = f"{manifest.dense_kind} {'Milvus' if location.kind == 'milvus' else 'FAISS'}"
    console.print(
        f"{location.describe()} ({store.version}): model {manifest.model} ({manifest.dim} dims), "
        f"{manifest.tokenizer} chunks of {manifest.chunk_tokens} tokens with {manifest.chunk_overlap} "
        f"overlap, {manifest.n_chunks} chunks, {kind}, built {manifest.created}",
        highlight=False,
    )
    table = Table("doc_id", "published", "source", "chunks", "title")
    counts = store.chunk_counts()
    for doc_id, document in store.documents.items():
        table.add_row(
            doc_id,
            document.published or "-",
            document.source or "-",
            str(counts[doc_id]),
            document.title,
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the commands of this module to the app."""
    app.command()(index)
    app.command()(info)
