"""Entry point of the `rag` console script: subcommands, settings overrides, error handling."""

from __future__ import annotations

import logging
import os
import re
import sys

import typer
from rich.console import Console
from rich.markup import escape

from index.errors import RagError, one_line

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


_ADDRESS = re.compile(r"^(auto|local|[a-z][a-z0-9+.-]*://\S+|[\w.-]+:\d+)$", re.IGNORECASE)


def with_optional_values(argv: list[str]) -> list[str]:
    """`rag index --ray` takes an optional ADDRESS: a bare `--ray` (followed by an option, a path or
    nothing) means a local Ray, written `--ray=local` for the parser."""
    out = list(argv)
    for position, arg in enumerate(out):
        if arg == "--ray":
            following = out[position + 1] if position + 1 < len(out) else None
            if following is None or not _ADDRESS.match(following):
                out[position] = "--ray=local"
    return out


DEBUG_ENV = "RAG_DEBUG"  # set to 1: an unexpected error shows its traceback instead of one line


def main() -> None:
    """Run the CLI; any error becomes one line on stderr and a non-zero exit (RAG_DEBUG=1: a traceback)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _register()
    try:
        app(args=with_optional_values(sys.argv[1:]))
    except RagError as exc:
        _print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a failed Ray start, an OSError, a library's error: one line, not a traceback
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        _print_error(f"{one_line(exc)} (set {DEBUG_ENV}=1 for the traceback)")
        sys.exit(1)


def _print_error(message: str) -> None:
    # escaped: a message may hold brackets ("numrag[scale]", a list) that rich would read as markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
