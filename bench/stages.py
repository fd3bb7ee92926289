"""Stages of a long benchmark that fail on their own.

A stage that raises is recorded as `{"failed": "<one line>"}` in place of its figures, said in one
line, and the run goes on to the stages that do not need it, so the figures measured before and after
it are still printed and written (a failed Ray start no longer loses the store figures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from index.errors import one_line

T = TypeVar("T")
FAILED = "failed"


def run_stage(name: str, step: Callable[[], T], say: Callable[[str], None]) -> T | dict[str, str]:
    """step's result, or {"failed": message} when it raises (said in one line as `<name> failed: …`)."""
    try:
        return step()
    except Exception as exc:  # any failure of one stage: Ray, Milvus, the disk, a library
        message = one_line(exc)
        say(f"{name} failed: {message}")
        return {FAILED: message}


def failure(figures: object) -> str | None:
    """The one-line failure recorded for a stage, or None when it measured its figures."""
    return figures.get(FAILED) if isinstance(figures, dict) else None


def failed_stages(results: dict, names: tuple[str, ...]) -> dict[str, str]:
    """The stages among names that failed, each with its one-line message."""
    return {name: message for name in names if (message := failure(results.get(name)))}
