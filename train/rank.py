"""Fit the candidate ranker (`rag.ranking`) on the reader's scores of training questions.

Each read candidate of a ranker-fold training question is one row of `rag.ranking.FEATURES`,
labelled 1 when its value is the gold answer's. Two designs are fitted and compared on validation:
gradient-boosted trees (scikit-learn's histogram GBDT, exported to the arrays `rag.ranking.Trees`
evaluates with NumPy alone) and a logistic regression on standardised features. Rows are weighted
so that every question counts once, whatever its number of candidates, and a domain's questions
(news) can count more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.ranking import Linear, RankerKind, Trees

TREE_SETTINGS = {"max_iter": 200, "learning_rate": 0.05, "max_depth": 4, "min_samples_leaf": 20,
                 "l2_regularization": 1.0}  # fmt: skip


@dataclass(frozen=True)
class RankRows:
    """Candidate rows of several questions: features, labels, and the question each belongs to."""

    features: np.ndarray  # (rows, FEATURES)
    labels: np.ndarray  # (rows,) bool
    question: np.ndarray  # (rows,) int: the question's number
    weight: np.ndarray  # (rows,) float: 1 / the question's candidates, times its domain's weight


def stack_rows(questions: Sequence[tuple[np.ndarray, np.ndarray, float]]) -> RankRows:
    """Rows of (features, labels, domain weight) per question; questions with no candidate drop out."""
    kept = [(x, y, w) for x, y, w in questions if len(y)]
    if not kept:
        raise ValueError("no training question has a read candidate to rank")
    return RankRows(
        features=np.vstack([x for x, _, _ in kept]),
        labels=np.concatenate([y for _, y, _ in kept]).astype(bool),
        question=np.concatenate([np.full(len(y), i) for i, (_, y, _) in enumerate(kept)]),
        weight=np.concatenate([np.full(len(y), w / len(y)) for _, y, w in kept]),
    )


def fit_ranker(rows: RankRows, kind: RankerKind, seed: int) -> Trees | Linear:
    """Fit one ranker design on the rows."""
    if kind == "trees":
        return fit_trees(rows, seed)
    return fit_linear(rows, seed)


def fit_trees(rows: RankRows, seed: int) -> Trees:
    """Gradient-boosted trees, exported to flat arrays."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(**TREE_SETTINGS, random_state=seed, early_stopping=False)
    model.fit(rows.features, rows.labels, sample_weight=rows.weight * len(np.unique(rows.question)))
    return export_trees(model)


def export_trees(model: Any) -> Trees:
    """The trees of a fitted HistGradientBoostingClassifier as `Trees` arrays (binary models only)."""
    predictors = [p[0] for p in model._predictors]  # one tree per boosting round for two classes
    width = max(len(p.nodes) for p in predictors)
    shape = (len(predictors), width)
    arrays = {
        "feature": np.zeros(shape, np.int64), "threshold": np.zeros(shape), "left": np.zeros(shape, np.int64),
        "right": np.zeros(shape, np.int64), "leaf": np.ones(shape, bool), "value": np.zeros(shape),
        "missing_left": np.zeros(shape, bool),
    }  # fmt: skip
    depth = 0
    for t, predictor in enumerate(predictors):
        nodes = predictor.nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits cannot be exported")
        n = len(nodes)
        arrays["feature"][t, :n] = nodes["feature_idx"]
        arrays["threshold"][t, :n] = nodes["num_threshold"]
        arrays["left"][t, :n] = nodes["left"]
        arrays["right"][t, :n] = nodes["right"]
        arrays["leaf"][t, :n] = nodes["is_leaf"].astype(bool)
        arrays["value"][t, :n] = np.where(nodes["is_leaf"], nodes["value"], 0.0)
        arrays["missing_left"][t, :n] = nodes["missing_go_to_left"].astype(bool)
        depth = max(depth, int(nodes["depth"].max()))
    baseline = float(np.ravel(model._baseline_prediction)[0])
    return Trees(**arrays, baseline=baseline, depth=depth)


def fit_linear(rows: RankRows, seed: int) -> Linear:
    """A logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression

    mean = rows.features.mean(axis=0)
    scale = rows.features.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=5000, random_state=seed)
    model.fit(
        (rows.features - mean) / scale, rows.labels, sample_weight=rows.weight * len(np.unique(rows.question))
    )
    return Linear(mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]))
