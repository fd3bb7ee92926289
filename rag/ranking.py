"""Ranking: a learned model scores every read candidate from what a reader of news looks at.

Each candidate becomes one row of FEATURES: the reader's span and "no answer" scores and how they
compare with the question's other candidates, where its sentence was retrieved and read, how much
of the question its sentence holds, the probability that the question wants its kind of quantity
(`rag.kinds`), whether it counts or is priced in what the question names, and the time cues of
`rag.timeline`. The ranker (gradient-boosted trees or a logistic regression, fitted by `rag train`
on training questions and chosen on validation) turns a row into a score; a logistic calibration
fitted on validation data of both domains turns the best score and its lead over the best
*different* value into the probability that the answer is right.

Serving needs only NumPy: the trees are evaluated from their exported arrays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rag.candidates import token_set, unit_noun
from rag.kinds import KINDS, KindModel
from rag.quantities import Quantity, currency_names, parse_quantities, quantities_match, year_of
from rag.question import Question, singular
from rag.reading import Read

FEATURES: tuple[str, ...] = (
    "span",  # the reader's best span score for the candidate
    "null",  # its window's "no answer" score
    "lead",  # span - null
    "span_gap",  # best span of the question - span
    "lead_gap",  # best lead of the question - lead
    "lead_rank",  # rank by lead among the question's candidates (0: best)
    "lead_margin",  # lead - best lead of a candidate with another value (capped)
    "window",  # rank of its sentence in reading order
    "hit_rank",  # retrieval rank of its passage
    "hit_gap",  # the top passage's retrieval score - its passage's
    "coverage",  # IDF-weighted share of the question's terms in its window
    "sentence_coverage",  # the same in its sentence
    "kind_probability",  # P(question wants the candidate's kind)
    "countlike_probability",  # P(count) + P(number) for a count or a number, else kind_probability
    "kind_is_top",  # the candidate's kind is the question's most probable kind
    *(f"kind_{kind}" for kind in KINDS),  # one-hot kind of the candidate
    "unit_named",  # the question names its currency, counted noun, "percent" or length unit
    "counted_match",  # "how many stations" and "18 stations": 1; another noun: -1; no count asked: 0
    "in_question",  # the question itself states this value
    "year_match",  # about the year the question names: 1, another year: -1, none named: 0
    "names_question_year",  # the candidate is a year (or date) the question names
    "about_basis",  # how its time is known: explicit 2, relative 1, article date 0, unknown -1
    "qualified",  # "more than", "about" …
    "sentence_quantities",  # how many quantities its sentence holds
    "position",  # where it stands in its sentence (0: start, 1: end)
    "support",  # other read candidates with the same value
    "pair_reference",  # "the two countries": a count of two parties
    "in_table",  # the candidate is a table cell's value
    "row_coverage",  # IDF-weighted share of the question's terms in its cell's row header
    "column_coverage",  # the same in its column header
    "row_coverage_gap",  # best row_coverage of the question's cells - its own (0 outside tables)
    "column_coverage_gap",  # the same among the cells of its row
)
MARGIN_CAP = 10.0
_PERCENT_WORDS = re.compile(r"%|\bper\s*cent|\bpercent|\bpercentage|\brate\b|\bshare\b|\bproportion", re.I)
_LENGTH_WORDS = re.compile(r"\b(?:km|kilomet|metre|meter|mile|long|length|distance|far)", re.I)
_PARTIES = frozenset("country side government leader party nation state head neighbour neighbor".split())
_BASIS = {"explicit": 2.0, "relative": 1.0, "published": 0.0, "unknown": -1.0}


@dataclass(frozen=True)
class Ranked:
    """A read candidate with its features, the ranker's score and the calibrated P(right)."""

    read: Read
    features: tuple[float, ...]
    score: float  # the ranker's log-odds
    margin: float  # score - the best score of a candidate with another value (negative below the best)
    probability: float
    threshold: float = 1.0  # the probability it must reach to answer: its calibration's

    @property
    def candidate(self) -> Any:
        return self.read.candidate


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted regression trees in flat arrays: node i of tree t splits on feature[t, i]."""

    feature: np.ndarray  # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes) float: go left when x <= threshold
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray  # (trees, nodes) bool
    value: np.ndarray  # (trees, nodes) float: a leaf's contribution
    missing_left: np.ndarray  # (trees, nodes) bool: where NaN goes
    baseline: float
    depth: int

    def raw(self, rows: np.ndarray) -> np.ndarray:
        """The log-odds of each row: the baseline plus one leaf value of every tree."""
        n, trees = rows.shape[0], self.feature.shape[0]
        tree = np.broadcast_to(np.arange(trees), (n, trees))
        row = np.broadcast_to(np.arange(n)[:, None], (n, trees))
        node = np.zeros((n, trees), dtype=np.int64)
        for _ in range(self.depth + 1):
            x = rows[row, self.feature[tree, node]]
            go_left = np.where(np.isnan(x), self.missing_left[tree, node], x <= self.threshold[tree, node])
            step = np.where(go_left, self.left[tree, node], self.right[tree, node])
            node = np.where(self.leaf[tree, node], node, step)
        return self.baseline + self.value[tree, node].sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "trees", "baseline": self.baseline, "depth": self.depth,
                **{name: getattr(self, name).tolist() for name in _TREE_ARRAYS}}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trees:
        arrays = {name: np.asarray(data[name], dtype=dtype) for name, dtype in _TREE_ARRAYS.items()}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"the ranker's tree arrays differ in shape: {sorted(shapes)}")
        return cls(**arrays, baseline=float(data["baseline"]), depth=int(data["depth"]))


_TREE_ARRAYS = {"feature": np.int64, "threshold": np.float64, "left": np.int64, "right": np.int64,
                "leaf": bool, "value": np.float64, "missing_left": bool}  # fmt: skip


@dataclass(frozen=True)
class Linear:
    """A logistic regression on standardised features."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def raw(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - self.mean) / self.scale) @ self.coef + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return {"type": "linear", "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Linear:
        mean, scale, coef = (np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
        if not mean.shape == scale.shape == coef.shape:
            raise ValueError("the linear ranker's mean, scale and coef differ in length")
        return cls(mean, scale, coef, float(data["intercept"]))


RankerKind = Literal["trees", "linear"]


def ranker_from_dict(data: Mapping[str, Any]) -> Trees | Linear:
    """A ranker from its exported form."""
    if data.get("type") == "trees":
        return Trees.from_dict(data)
    if data.get("type") == "linear":
        return Linear.from_dict(data)
    raise ValueError(f"unknown ranker type {data.get('type')!r}")


CALIBRATION_FEATURES = ("score", "margin", "lead", "null", "kind_probability", "coverage")


@dataclass(frozen=True)
class Calibration:
    """Logistic calibration of a candidate's CALIBRATION_FEATURES into P(right), with its threshold."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float  # answer only at or above this probability (chosen on validation)

    def probability(self, features: Sequence[float]) -> float:
        z = self.intercept + sum(c * f for c, f in zip(self.coef, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def calibration_features(score: float, margin: float, row: Sequence[float]) -> tuple[float, ...]:
    """What the calibration reads of a ranked candidate: the ranker's score, its lead over the best
    other value (capped), and the reader's lead, "no answer" score, kind fit and coverage."""
    named = dict(zip(FEATURES, row, strict=True))
    return (score, min(margin, MARGIN_CAP), named["lead"], named["null"], named["kind_probability"],
            named["coverage"])  # fmt: skip


def candidate_features(question: Question, reads: Sequence[Read], kinds: Mapping[str, float]) -> np.ndarray:
    """One row of FEATURES per read candidate."""
    if not reads:
        return np.zeros((0, len(FEATURES)))
    answers = [answer_quantity(question, r.candidate.quantity) for r in reads]
    values = value_classes(answers)
    best_span = max(r.span for r in reads)
    best_lead = max(r.lead for r in reads)
    by_lead = sorted(range(len(reads)), key=lambda i: -reads[i].lead)
    lead_rank = {index: rank for rank, index in enumerate(by_lead)}
    top_hit = max(r.candidate.hit.score for r in reads)
    top_kind = max(kinds, key=kinds.__getitem__) if kinds else ""
    asked = _QuestionFacts.of(question)
    counts = np.bincount(values)
    best_row = max((r.row_coverage for r in reads if r.candidate.cell is not None), default=0.0)
    best_column: dict[tuple[str, int], float] = {}  # per row line: its best-covered column
    for r in reads:
        if r.candidate.cell is not None:
            line = (r.candidate.document.doc_id, r.candidate.sentence_start)
            best_column[line] = max(best_column.get(line, 0.0), r.column_coverage)
    rows = []
    for i, read in enumerate(reads):
        candidate, quantity = read.candidate, read.candidate.quantity
        rival = max((reads[j].lead for j in by_lead if values[j] != values[i]), default=None)
        kind_p = kinds.get(quantity.kind, 0.0)
        countlike = kinds.get("count", 0.0) + kinds.get("number", 0.0)
        sentence_length = max(1, candidate.sentence_end - candidate.sentence_start)
        rows.append(
            (
                read.span,
                read.null,
                read.lead,
                best_span - read.span,
                best_lead - read.lead,
                float(lead_rank[i]),
                min(read.lead - rival, MARGIN_CAP) if rival is not None else MARGIN_CAP,
                float(read.window),
                float(candidate.hit.rank),
                top_hit - candidate.hit.score,
                read.coverage,
                read.sentence_coverage,
                kind_p,
                countlike if quantity.kind in ("count", "number") else kind_p,
                float(quantity.kind == top_kind),
                *(float(quantity.kind == kind) for kind in KINDS),
                asked.names_unit(quantity),
                asked.counted_match(quantity),
                float(any(quantities_match(quantity, q) for q in asked.quantities)),
                _year_match(question, candidate.about.year),
                float(_year_named(question, quantity)),
                _BASIS.get(candidate.about.basis, -1.0),
                float(quantity.qualifier is not None),
                float(len(candidate.sentence_quantities)),
                (quantity.start - candidate.sentence_start) / sentence_length,
                float(counts[values[i]] - 1),
                float(quantity.kind == "count" and quantity.value == 2 and unit_noun(quantity) in _PARTIES),
                *_table_features(read, best_row, best_column),
            )
        )
    return np.asarray(rows, dtype=np.float64)


def _table_features(
    read: Read, best_row: float, best_column: Mapping[tuple[str, int], float]
) -> tuple[float, float, float, float, float]:
    """in_table, row and column coverage, and how far each falls short of the best cell's."""
    candidate = read.candidate
    if candidate.cell is None:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    column = best_column[(candidate.document.doc_id, candidate.sentence_start)]
    return (1.0, read.row_coverage, read.column_coverage, best_row - read.row_coverage,
            column - read.column_coverage)  # fmt: skip


def answer_quantity(question: Question, quantity: Quantity) -> Quantity:
    """The quantity a candidate answers with: the year of a date when a year is asked for."""
    if question.wanted == "year" and (year := year_of(quantity)) is not None:
        return year
    return quantity


def value_classes(quantities: Sequence[Quantity]) -> list[int]:
    """A class number per quantity; quantities of one class state the same value."""
    known: list[Quantity] = []
    classes = []
    for quantity in quantities:
        found = next((i for i, k in enumerate(known) if quantities_match(k, quantity)), None)
        if found is None:
            known.append(quantity)
            found = len(known) - 1
        classes.append(found)
    return classes


def rank(
    question: Question,
    reads: Sequence[Read],
    kinds: KindModel,
    ranker: Trees | Linear,
    calibration: Calibration | None,
    table_calibration: Calibration | None = None,
    table_ranker: Trees | Linear | None = None,
) -> list[Ranked]:
    """Every read candidate scored, best first, with its calibrated probability (0 without one) and
    threshold; a table cell's value is calibrated by `table_calibration` where there is one. Where a
    table cell is among the candidates, `table_ranker` (if there is one) scores them all: readings
    without a table are scored by `ranker` alone, whatever the table ranker learned."""
    if not reads:
        return []
    rows = candidate_features(question, reads, kinds.probabilities(question.text))
    scores = scorer_for(reads, ranker, table_ranker).raw(rows)
    values = value_classes([answer_quantity(question, r.candidate.quantity) for r in reads])
    order = sorted(range(len(reads)), key=lambda i: (-scores[i], reads[i].candidate.document.doc_id,
                                                     reads[i].candidate.quantity.start))  # fmt: skip
    best = order[0]
    rival = max((scores[i] for i in order if values[i] != values[best]), default=None)
    ranked = []
    for i in order:
        other = rival if values[i] == values[best] else scores[best]
        margin = float(scores[i] - other) if other is not None else MARGIN_CAP
        features = tuple(float(v) for v in rows[i])
        own = table_calibration if table_calibration and reads[i].candidate.cell is not None else calibration
        probability = (
            own.probability(calibration_features(float(scores[i]), margin, features)) if own else 0.0
        )
        threshold = own.threshold if own else 1.0
        ranked.append(Ranked(reads[i], features, float(scores[i]), margin, probability, threshold))
    return ranked


def scorer_for(
    reads: Sequence[Read], ranker: Trees | Linear, table_ranker: Trees | Linear | None
) -> Trees | Linear:
    """The ranker that scores a question's candidates: the table ranker where one of them is a table
    cell's value and there is a table ranker, else the ranker."""
    if table_ranker is not None and any(r.candidate.cell is not None for r in reads):
        return table_ranker
    return ranker


@dataclass(frozen=True)
class _QuestionFacts:
    """What the features compare candidates with, read once per question."""

    question: Question
    tokens: frozenset[str]
    lowered: str
    quantities: tuple[Quantity, ...]

    @classmethod
    def of(cls, question: Question) -> _QuestionFacts:
        text = question.text
        return cls(question, token_set(text), text.lower(), tuple(parse_quantities(text)))

    def names_unit(self, quantity: Quantity) -> float:
        """1 when the question names the candidate's currency, counted noun, percent or length."""
        if quantity.kind == "money" and quantity.unit:
            names = currency_names(quantity.unit)
            return float(any(name.lower() in self.lowered for name in names))
        if quantity.kind == "count" and quantity.unit:
            return float(bool(token_set(quantity.unit) & self.tokens))
        if quantity.kind == "percent":
            return float(bool(_PERCENT_WORDS.search(self.question.text)))
        if quantity.kind == "length":
            return float(bool(_LENGTH_WORDS.search(self.question.text)))
        return 0.0

    def counted_match(self, quantity: Quantity) -> float:
        counted = self.question.counted
        if counted is None:
            return 0.0
        noun = unit_noun(quantity)
        return 1.0 if noun is not None and singular(noun) == counted else -1.0


def _year_match(question: Question, about: int | None) -> float:
    if question.year is None:
        return 0.0
    return 1.0 if about == question.year else -1.0


def _year_named(question: Question, quantity: Quantity) -> bool:
    year = quantity.year if quantity.kind in ("date", "year") else None
    return year is not None and str(year) in question.text
