"""What kind of quantity a question wants, learned from the gold answers of training questions.

A multinomial logistic regression over the question's word n-grams (`question_ngrams`) gives the
probability that the answer is money, a percentage, a count, a length, a date, a year, an
ordinal, a range or a plain number (the kinds of `rag.quantities`). `rag train` fits it on
every training question whose gold answer the parser reads; the ranker reads the probability of
each candidate's own kind. It replaces the hand-written question rules as a source of evidence:
nothing here decides on its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.quantities import QuantityKind

KINDS: tuple[QuantityKind, ...] = (
    "money",
    "percent",
    "count",
    "length",
    "date",
    "year",
    "ordinal",
    "range",
    "number",
)
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*|[%$£€¥]")


def question_ngrams(question: str) -> list[str]:
    """The features of a question: its words and word pairs (numbers as <num>, years as <year>),
    and its first one and two words, which say most of what is asked ("how many", "what share")."""
    words = []
    for token in _WORD.findall(question.lower()):
        if token[0].isdigit():
            token = "<year>" if re.fullmatch(r"(?:19|20)\d\d", token) else "<num>"
        words.append(token)
    grams = list(words)
    grams += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    if words:
        grams.append(f"^{words[0]}")
        grams.append("^" + " ".join(words[:2]))
    return list(dict.fromkeys(grams))


@dataclass(frozen=True)
class KindModel:
    """The fitted classifier: one weight per (n-gram, kind) and an intercept per kind."""

    vocabulary: Mapping[str, int]
    weights: Sequence[Sequence[float]]  # [n-gram][kind]
    intercept: Sequence[float]  # [kind]
    kinds: tuple[str, ...] = KINDS

    def probabilities(self, question: str) -> dict[str, float]:
        """P(answer kind) for each kind, summing to 1."""
        scores = list(self.intercept)
        for gram in question_ngrams(question):
            row = self.vocabulary.get(gram)
            if row is not None:
                scores = [s + w for s, w in zip(scores, self.weights[row], strict=True)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return {kind: e / total for kind, e in zip(self.kinds, exps, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        grams = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "kinds": list(self.kinds),
            "intercept": [round(float(v), 5) for v in self.intercept],
            "ngrams": grams,
            "weights": [[round(float(v), 5) for v in self.weights[self.vocabulary[g]]] for g in grams],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KindModel:
        grams = list(data["ngrams"])
        weights = [tuple(float(v) for v in row) for row in data["weights"]]
        if len(grams) != len(weights):
            raise ValueError(f"the kind model has {len(grams)} n-grams but {len(weights)} weight rows")
        kinds = tuple(str(k) for k in data["kinds"])
        if any(len(row) != len(kinds) for row in weights) or len(data["intercept"]) != len(kinds):
            raise ValueError(f"the kind model's weights do not have one column per kind ({len(kinds)})")
        return cls({g: i for i, g in enumerate(grams)}, weights, tuple(float(v) for v in data["intercept"]),
                   kinds)  # fmt: skip
