"""`rag serve`: the HTTP API and the web page, served by uvicorn."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.options import IndexDirOption, ModelOption, settings_with


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8000,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    build_index: Annotated[
        bool | None,
        typer.Option(
            "--build-index/--no-build-index",
            help="Build the index from the corpus when none exists [env: RAG_BUILD_INDEX_ON_START]",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the API (docs at /docs) and the question page (at /); the API key comes from RAG_API_KEY."""
    import uvicorn

    from api.app import create_app

    settings = settings_with(index_dir=index_dir, model=model, build_index_on_start=build_index)
    _one_search_thread()
    typer.echo(f"serving {settings.index_dir} on http://{host}:{port}/ (API docs at /docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


def _one_search_thread() -> None:
    """FAISS searches on one OpenMP thread unless OMP_NUM_THREADS says otherwise.

    The server's concurrent requests already use the cores; OpenMP threads inside each search
    spin against them (docs/benchmarks.md: 137 answered/s at p50 56 ms, against 118/s at 65 ms).
    """
    if "OMP_NUM_THREADS" not in os.environ:
        import faiss

        faiss.omp_set_num_threads(1)


def register(app: typer.Typer) -> None:
    """Add the command of this module to the app."""
    app.command()(serve)
