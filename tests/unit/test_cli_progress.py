"""The CLI's one progress bar: each command's columns, and no command building its own."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cli.progress import progress_bar

CLI = Path(__file__).resolve().parents[2] / "cli"


@pytest.mark.parametrize(
    ("elapsed", "remaining", "timing"),
    [
        (False, False, []),
        (True, False, [TimeElapsedColumn]),
        (False, True, [TimeRemainingColumn]),
        (True, True, [TimeElapsedColumn, TimeRemainingColumn]),
    ],
)
def test_the_bar_shows_description_bar_count_and_the_times_asked_for(elapsed, remaining, timing):
    bar = progress_bar(Console(file=io.StringIO()), elapsed=elapsed, remaining=remaining)
    kinds = [type(column) for column in bar.columns]
    assert kinds == [TextColumn, BarColumn, MofNCompleteColumn, *timing]


def test_a_bar_counts_on_the_console_it_is_given():
    out = io.StringIO()
    with progress_bar(Console(file=out, force_terminal=True, width=80), transient=False) as bar:
        task = bar.add_task("asking", total=4)
        bar.update(task, completed=3)
    assert "asking" in out.getvalue() and "3/4" in out.getvalue()


def test_only_the_progress_module_builds_a_rich_progress():
    builders = [
        path.name
        for path in sorted(CLI.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "rich.progress"
    ]
    assert builders == ["progress.py"]
