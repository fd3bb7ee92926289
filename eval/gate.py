"""Thresholds from one TOML file, and which metrics of a run miss them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eval.scorer import METRIC_NAMES, Metrics
from index.errors import InputError

DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
Bound = Literal["minimum", "maximum"]


@dataclass(frozen=True)
class Threshold:
    """A bound on one metric: at least `limit` for a minimum, at most for a maximum."""

    metric: str
    bound: Bound
    limit: float


@dataclass(frozen=True)
class Shortfall:
    """A metric that missed its threshold, or could not be measured."""

    threshold: Threshold
    measured: float | None

    @property
    def failed(self) -> bool:
        """True when the metric was measured and missed; an unmeasured one is only a warning."""
        return self.measured is not None

    @property
    def message(self) -> str:
        """One line: which metric failed, its value, the limit and by how much it missed."""
        name = self.threshold.metric.replace("_", " ")
        limit = self.threshold.limit
        if self.measured is None:
            return f"{name} was not measured (no question in the set measures it), limit {limit:.3f}"
        gap = abs(self.measured - limit)
        relation = "below the minimum" if self.threshold.bound == "minimum" else "above the maximum"
        return f"{name} {self.measured:.3f} is {relation} {limit:.3f} by {gap:.3f}"


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> tuple[Threshold, ...]:
    """Read [minimum] and [maximum] tables of metric = number; InputError on anything else."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"thresholds file {path} does not exist; pass --thresholds FILE") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"thresholds file {path} cannot be read: {exc}") from exc
    unknown_tables = sorted(set(data) - {"minimum", "maximum"})
    if unknown_tables:
        raise InputError(f"{path}: unknown table(s) {', '.join(unknown_tables)}; use [minimum] and [maximum]")
    thresholds = []
    for bound in ("minimum", "maximum"):
        for metric, limit in data.get(bound, {}).items():
            if metric not in METRIC_NAMES:
                raise InputError(
                    f"{path}: [{bound}] names unknown metric {metric!r}; known: {', '.join(METRIC_NAMES)}"
                )
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise InputError(f"{path}: [{bound}] {metric} must be a number, found {limit!r}")
            thresholds.append(Threshold(metric, bound, float(limit)))
    return tuple(thresholds)


def check_thresholds(metrics: Metrics, thresholds: tuple[Threshold, ...]) -> list[Shortfall]:
    """The thresholds a run misses, plus those it could not measure (see Shortfall.failed)."""
    shortfalls = []
    for threshold in thresholds:
        measured = metrics.value(threshold.metric)
        if measured is None or _misses(measured, threshold):
            shortfalls.append(Shortfall(threshold, measured))
    return shortfalls


def _misses(measured: float, threshold: Threshold) -> bool:
    if threshold.bound == "minimum":
        return measured < threshold.limit
    return measured > threshold.limit
