"""Entry point of the `rag` console script: subcommands, settings overrides, error handling."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from index.errors import RagError

app = typer.Typer(
    name="rag",
    help="Grounded, numeric question answering over news articles, with citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def _register() -> None:
    """Attach the subcommands (their modules import heavy libraries only when run)."""
    from cli import commands_index

    commands_index.register(app)
    for name in ("commands_query", "commands_serve", "commands_eval", "commands_bench", "commands_train"):
        try:
            module = __import__(f"cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"cli.{name}":
                raise
            continue
        module.register(app)


def main() -> None:
    """Run the CLI; a RagError becomes one line on stderr and exit status 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _register()
    try:
        app()
    except RagError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
