"""`rag train` end to end: data, the kind classifier, the reader, the ranker, the validation choices,
weights and model card.

1. The training questions (`train.examples`) are split by group (`qadata.splits.ranker_fold`): the
   reader is fine-tuned on the reader fold; the ranker fold is kept from it.
2. The question-kind classifier is fitted on every training question's gold answer.
3. The ranker fold's questions and the validation questions are read through the serving pipeline
   with the new reader (`train.readings`).
4. On validation (`train.choose`): the sentences read, the ranker design, the calibration and the
   threshold. `ranker.json`, `training.json` and `MODEL_CARD.md` are written beside the weights.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from index.embed import load_embedder
from index.errors import InputError, ModelError
from qadata.splits import SQUAD_V1, SQUADSHIFTS, DataDir, open_data_dir, ranker_fold
from rag.answer_model import RANKER_FILE, load_answer_model, read_answer_model, write_answer_model
from rag.reader import DEFAULT_READER_DIR, SpanReader
from train.card import write_card
from train.choose import WRONG_BUDGETS, Design, choose, fit_tables
from train.examples import QAExample, article_paragraphs, training_examples
from train.export import save_reader, update_meta
from train.fit import (
    Encoded,
    TrainConfig,
    build_windows,
    count_by_source,
    encode_windows,
    fit_reader,
    select_questions,
    tokenizer_for,
)
from train.kinds import fit_kind_model, kind_label
from train.readings import READ_WINDOWS, TABLE_SET, read_corpora, training_corpora

# (stage, done, total, note): stages are "examples", "training", "embedding", "reading"
Progress = Callable[[str, int, int | None, str], None]
METRICS_FILE = "training.json"
FOLDED_SOURCES = frozenset({"bbc", "squad", "drop", "tatqa"})  # their corpora are indexed to read the fold


@dataclass(frozen=True)
class TrainRequest:
    """What `rag train` was asked to do."""

    datasets_dir: Path
    out_dir: Path = DEFAULT_READER_DIR
    config: TrainConfig = TrainConfig()
    validation_limit: int | None = None  # questions per reading set (a quick check); None: all
    embedding_model: str = "all-MiniLM-L6-v2"
    ranker_only: bool = False  # keep the reader in out_dir; refit the kinds, ranker and calibration
    tables_only: bool = False  # keep what text is answered with; refit the table ranker and calibrations


@dataclass(frozen=True)
class Prepared:
    """The training split, the reader's and the ranker's questions, and the reader's encoded windows."""

    data: DataDir
    examples: list[QAExample]
    questions: list[QAExample]  # the reader's
    fold: list[QAExample]  # the ranker's
    encoded: Encoded


def run_training(request: TrainRequest, progress: Progress) -> dict[str, Any]:
    """Train, validate and write the reader and ranker; returns what the model card reports."""
    started = time.perf_counter()
    if request.ranker_only and request.tables_only:
        raise InputError("--ranker-only and --tables-only cannot be combined: --ranker-only refits the table "
                         "ranker too")  # fmt: skip
    if request.ranker_only:
        return refit_ranker(request, progress)
    if request.tables_only:
        return refit_tables(request, progress)
    prepared = prepare(request, progress)
    model = fit_reader(
        prepared.encoded,
        request.config,
        lambda step, total, loss: progress("training", step, total, f"loss {loss:.3f}"),
    )
    return finish(request, model, prepared, time.perf_counter() - started, progress)


def refit_ranker(request: TrainRequest, progress: Progress) -> dict[str, Any]:
    """Keep the reader of `out_dir` and redo everything after it: the kind classifier, the readings,
    the ranker, the calibration and the card. The reader's fold is the same split of the same data,
    so the result is what a whole `rag train` with that reader's settings writes, in a third of the
    time; the card keeps the reader's own training figures."""
    out = request.out_dir
    try:
        previous = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
        SpanReader(out, request.config.device)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"--ranker-only needs a trained reader in {out} (with its {METRICS_FILE}): {exc}"
        ) from exc
    data, examples, fold = _ranker_fold(request, progress)
    config = TrainConfig(**{**previous["config"], "device": request.config.device})
    prepared = Prepared(data, examples, [], fold, Encoded([], [], [], [], []))
    kept = {key: previous[key] for key in ("config", "data", "wall_time_s", "command")}
    training_s = kept["wall_time_s"]["training"]
    return finish(replace(request, config=config), None, prepared, training_s, progress, kept)


def refit_tables(request: TrainRequest, progress: Progress) -> dict[str, Any]:
    """Keep the reader, the kind classifier, the ranker, its calibration and threshold of `out_dir`
    (everything a reading without a table is answered with) and refit what ranks and calibrates a
    reading that holds a table cell (`train.choose.fit_tables`) on the ranker fold's readings: after
    a change to how tables are read, the answers from text stay exactly as validated."""
    started = time.perf_counter()
    out = request.out_dir
    try:
        previous = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
        model = read_answer_model(out)
        chosen = previous["validation"]["chosen"]
        design = Design(int(chosen["windows"]), chosen["ranker"], float(chosen["news_weight"]),
                        float(chosen.get("table_weight", 1.0)))  # fmt: skip
        reader = SpanReader(out, request.config.device)
        if model.ranker is None:
            raise ValueError(f"its {RANKER_FILE} holds no ranker")
    except (OSError, ValueError, KeyError, TypeError, ModelError) as exc:
        raise InputError(
            f"--tables-only needs trained weights in {out} (a reader with its {RANKER_FILE} and "
            f"{METRICS_FILE}): {exc}"
        ) from exc
    data, examples, fold = _ranker_fold(request, progress)
    corpora = [replace(c, sets=sets) for c in training_corpora(data, fold, request.validation_limit)
               if (sets := tuple(s for s in c.sets if s.role == "ranker"))]  # fmt: skip
    readings = read_corpora(
        corpora, reader, model, load_embedder(request.embedding_model),
        on_question=lambda done, total: progress("reading", done, total, "reading questions"),
        on_embed=lambda done, total: progress("embedding", done, total, "indexing their corpora"),
    )  # fmt: skip
    tables = fit_tables(readings, design, model.kinds, request.config.seed, kept=True)
    chosen = {
        **chosen,
        "table_calibration": tables.table.to_dict() if tables.table else None,
        "comparison_calibration": tables.comparison.to_dict() if tables.comparison else None,
        "table_ranker_fit": tables.to_dict(),
    }
    table_ranker = tables.ranker.to_dict() if tables.ranker else None
    write_answer_model(out, table_ranker=table_ranker, **_shipped_calibrations(chosen), chosen=_brief(chosen))
    card = {**previous, "validation": {**previous["validation"], "chosen": chosen}}
    tables_read = sum(1 for r in readings if r.set_name == TABLE_SET)
    card["data"] = {**card["data"], "ranker_table_questions": tables_read}
    card["tables_refit"] = {"command": _command(), "wall_time_s": round(time.perf_counter() - started, 1)}
    _write_record(out, card)
    return card


def _shipped_calibrations(chosen: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """The table calibrations as ranker.json holds them: coefficients, intercept and threshold."""
    shipped = {}
    for key in ("table_calibration", "comparison_calibration"):
        fitted = chosen[key]
        shipped[key] = {k: fitted[k] for k in ("coef", "intercept", "threshold")} if fitted else None
    return shipped


def _brief(choice: dict[str, Any]) -> dict[str, Any]:
    """A validation choice without its reliability and risk-coverage tables."""
    return {k: v for k, v in choice.items() if k not in ("reliability", "risk_coverage")}


def _command() -> str:
    """The `rag train` command line this process runs."""
    return " ".join(["rag", "train", *(shlex.quote(a) for a in sys.argv[2:])])


def _write_record(out: Path, card: dict[str, Any]) -> None:
    """The training record: reader.json's "trained", training.json and the model card."""
    update_meta(out, trained={k: v for k, v in card.items() if k != "validation"})
    (out / METRICS_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    write_card(out, card)


def _ranker_fold(
    request: TrainRequest, progress: Progress
) -> tuple[DataDir, list[QAExample], list[QAExample]]:
    """The data folder, its training questions and the ranker fold's, for a refit."""
    data = open_data_dir(request.datasets_dir)
    progress("examples", 0, None, "reading the training split")
    examples = training_examples(data)
    fold = [e for e in examples if in_ranker_fold(e)]
    progress("examples", len(examples), len(examples), f"{len(fold)} ranker questions")
    return data, examples, fold


def in_ranker_fold(example: QAExample) -> bool:
    """True for the training questions kept from the reader for the ranker."""
    return example.source in FOLDED_SOURCES and ranker_fold(example.group)


def prepare(request: TrainRequest, progress: Progress) -> Prepared:
    """Read the training split, choose the reader's questions and encode their windows."""
    data = open_data_dir(request.datasets_dir)
    config = request.config
    progress("examples", 0, None, "reading the training split")
    examples = training_examples(data)
    fold = [e for e in examples if in_ranker_fold(e)]
    questions = select_questions([e for e in examples if not in_ranker_fold(e)], config)
    articles = {**article_paragraphs(data, SQUADSHIFTS), **article_paragraphs(data, SQUAD_V1)}
    windows = build_windows(questions, articles, config.seed, config.negatives)
    encoded = encode_windows(windows, tokenizer_for(config.max_length))
    progress("examples", len(encoded.ids), len(encoded.ids), f"{len(questions)} questions")
    return Prepared(data, examples, questions, fold, encoded)


def finish(
    request: TrainRequest,
    model: Any,
    prepared: Prepared,
    train_seconds: float,
    progress: Progress,
    kept: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Save the reader (None: keep the one there, whose card figures are `kept`), fit the kind
    classifier, read the ranker fold and validation questions, choose on validation, write the
    answer model and the card."""
    started = time.perf_counter()
    config, out = request.config, request.out_dir
    if model is not None:
        save_reader(model, out, {"max_length": config.max_length})
    labelled = [(e.question, kind) for e in prepared.examples
                if e.answerable and e.numeric and (kind := kind_label(e.answer_text))]  # fmt: skip
    kinds = fit_kind_model(labelled, config.seed)
    write_answer_model(
        out, windows=READ_WINDOWS, kinds=kinds.to_dict(), ranker=None, calibration=None, table_ranker=None
    )
    corpora = training_corpora(prepared.data, prepared.fold, request.validation_limit)
    reader, embedder = SpanReader(out, config.device), load_embedder(request.embedding_model)
    readings = read_corpora(
        corpora, reader, load_answer_model(out), embedder,
        on_question=lambda done, total: progress("reading", done, total, "reading questions"),
        on_embed=lambda done, total: progress("embedding", done, total, "indexing their corpora"),
    )  # fmt: skip
    chosen, choices = choose(readings, kinds, config.seed)
    summary = chosen.to_dict()
    brief = _brief(summary)
    table_ranker = chosen.table_ranker.to_dict() if chosen.table_ranker else None
    write_answer_model(out, windows=chosen.design.windows, ranker=chosen.ranker.to_dict(),
                       calibration=summary["calibration"], table_ranker=table_ranker,
                       **_shipped_calibrations(summary), chosen=brief)  # fmt: skip
    encoded = prepared.encoded
    sets: dict[str, dict[str, int]] = {}
    for reading in readings:
        entry = sets.setdefault(reading.set_name, {"questions": 0, "answerable": 0, "role": reading.role})
        entry["questions"] += 1
        entry["answerable"] += reading.answerable
    command = _command()
    reader_data = {
        "reader_questions": count_by_source(prepared.questions),
        "training_windows": len(encoded.ids),
        "positive_windows": sum(1 for s in encoded.starts if s > 0),
    }
    if kept is not None:  # the reader was kept: its own figures come from its card
        reader_data = {key: kept["data"][key] for key in reader_data}
    card = {
        "command": kept["command"] if kept else command,
        **({"ranker_refit": {"command": command, "wall_time_s": None}} if kept else {}),
        "seed": config.seed,
        "config": kept["config"] if kept else asdict(config),
        "data": {
            "training_questions_available": count_by_source(prepared.examples),
            **reader_data,
            "ranker_questions": count_by_source(prepared.fold),
            "ranker_table_questions": sum(1 for r in readings if r.set_name == TABLE_SET),
            "kind_classifier_questions": len(labelled),
        },
        "validation": {
            "sets": sets,
            "wrong_budgets": WRONG_BUDGETS,
            "chosen": summary,
            "choices": [_brief(c.to_dict()) for c in choices],
        },  # fmt: skip
        "wall_time_s": kept["wall_time_s"]
        if kept
        else {
            "training": round(train_seconds, 1),
            "total": round(train_seconds + time.perf_counter() - started, 1),
        },
        "hardware": _hardware(config.device),
    }
    if kept:
        card["ranker_refit"]["wall_time_s"] = round(time.perf_counter() - started, 1)
    _write_record(out, card)
    return card


def _hardware(device: str) -> dict[str, Any]:
    import torch

    info = {"device": device, "cpu_cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__}  # fmt: skip
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
