"""The learned ranking stage: its features, the exported trees, the kind classifier, the model file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.errors import ModelError
from rag.answer_model import RANKER_FILE, read_answer_model, write_answer_model
from rag.kinds import KINDS, KindModel, question_ngrams
from rag.ranking import FEATURES, Linear, Trees, ranker_from_dict
from rag.reader import DEFAULT_READER_DIR
from train.kinds import fit_kind_model
from train.rank import RankRows, export_trees, fit_linear, stack_rows


def _rows(seed: int = 0, n: int = 400) -> RankRows:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, len(FEATURES)))
    features[rng.random(n) < 0.05, 3] = np.nan  # missing values take the side learned for them
    labels = features[:, 0] + 0.5 * features[:, 2] > 0.3
    return stack_rows([(features[i : i + 10], labels[i : i + 10], 1.0) for i in range(0, n, 10)])


def test_exported_trees_score_as_scikit_learn_does():
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows = _rows()
    model = HistGradientBoostingClassifier(max_iter=30, max_depth=4, random_state=1).fit(
        rows.features, rows.labels
    )
    trees = export_trees(model)
    probe = _rows(seed=1).features
    assert np.allclose(trees.raw(probe), model.decision_function(probe), atol=1e-9)
    again = ranker_from_dict(json.loads(json.dumps(trees.to_dict())))
    assert isinstance(again, Trees) and np.allclose(again.raw(probe), trees.raw(probe))


def test_the_linear_ranker_round_trips_and_orders_by_its_evidence():
    rows = _rows()
    rows = RankRows(np.nan_to_num(rows.features), rows.labels, rows.question, rows.weight)
    linear = fit_linear(rows, seed=13)
    again = ranker_from_dict(json.loads(json.dumps(linear.to_dict())))
    assert isinstance(again, Linear) and np.allclose(again.raw(rows.features), linear.raw(rows.features))
    strong, weak = np.zeros((1, len(FEATURES))), np.zeros((1, len(FEATURES)))
    strong[0, 0], weak[0, 0] = 3.0, -3.0
    assert linear.raw(strong)[0] > linear.raw(weak)[0]


def test_an_unknown_ranker_type_is_refused():
    with pytest.raises(ValueError, match="unknown ranker type"):
        ranker_from_dict({"type": "forest"})


def test_question_ngrams_hold_words_pairs_and_the_opening():
    grams = question_ngrams("How many stations did it have in 2019?")
    assert {"how", "how many", "^how", "^how many", "<year>", "in <year>", "stations"} <= set(grams)


def test_the_kind_classifier_learns_what_a_question_asks_for():
    labelled = [
        *((f"How many {noun} were there?", "count") for noun in "stations cars people banks jobs".split()),
        *((f"What share of {noun} rose?", "percent") for noun in "stations cars people banks jobs".split()),
        *((f"How much did the {noun} cost?", "money") for noun in "station car plant bank deal".split()),
    ]
    model = fit_kind_model(labelled, seed=13)
    assert set(model.kinds) == set(KINDS)
    probabilities = model.probabilities("How many trains were there?")
    assert max(probabilities, key=probabilities.get) == "count"
    assert abs(sum(probabilities.values()) - 1.0) < 1e-9
    assert probabilities["length"] < 0.01  # a kind no training answer had is all but never predicted
    again = KindModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.probabilities("How much did the line cost?") == pytest.approx(
        model.probabilities("How much did the line cost?"), abs=1e-4
    )


def test_the_shipped_answer_model_fits_this_version():
    model = read_answer_model(DEFAULT_READER_DIR)
    assert model.ranker is not None and model.calibration is not None
    assert 0.0 < model.calibration.threshold < 1.0
    assert model.windows in (4, 6, 8)
    assert model.raw["features"] == list(FEATURES)


def test_a_missing_or_stale_answer_model_says_to_run_rag_train(tmp_path):
    with pytest.raises(ModelError, match=f"lacks {RANKER_FILE}.*rag train"):
        read_answer_model(tmp_path)
    shipped = json.loads((DEFAULT_READER_DIR / RANKER_FILE).read_text())
    (tmp_path / RANKER_FILE).write_text(json.dumps({**shipped, "features": ["span", "null"]}))
    with pytest.raises(ModelError, match="other ranking features.*rag train"):
        read_answer_model(tmp_path)
    (tmp_path / RANKER_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="cannot be read.*rag train"):
        read_answer_model(tmp_path)


def test_writing_the_answer_model_keeps_what_it_does_not_replace(tmp_path):
    kinds = fit_kind_model([("How many cars?", "count"), ("What share?", "percent")] * 2, seed=13)
    write_answer_model(tmp_path, windows=8, kinds=kinds.to_dict(), ranker=None, calibration=None)
    write_answer_model(tmp_path, windows=4)
    model = read_answer_model(tmp_path)
    assert model.windows == 4 and model.ranker is None and model.kinds.probabilities("How many cars?")


def test_a_table_ranker_round_trips_through_the_answer_model_and_is_optional(tmp_path):
    kinds = fit_kind_model([("How many cars?", "count"), ("What share?", "percent")] * 2, seed=13)

    def linear(seed: int) -> Linear:
        rows = _rows(seed)
        return fit_linear(RankRows(np.nan_to_num(rows.features), rows.labels, rows.question, rows.weight), 13)

    ranker = linear(0)
    write_answer_model(tmp_path, windows=4, kinds=kinds.to_dict(), ranker=ranker.to_dict(), calibration=None)
    assert read_answer_model(tmp_path).table_ranker is None  # none: the ranker scores tables too
    table_ranker = linear(1)
    write_answer_model(tmp_path, table_ranker=table_ranker.to_dict())
    model = read_answer_model(tmp_path)
    assert isinstance(model.table_ranker, Linear) and model.ranker is not None
    rows = np.nan_to_num(_rows(seed=2).features)
    assert np.allclose(model.table_ranker.raw(rows), table_ranker.raw(rows))
    assert not np.allclose(model.ranker.raw(rows), model.table_ranker.raw(rows))
    write_answer_model(tmp_path, table_ranker={"type": "forest"})
    with pytest.raises(ModelError, match="unknown ranker type.*rag train"):
        read_answer_model(tmp_path)
