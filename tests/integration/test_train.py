"""The learned reader's training: disjoint splits, determinism, a tiny real run, and weight checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.errors import ModelError
from qadata.splits import VALIDATION_TITLES, default_data_dir, open_data_dir, squad_role
from rag.answer_model import RANKER_FILE, read_answer_model
from rag.reader import DEFAULT_READER_DIR, META_FILE, WEIGHTS_FILE, SpanReader, read_meta
from tests.conftest import PROJECT_ROOT

DATA_DIR = Path(os.environ.get("RAG_DATASETS_DIR") or default_data_dir())
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "squad-v1.1" / "dev-v1.1.json").is_file(),
    reason=f"the public datasets are not at {DATA_DIR} (set RAG_DATASETS_DIR)",
)


def _train(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """`rag train` with these arguments, offline, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "train", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def data():
    return open_data_dir(DATA_DIR)


@needs_data
def test_the_validation_titles_are_the_squad2_half_articles(data):
    squad2 = json.loads((DATA_DIR / "squad-v2.0-cs224n-dev" / "dev-v2.0.json").read_text())
    assert {article["title"] for article in squad2["data"]} == VALIDATION_TITLES
    squad = json.loads((DATA_DIR / "squad-v1.1" / "dev-v1.1.json").read_text())
    titles = [article["title"] for article in squad["data"]]
    assert sum(squad_role(t) == "validation" for t in titles) == 16
    assert sum(squad_role(t) == "train" for t in titles) == 32


@needs_data
def test_training_and_validation_share_no_article_question_or_passage(data):
    from train.examples import split_of, training_examples, validation_examples

    train, validation = training_examples(data), validation_examples(data)
    assert len(validation) == 2975  # every question of the 16 validation articles
    assert not {e.group for e in train} & {e.group for e in validation}
    assert not {e.qid for e in train} & {e.qid for e in validation}
    assert not {e.context for e in train} & {e.context for e in validation}
    assert all(split_of(e) == "train" for e in train)
    assert all(split_of(e) == "validation" for e in validation)
    assert {e.source for e in train} == {"squadshifts", "squad", "drop", "tatqa", "realtimeqa", "bbc"}


@needs_data
def test_bbc_training_and_validation_questions_ask_about_different_articles(data):
    from train.examples import bbc_validation_examples, training_examples

    train = [e for e in training_examples(data) if e.source == "bbc"]
    validation = bbc_validation_examples(data)
    assert len(train) > 500 and len(validation) > 250
    # a group is a hash of the article's text: the set's duplicate articles share one
    assert not {e.group for e in train} & {e.group for e in validation}
    assert all(e.context[e.answer_start :].startswith(e.answer_text) for e in train if e.answerable)


@needs_data
def test_no_drop_passage_copied_from_a_validation_article_is_trained_on(data):
    from train.examples import drop_examples, leaks_into, training_examples, validation_shingles

    shingles = validation_shingles(data)
    leaked = [e for e in drop_examples(data) if leaks_into(e.context, shingles)]
    # the one DROP passage taken from SQuAD's French_and_Indian_War, a validation article
    assert leaked and all(
        e.context.startswith("Vaudreuil and Montcalm were minimally resupplied") for e in leaked
    )
    trained = [e for e in training_examples(data) if e.source == "drop"]
    assert not any("Vaudreuil and Montcalm" in e.context for e in trained)
    dev = [e for e in trained if e.group.startswith("drop-")]  # DROP dev in full and its samples
    assert len({(e.group, e.question) for e in dev}) == len(dev)  # deduplicated by question


@needs_data
def test_the_ranker_fold_shares_no_group_with_the_reader_fold(data):
    from train.examples import training_examples
    from train.run import in_ranker_fold

    examples = training_examples(data)
    fold = {e.group for e in examples if in_ranker_fold(e)}
    reader = {e.group for e in examples if not in_ranker_fold(e)}
    assert fold and reader and not fold & reader
    assert {e.source for e in examples if in_ranker_fold(e)} == {"bbc", "squad", "drop", "tatqa"}


@needs_data
def test_held_out_tatqa_contexts_are_not_trained_on(data):
    from qadata.external import load_external
    from train.examples import training_examples

    heldout = load_external("tatqa", DATA_DIR / "tat-qa" / "tatqa_dataset_dev.json", split="heldout")
    trained = {e.qid for e in training_examples(data) if e.source == "tatqa"}
    assert heldout.items and not {item.id for item in heldout.items} & trained


def test_a_missing_datasets_folder_names_every_file_and_the_fix(tmp_path):
    from index.errors import InputError

    with pytest.raises(InputError, match=r"lacks .*dev-v1\.1\.json.*--data DIR"):
        open_data_dir(tmp_path)


@needs_data
def test_training_is_deterministic_for_a_seed(data):
    import torch

    from qadata.splits import SQUADSHIFTS
    from train.examples import article_paragraphs, training_examples
    from train.fit import (
        TrainConfig,
        build_windows,
        encode_windows,
        fit_reader,
        select_questions,
        tokenizer_for,
    )

    config = TrainConfig(max_questions=8, batch_size=8)
    questions = select_questions(training_examples(data), config)
    windows = build_windows(questions, article_paragraphs(data, SQUADSHIFTS), config.seed, config.negatives)
    encoded = encode_windows(windows, tokenizer_for(config.max_length))
    first, second = fit_reader(encoded, config), fit_reader(encoded, config)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    head = first.state_dict()["span.weight"]
    assert not torch.equal(head, fit_reader(encoded, TrainConfig(seed=14, max_questions=8, batch_size=8))
                           .state_dict()["span.weight"])  # fmt: skip


@needs_data
def test_rag_train_on_a_tiny_slice_writes_a_loadable_reader_ranker_and_card(tmp_path):
    out = tmp_path / "reader"
    run = _train("--data", str(DATA_DIR), "--out", str(out), "--max-questions", "24",
                 "--validation-limit", "6")  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "weights written to" in run.stdout
    meta = read_meta(out)
    model = read_answer_model(out)
    assert model.calibration is not None and 0.0 <= model.calibration.threshold <= 1.0
    assert model.ranker is not None and model.windows in (4, 6, 8)
    trained = meta.raw["trained"]
    assert trained["seed"] == 13 and trained["data"]["training_windows"] > 24
    record = json.loads((out / "training.json").read_text())
    assert record["config"]["max_questions"] == 24
    assert record["validation"]["sets"]["squad"]["questions"] == 6
    assert record["validation"]["sets"]["bbc"]["questions"] == 6
    assert (out / "MODEL_CARD.md").read_text().startswith("# Span reader and ranker: model card")
    reader = SpanReader(out)
    scores = reader.score("How many moons?", ["Mars has two moons, Phobos and Deimos."])
    assert len(scores) == 1 and scores[0].start.shape == scores[0].end.shape
    assert record["data"]["ranker_table_questions"] == 6  # TAT-QA questions answered from a table cell

    # --ranker-only keeps that reader and refits what comes after it
    weights = (out / WEIGHTS_FILE).read_bytes()
    refit = _train("--data", str(DATA_DIR), "--out", str(out), "--ranker-only", "--validation-limit", "6")
    assert refit.returncode == 0, refit.stderr[-2000:]
    assert "refitting the ranker of" in refit.stdout and (out / WEIGHTS_FILE).read_bytes() == weights
    again = json.loads((out / "training.json").read_text())
    assert again["command"] == record["command"] and "--ranker-only" in again["ranker_refit"]["command"]
    assert again["data"]["training_windows"] == record["data"]["training_windows"]
    assert read_answer_model(out).ranker is not None

    # --tables-only keeps all that text is answered with and refits the table ranker and calibrations
    before = json.loads((out / RANKER_FILE).read_text())
    tables = _train("--data", str(DATA_DIR), "--out", str(out), "--tables-only", "--validation-limit", "6")
    assert tables.returncode == 0, tables.stderr[-2000:]
    assert "refitting the table ranker of" in tables.stdout and "text answers unchanged" in tables.stdout
    after = json.loads((out / RANKER_FILE).read_text())
    assert all(after[key] == before[key] for key in ("windows", "kinds", "ranker", "calibration"))
    assert after["table_ranker"]["type"] == before["ranker"]["type"]
    assert after["table_ranker"] != before["ranker"]
    assert (out / WEIGHTS_FILE).read_bytes() == weights
    last = json.loads((out / "training.json").read_text())
    assert "--tables-only" in last["tables_refit"]["command"]
    assert last["ranker_refit"] == again["ranker_refit"]
    fit = last["validation"]["chosen"]["table_ranker_fit"]
    tried = fit["tried"]
    assert fit["own_ranker"]
    assert tried[f"{fit['table_weight']:g}"]["right"] == max(t["right"] for t in tried.values())
    assert read_answer_model(out).table_ranker is not None
    assert "Table refit: `rag train" in (out / "MODEL_CARD.md").read_text()


def test_ranker_only_without_a_trained_reader_says_what_is_missing(tmp_path):
    run = _train("--data", str(tmp_path), "--out", str(tmp_path / "none"), "--ranker-only", timeout=300)
    assert run.returncode != 0
    assert "--ranker-only needs a trained reader in" in run.stderr + run.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tables-only"], "--tables-only needs trained weights in"),
        (["--tables-only", "--ranker-only"], "--ranker-only and --tables-only cannot be combined"),
    ],
)
def test_a_table_refit_without_weights_or_with_a_ranker_refit_says_why(tmp_path, flags, message):
    run = _train("--data", str(tmp_path), "--out", str(tmp_path / "none"), *flags, timeout=300)
    assert run.returncode != 0
    assert message in " ".join((run.stderr + run.stdout).split())


def test_the_shipped_weights_are_calibrated_and_small():
    model = read_answer_model(DEFAULT_READER_DIR)
    assert model.calibration is not None
    assert (DEFAULT_READER_DIR / WEIGHTS_FILE).stat().st_size < 100 * 1024 * 1024
    chosen = json.loads((DEFAULT_READER_DIR / "training.json").read_text())["validation"]["chosen"]
    assert chosen["windows"] == model.windows
    assert chosen["calibration"]["threshold"] == model.calibration.threshold
    # a table cell's value has a calibration of its own, cross-fitted on the training table questions
    assert model.table_calibration is not None
    assert chosen["table_calibration"]["threshold"] == model.table_calibration.threshold
    # and so has a "which year" comparison across a table row, fitted on the training comparisons
    assert model.comparison_calibration is not None
    compared = chosen["comparison_calibration"]
    assert compared["threshold"] == model.comparison_calibration.threshold
    assert compared["cross_fitted"]["wrong"] <= 0.10
    # one budget for answers from tables: wrong cells and wrong years within 10% of all of them
    cells = chosen["table_calibration"]
    wrong = (
        cells["cross_fitted"]["wrong"] * cells["questions"]
        + compared["cross_fitted"]["wrong"] * compared["questions"]
    )
    assert wrong <= 0.10 * (cells["questions"] + compared["questions"]) + 1e-6
    # the table weight kept answers validation as well as the best weight tried
    weights = chosen["table_weights"]
    assert f"{chosen['table_weight']:g}" in weights
    best = max(w["validation_right"] for w in weights.values())
    assert weights[f"{chosen['table_weight']:g}"]["validation_right"] >= best - 0.005
    # readings that hold a table cell have a ranker of their own, at the table weight that answers
    # most training table questions right out of fit; readings without one keep the ranker above
    fit = chosen["table_ranker_fit"]
    assert fit["own_ranker"] and model.table_ranker is not None and model.ranker is not None
    tried = fit["tried"]
    assert tried[f"{fit['table_weight']:g}"]["right"] == max(t["right"] for t in tried.values())


def test_missing_weights_fail_with_the_fix(tmp_path):
    with pytest.raises(ModelError, match="reader weights are missing.*rag train"):
        SpanReader(tmp_path)


def test_weights_of_another_base_model_are_refused(tmp_path):
    meta = json.loads((DEFAULT_READER_DIR / META_FILE).read_text())
    (tmp_path / WEIGHTS_FILE).write_bytes((DEFAULT_READER_DIR / WEIGHTS_FILE).read_bytes())
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "base_model": "bert-base-uncased"}))
    with pytest.raises(ModelError, match="trained from 'bert-base-uncased'.*rag train"):
        SpanReader(tmp_path)


def test_weights_of_other_shapes_are_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    meta = (DEFAULT_READER_DIR / META_FILE).read_text()
    (tmp_path / META_FILE).write_text(meta)
    save_file({"span.weight": torch.zeros(2, 768), "span.bias": torch.zeros(2)}, str(tmp_path / WEIGHTS_FILE))
    with pytest.raises(ModelError, match="made for another base model"):
        SpanReader(tmp_path)
