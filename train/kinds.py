"""Fit the question-kind classifier (`rag.kinds`) on the training questions' gold answers.

A question's label is the kind the project's quantity parser reads in its gold answer ("$2
billion" -> money). The classifier is a multinomial logistic regression on the question's word
n-grams that occur in at least MIN_COUNT training questions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rag.kinds import KINDS, KindModel, question_ngrams
from rag.quantities import parse_quantity

MIN_COUNT = 2  # an n-gram seen in fewer training questions says nothing reliable
REGULARISATION = 1.0  # sklearn's C


def kind_label(answer: str) -> str | None:
    """The kind of quantity a gold answer states, or None when the parser reads none."""
    quantity = parse_quantity(answer)
    return quantity.kind if quantity is not None else None


def fit_kind_model(labelled: Sequence[tuple[str, str]], seed: int) -> KindModel:
    """Fit on (question, kind) pairs; every kind of rag.kinds.KINDS gets a column."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    seen = Counter(gram for question, _ in labelled for gram in question_ngrams(question))
    vocabulary = {gram: i for i, gram in enumerate(sorted(g for g, n in seen.items() if n >= MIN_COUNT))}
    rows, cols = [], []
    for row, (question, _) in enumerate(labelled):
        for gram in question_ngrams(question):
            if gram in vocabulary:
                rows.append(row)
                cols.append(vocabulary[gram])
    matrix = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(labelled), len(vocabulary)))
    labels = np.array([KINDS.index(kind) for _, kind in labelled])
    model = LogisticRegression(C=REGULARISATION, max_iter=2000, random_state=seed).fit(matrix, labels)
    weights = np.zeros((len(vocabulary), len(KINDS)))
    intercept = np.full(len(KINDS), -30.0)  # a kind no training answer has is never predicted
    if len(model.classes_) == 2:  # a binary fit gives one row: the second class's log-odds
        first, second = model.classes_
        intercept[first] = 0.0
        weights[:, second], intercept[second] = model.coef_[0], model.intercept_[0]
    else:
        for column, kind in enumerate(model.classes_):
            weights[:, kind] = model.coef_[column]
            intercept[kind] = model.intercept_[column]
    return KindModel(vocabulary, [tuple(r) for r in weights.tolist()], tuple(intercept.tolist()))
