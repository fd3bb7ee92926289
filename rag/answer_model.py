"""The learned parts of answering beside the reader's weights: `ranker.json`.

It holds what `rag train` fitted after the reader: the question-kind classifier, the candidate
ranker, the calibration and its threshold, and the number of sentences read, each chosen on
validation; and, for readings that hold a table cell, a table ranker (absent: the ranker scores
them too) and the calibrations and thresholds of a table cell's value and of a "which year"
comparison across a table row, fitted by cross-fitting on the training questions answered from
tables (no validation set has tables). Serving only loads
it; a missing or malformed file stops with a message saying to run
`rag train`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from index.errors import ModelError
from rag.compare import COMPARISON_FEATURES
from rag.kinds import KindModel
from rag.ranking import CALIBRATION_FEATURES, FEATURES, Calibration, Linear, Trees, ranker_from_dict
from rag.reader import RETRAIN_HINT

RANKER_FILE = "ranker.json"
RANKER_FORMAT = 1


@dataclass(frozen=True)
class AnswerModel:
    """The fitted kind classifier, ranker and calibration, and the sentences read per question."""

    windows: int
    kinds: KindModel
    ranker: Trees | Linear | None  # None only while `rag train` reads the ranker's training questions
    calibration: Calibration | None
    raw: dict[str, Any]
    table_calibration: Calibration | None = None  # for a table cell's value; None: `calibration`
    comparison_calibration: Calibration | None = None  # for a "which year" comparison; None: none answers
    table_ranker: Trees | Linear | None = None  # scores a reading that holds a table cell; None: `ranker`


def read_answer_model(folder: Path) -> AnswerModel:
    """ranker.json of a weights folder, or ModelError naming what is wrong and the fix."""
    path = folder / RANKER_FILE
    if not path.is_file():
        raise ModelError(f"the answer model is missing: {folder} lacks {RANKER_FILE}; " + RETRAIN_HINT)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if int(raw["format"]) != RANKER_FORMAT:
            raise ModelError(f"{path} has format {raw['format']}, this version reads format {RANKER_FORMAT}; "
                             + RETRAIN_HINT)  # fmt: skip
        if raw.get("ranker") and tuple(raw["features"]) != FEATURES:
            raise ModelError(f"{path} was fitted on other ranking features than this version computes; "
                             + RETRAIN_HINT)  # fmt: skip
        widths = {"calibration": CALIBRATION_FEATURES, "table_calibration": CALIBRATION_FEATURES,
                  "comparison_calibration": COMPARISON_FEATURES}  # fmt: skip
        calibrations = {key: raw.get(key) for key in widths}
        for key, calibration in calibrations.items():
            if calibration and len(calibration["coef"]) != len(widths[key]):
                found = len(calibration["coef"])
                raise ModelError(f"{path} holds a {key.replace('_', ' ')} of {found} features, this version "
                                 f"reads {len(widths[key])}; " + RETRAIN_HINT)  # fmt: skip
        fitted = {key: _calibration(value) if value else None for key, value in calibrations.items()}
        return AnswerModel(
            windows=int(raw["windows"]),
            kinds=KindModel.from_dict(raw["kinds"]),
            ranker=ranker_from_dict(raw["ranker"]) if raw.get("ranker") else None,
            calibration=fitted["calibration"],
            raw=raw,
            table_calibration=fitted["table_calibration"],
            comparison_calibration=fitted["comparison_calibration"],
            table_ranker=ranker_from_dict(raw["table_ranker"]) if raw.get("table_ranker") else None,
        )
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelError(f"{path} cannot be read ({exc}); " + RETRAIN_HINT) from exc


def _calibration(data: dict[str, Any]) -> Calibration:
    coef = tuple(float(c) for c in data["coef"])
    return Calibration(coef, float(data["intercept"]), float(data["threshold"]))


def write_answer_model(folder: Path, **fields: Any) -> None:
    """Write (or update) ranker.json: the given fields over what the file holds already."""
    path = folder / RANKER_FILE
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"format": RANKER_FORMAT}
    current.update(fields)
    current["features"] = list(FEATURES)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, separators=(",", ":")) + "\n", encoding="utf-8")
    tmp.replace(path)
    load_answer_model.cache_clear()


@lru_cache(maxsize=4)
def load_answer_model(folder: Path) -> AnswerModel:
    """The answer model of a weights folder, loaded once per process."""
    return read_answer_model(folder)
