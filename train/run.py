"""`rag train` end to end: data, windows, fitting, validation choices, weights and model card."""

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
from rag.reader import DEFAULT_READER_DIR, SpanReader
from train.calibrate import WRONG_BUDGET, QuestionRecord, choose, read_validation, validation_sets
from train.card import write_card
from train.examples import article_paragraphs, training_examples
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
from train.splits import SQUAD_V1, SQUADSHIFTS, open_data_dir

# (stage, done, total, note): stages are "examples", "training", "embedding", "validating"
Progress = Callable[[str, int, int | None, str], None]
METRICS_FILE = "training.json"


@dataclass(frozen=True)
class TrainRequest:
    """What `rag train` was asked to do."""

    datasets_dir: Path
    out_dir: Path = DEFAULT_READER_DIR
    config: TrainConfig = TrainConfig()
    validation_limit: int | None = None  # validation questions per set (a quick check); None: all
    embedding_model: str = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Prepared:
    """The training split, the questions chosen from it and their encoded windows."""

    examples: list[Any]
    questions: list[Any]
    encoded: Encoded


def run_training(request: TrainRequest, progress: Progress) -> dict[str, Any]:
    """Train, validate and write the reader; returns what the model card reports."""
    started = time.perf_counter()
    prepared = prepare(request, progress)
    model = fit_reader(
        prepared.encoded,
        request.config,
        lambda step, total, loss: progress("training", step, total, f"loss {loss:.3f}"),
    )
    return finish(request, model, prepared, time.perf_counter() - started, progress)


def prepare(request: TrainRequest, progress: Progress) -> Prepared:
    """Read the training split, choose the questions and encode their windows."""
    data = open_data_dir(request.datasets_dir)
    config = request.config
    progress("examples", 0, None, "reading the training split")
    examples = training_examples(data)
    questions = select_questions(examples, config)
    articles = {**article_paragraphs(data, SQUADSHIFTS), **article_paragraphs(data, SQUAD_V1)}
    windows = build_windows(questions, articles, config.seed, config.negatives)
    encoded = encode_windows(windows, tokenizer_for(config.max_length))
    progress("examples", len(encoded.ids), len(encoded.ids), f"{len(questions)} questions")
    return Prepared(examples, questions, encoded)


def finish(
    request: TrainRequest,
    model: Any,
    prepared: Prepared,
    train_seconds: float,
    progress: Progress,
    records: list[QuestionRecord] | None = None,
) -> dict[str, Any]:
    """Save the trained network, choose windows, calibration and threshold on validation, write the card.

    `records` are validation readings already made with these weights (they are read otherwise)."""
    started = time.perf_counter()
    config = request.config
    save_reader(model, request.out_dir, {"max_length": config.max_length, "windows": 1, "calibration": None})
    validation = _validate(request, progress, records)
    chosen = validation["chosen"]
    update_meta(
        request.out_dir,
        windows=chosen["windows"],
        kind_rule=chosen["kind_rule"],
        rank_by=chosen["rank_by"],
        calibration=chosen["calibration"],
    )
    encoded = prepared.encoded
    card = {
        "command": " ".join(["rag", "train", *(shlex.quote(a) for a in sys.argv[2:])]),
        "seed": config.seed,
        "config": asdict(config),
        "data": {
            "training_questions_available": count_by_source(prepared.examples),
            "training_questions_used": count_by_source(prepared.questions),
            "training_windows": len(encoded.ids),
            "positive_windows": sum(1 for s in encoded.starts if s > 0),
        },
        "validation": validation,
        "wall_time_s": {
            "training": round(train_seconds, 1),
            "total": round(train_seconds + time.perf_counter() - started, 1),
        },
        "hardware": _hardware(config.device),
    }
    update_meta(request.out_dir, trained=card)
    (request.out_dir / METRICS_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    write_card(request.out_dir, card)
    return card


def validation_records(request: TrainRequest, progress: Progress) -> list[QuestionRecord]:
    """Read the validation questions with the weights in request.out_dir."""
    reader = SpanReader(request.out_dir, request.config.device)
    embedder = load_embedder(request.embedding_model)
    return read_validation(
        _validation_sets(request), reader, embedder,
        on_question=lambda done, total: progress("validating", done, total, "reading validation questions"),
        on_embed=lambda done, total: progress("embedding", done, total, "indexing validation articles"),
    )  # fmt: skip


def _validation_sets(request: TrainRequest) -> tuple[Any, ...]:
    sets = validation_sets(request.datasets_dir)
    if request.validation_limit:
        sets = tuple(_limited(s, request.validation_limit) for s in sets)
    return sets


def _validate(
    request: TrainRequest, progress: Progress, records: list[QuestionRecord] | None = None
) -> dict[str, Any]:
    """Choose windows, kind filter, calibration and threshold on the validation readings."""
    sets = _validation_sets(request)
    if records is None:
        records = validation_records(request, progress)
    chosen, choices = choose(records, request.config.seed)
    return {
        "sets": {s.name: {"questions": len(s.items), "documents": len(s.documents)} for s in sets},
        "wrong_budget": WRONG_BUDGET,
        "chosen": chosen.to_dict(),
        "choices": [c.to_dict() for c in choices],
    }


def _limited(dataset: Any, limit: int) -> Any:
    """The first `limit` questions of a set, with only their documents and a few others."""
    items = dataset.items[:limit]
    sources = {s for item in items for s in item.sources}
    others = [d for d in dataset.documents if d.doc_id not in sources][:5]
    documents = tuple(d for d in dataset.documents if d.doc_id in sources) + tuple(others)
    return replace(dataset, items=items, documents=documents)


def _hardware(device: str) -> dict[str, Any]:
    import torch

    info = {"device": device, "cpu_cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__}  # fmt: skip
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
