"""The progress bar of the long CLI commands (`rag index`, `rag eval`, `rag train`), drawn by rich.

Every bar shows the task's description, a bar and done/total; a command adds the elapsed and/or
the remaining time. How it draws on a terminal, and in a pipe, is rich's own behaviour.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_bar(
    console: Console, *, elapsed: bool = False, remaining: bool = False, transient: bool = True
) -> Progress:
    """A bar on `console` (a context manager); `transient` clears it when the work is done."""
    columns: list[ProgressColumn] = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
    ]
    if elapsed:
        columns.append(TimeElapsedColumn())
    if remaining:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console, transient=transient)
