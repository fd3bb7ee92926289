"""Choose on validation: the ranker design, the sentences read, the calibration and the threshold.

Every design (sentences read × ranker kind × weight of news questions in the ranker's training) is
fitted on the ranker fold's readings at each weight of the questions answered from a table cell
(the weight kept is the one that ranks right cells first most often on table questions left out
of the fit, by report, among those that do not answer validation worse: no validation set has
tables), then
ranks each validation question through `rag.ranking.rank`, the code that serves.
Its best candidate's calibration features (`rag.ranking.calibration_features`)
are labelled right or wrong (an unanswerable question's best candidate is always wrong), and a
logistic calibration is fitted on them, news and Wikipedia questions weighing the same in all.

The threshold is the lowest at which each domain keeps its wrong numbers within its budget
(WRONG_BUDGETS, over its answerable questions), both with cross-fitted probabilities (each
validation article's questions calibrated by a model fitted without them: the honest estimate)
and with the calibration fitted on all of them (the one that ships). The design chosen answers
the most validation questions right at its threshold, news and Wikipedia summed; fewer sentences
win a near tie (they are faster). Its answers are then decided as serving decides them (the time
rules of `rag.decision` included): those are the figures `rag eval` reproduces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag.compare import compare
from rag.decision import Reading, decide
from rag.kinds import KindModel
from rag.quantities import quantities_match
from rag.ranking import Calibration, Linear, Ranked, RankerKind, Trees, calibration_features, rank
from train.rank import fit_ranker, stack_rows
from train.readings import TABLE_SET, QuestionReading

WINDOW_CHOICES = (4, 6, 8)
RANKER_CHOICES: tuple[RankerKind, ...] = ("trees", "linear")
NEWS_WEIGHTS = (
    1.0,
    3.0,
)  # how much a news question counts in the ranker's fit, against one of another domain
WRONG_BUDGETS = {"news": 0.05, "wiki": 0.10}  # wrong numbers allowed, per answerable validation question
TABLE_WRONG_BUDGET = 0.10  # the same for answers from a table (cells, compared years), per table question
TABLE_WEIGHTS = (1.0, 3.0, 6.0)  # how much a question answered from a table cell counts in the fit
TABLE_DESIGN = (6, "trees")  # sentences read and ranker with which the table weight is chosen
TABLE_RANKER_WEIGHTS = (1.0, 3.0, 6.0, 10.0, 15.0)  # the same for the table ranker (`fit_tables`)
CALIBRATION_FOLDS = 5
TIE = 0.005  # fewer sentences win unless more answer this much better
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class Design:
    """One setting tried on validation."""

    windows: int
    ranker: RankerKind
    news_weight: float
    table_weight: float = 1.0


@dataclass
class Choice:
    """A design fitted and measured: its ranker, calibration, and the validation figures by domain."""

    design: Design
    ranker: Trees | Linear
    calibration: Calibration
    cross_fitted: dict[str, dict[str, float]]  # by domain, at the threshold, out-of-fold probabilities
    shipped: dict[str, dict[str, float]]  # the same with the calibration fitted on all
    answered: dict[str, dict[str, float]]  # the answers `rag eval` gives: shipped, with the time rules
    top1: dict[str, float]  # by domain: answerable questions whose best-ranked candidate is right
    reliability: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    risk_coverage: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    tables: TableFit | None = None  # set on the design chosen: its table ranker and calibrations
    # per table weight tried: its table top-1 out of fit, its best design's validation right (on the chosen)
    table_weights: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def right(self) -> float:
        return sum(self.cross_fitted[d]["right"] for d in WRONG_BUDGETS)

    @property
    def table_ranker(self) -> Trees | Linear | None:
        return self.tables.ranker if self.tables else None

    @property
    def table(self) -> TableCalibration | None:
        return self.tables.table if self.tables else None

    @property
    def comparison(self) -> TableCalibration | None:
        return self.tables.comparison if self.tables else None

    def to_dict(self) -> dict[str, Any]:
        calibration = self.calibration
        return {
            "windows": self.design.windows,
            "ranker": self.design.ranker,
            "news_weight": self.design.news_weight,
            "table_weight": self.design.table_weight,
            "calibration": {"coef": list(calibration.coef), "intercept": calibration.intercept,
                            "threshold": calibration.threshold},
            "cross_fitted": self.cross_fitted,
            "shipped": self.shipped,
            "answered": self.answered,
            "top1": self.top1,
            "table_calibration": self.table.to_dict() if self.table else None,
            "comparison_calibration": self.comparison.to_dict() if self.comparison else None,
            "table_weights": self.table_weights,
            "table_ranker_fit": self.tables.to_dict() if self.tables else None,
            "reliability": self.reliability,
            "risk_coverage": self.risk_coverage,
        }  # fmt: skip


HeldOut = tuple[QuestionReading, list[Ranked]]  # a question and its candidates, ranked best first


@dataclass(frozen=True)
class _Best:
    """A validation question's best-ranked candidate under one design (None: nothing was read)."""

    domain: str
    group: str
    answerable: bool
    features: tuple[float, ...] | None
    right: bool


def choose(readings: Sequence[QuestionReading], kinds: KindModel, seed: int) -> tuple[Choice, list[Choice]]:
    """Every design measured, and the one chosen.

    The weight of table questions is chosen with the designs: among the weights whose best design
    answers validation (news and Wikipedia, no tables) within TIE of the best of all weights, the
    one whose ranker puts a right cell first most often on table questions left out of its fit
    (`table_top1`; a tie goes to the smaller weight); the designs of that weight are then chosen
    between as always."""
    training = [r for r in readings if r.role == "ranker"]
    validation = [r for r in readings if r.role == "validation"]
    shares = table_top1(training, kinds, seed)
    by_weight = {weight: _designs(training, validation, kinds, seed, weight) for weight in shares or (1.0,)}
    best = max(c.right for choices in by_weight.values() for c in choices)
    allowed = [w for w, choices in by_weight.items() if max(c.right for c in choices) >= best - TIE]
    choices = by_weight[max(allowed, key=lambda w: (shares.get(w, 0.0), -w))]
    top = max(c.right for c in choices)
    close = [c for c in choices if c.right >= top - TIE]
    chosen = min(close, key=lambda c: (c.design.windows, -c.right))
    chosen.table_weights = {
        f"{w:g}": {"table_top1": shares.get(w, 0.0), "validation_right": round(max(c.right for c in cs), 4)}
        for w, cs in by_weight.items()
    }
    chosen.tables = fit_tables(training, chosen.design, kinds, seed)
    return chosen, choices


@dataclass(frozen=True)
class TableFit:
    """What ranks and calibrates readings that hold a table cell: the table ranker (None: the
    design's own ranker, fitted at the same weight, serves), the weight of table questions in its
    fit, what each weight tried answers on training reports left out of its fit, and the two table
    calibrations of the weight kept."""

    design: Design
    ranker: Trees | Linear | None
    tried: dict[str, dict[str, float]]  # by table weight: right answers and right cells first, out of fit
    table: TableCalibration | None
    comparison: TableCalibration | None

    def to_dict(self) -> dict[str, Any]:
        return {"table_weight": self.design.table_weight, "own_ranker": self.ranker is not None,
                "tried": self.tried}  # fmt: skip


def fit_tables(
    training: Sequence[QuestionReading], design: Design, kinds: KindModel, seed: int, kept: bool = False
) -> TableFit:
    """The table ranker and calibrations on top of a design chosen on validation.

    A reading that holds a table cell is ranked by the design's ranker fitted with the table
    questions weighing one of TABLE_RANKER_WEIGHTS: the weight at which most training table
    questions are answered right within the table budget, each ranked by a ranker fitted without
    its report and calibrated by calibrations fitted without its fold (`_table_answers`); a tie
    goes to more right cells ranked first, then to the smaller weight. No validation set has
    tables, so this weight is free of the validation choice, and readings without a table keep the
    design's ranker: fitting the table ranker changes no answer from text alone. At the design's
    own table weight the table ranker would be the design's ranker again, and none is fitted,
    unless that ranker is `kept` from readings other than these (`rag train --tables-only`)."""
    rows = {r.item_id: r.rows(design.windows, kinds)[:2] for r in training}
    tried = {weight: _table_answers(training, rows, replace(design, table_weight=weight), kinds, seed)
             for weight in TABLE_RANKER_WEIGHTS}  # fmt: skip
    weight = max(tried, key=lambda w: (tried[w].right, tried[w].top1, -w))
    table_design = replace(design, table_weight=weight)
    ranker = None
    if kept or table_design != design:
        weights = [_weight(r, table_design.news_weight, weight) for r in training]
        stacked = stack_rows([(*rows[r.item_id], w) for r, w in zip(training, weights, strict=True)])
        ranker = fit_ranker(stacked, design.ranker, seed)
    kept_answers = tried[weight]
    figures = {f"{w:g}": {"right": a.right, "top1": a.top1} for w, a in tried.items()}
    return TableFit(table_design, ranker, figures, kept_answers.table, kept_answers.comparison)


@dataclass(frozen=True)
class _TableAnswers:
    """The table calibrations of one table weight and what they answer out of fit."""

    table: TableCalibration | None
    comparison: TableCalibration | None
    right: float  # share of the answerable table questions answered right (cells and years)
    top1: float  # share of the value questions whose best-ranked candidate is right


def _table_answers(
    training: Sequence[QuestionReading],
    rows: dict[str, tuple[np.ndarray, np.ndarray]],
    design: Design,
    kinds: KindModel,
    seed: int,
) -> _TableAnswers:
    """Both table calibrations fitted on one held-out ranking by the design's ranker (the table
    budget is one: the wrong years of comparisons leave the rest of it to cells), and the table
    questions they answer right with probabilities from calibrations fitted without their fold."""
    held_out = held_out_rankings(training, rows, design, kinds, seed)
    comparison = fit_comparison_calibration(training, held_out, seed)
    spent = comparison.cross_fitted["wrong"] * comparison.questions if comparison else 0.0
    table = fit_table_calibration(training, held_out, seed, spent)
    fitted = [c for c in (table, comparison) if c is not None]
    questions = len(_table_questions(training, compared=None))
    right = sum(c.cross_fitted["right"] * c.questions for c in fitted) / questions if questions else 0.0
    return _TableAnswers(table, comparison, round(right, 4), _value_top1(held_out))


def _value_top1(held_out: Sequence[HeldOut]) -> float:
    """The share of the held-out questions that ask for a value whose best-ranked candidate is right."""
    values = [(reading, ranked) for reading, ranked in held_out if reading.question.compare is None]
    first = sum(bool(ranked) and reading.is_right(ranked[0].read) for reading, ranked in values)
    return round(first / len(values), 4) if values else 0.0


def _designs(
    training: Sequence[QuestionReading],
    validation: Sequence[QuestionReading],
    kinds: KindModel,
    seed: int,
    table_weight: float,
) -> list[Choice]:
    """Every design (sentences read × news weight × ranker kind) at one table weight, measured."""
    choices = []
    for windows in WINDOW_CHOICES:
        rows = {r.item_id: r.rows(windows, kinds)[:2] for r in training}
        for news_weight in NEWS_WEIGHTS:
            stacked = stack_rows(
                [(*rows[r.item_id], _weight(r, news_weight, table_weight)) for r in training]
            )
            for kind in RANKER_CHOICES:
                ranker = fit_ranker(stacked, kind, seed)
                design = Design(windows, kind, news_weight, table_weight)
                choices.append(measure(design, ranker, validation, kinds, seed))
    return choices


@dataclass(frozen=True)
class TableCalibration:
    """A calibration fitted on training table questions (of a cell's value, or of a "which year"
    comparison) and what it gives on them."""

    calibration: Calibration
    cross_fitted: dict[str, float]  # right, wrong, coverage over the answerable table questions
    questions: int

    def to_dict(self) -> dict[str, Any]:
        c = self.calibration
        return {"coef": list(c.coef), "intercept": c.intercept, "threshold": c.threshold,
                "cross_fitted": self.cross_fitted, "questions": self.questions}  # fmt: skip


def fit_table_calibration(
    training: Sequence[QuestionReading], held_out: Sequence[HeldOut], seed: int, spent: float = 0.0
) -> TableCalibration | None:
    """Calibrate a table cell's value on the training table questions, cross-fitted twice over.

    Each question is ranked by the design's ranker fitted without its report (`held_out`). Where
    the best-ranked candidate is a cell, its calibration features are labelled right or wrong; a
    logistic calibration is fitted on them, and its threshold is the lowest at which the wrong
    answers, with the `spent` wrong years of the comparisons, stay within TABLE_WRONG_BUDGET of all
    answerable table questions, both with probabilities from calibrations fitted without their fold
    and with the one fitted on all (the one that ships). Its figures are over the questions that
    ask for a value. None when there are no table questions."""
    tables = _table_questions(training, compared=False)
    if not tables:
        return None
    bests: list[tuple[QuestionReading, tuple[float, ...], bool]] = []  # where the best is a cell
    for reading, ranked in held_out:
        best = ranked[0] if ranked else None
        if reading.question.compare is None and best is not None and best.candidate.cell is not None:
            features = calibration_features(best.score, best.margin, best.features)
            bests.append((reading, features, reading.is_right(best.read)))
    budget = TABLE_WRONG_BUDGET * (len(tables) + len(_table_questions(training, compared=True))) - spent
    return _fit_on_tables(bests, len(tables), budget, seed)


def _fit_on_tables(
    found: Sequence[tuple[QuestionReading, tuple[float, ...], bool]], questions: int, budget: float, seed: int
) -> TableCalibration | None:
    """A logistic calibration of labelled features, cross-fitted by report, with the lowest threshold
    at which at most `budget` answers are wrong, out of fold and in sample; its figures are shares of
    `questions`."""
    if not found:
        return None
    features = np.array([f for _, f, _ in found])
    labels = np.array([right for _, _, right in found], dtype=bool)
    folds = np.array([_fold(r.group) for r, _, _ in found])
    model, out_of_fold, in_sample = _cross_fitted(features, labels, np.ones(len(found)), folds, seed)
    threshold = max(_table_threshold(out_of_fold, labels, budget),
                    _table_threshold(in_sample, labels, budget))  # fmt: skip
    answered = out_of_fold >= threshold
    figures = {"right": float((answered & labels).sum()) / questions,
               "wrong": float((answered & ~labels).sum()) / questions,
               "coverage": float(answered.sum()) / questions}  # fmt: skip
    calibration = Calibration(model.coef, model.intercept, threshold)
    return TableCalibration(calibration, {k: round(v, 4) for k, v in figures.items()}, questions)


def _table_questions(training: Sequence[QuestionReading], compared: bool | None) -> list[QuestionReading]:
    """The answerable training table questions that ask for a cell's value, or (compared) those
    that ask which year a row's figure was largest or beyond a bound (`rag.compare`), or (None)
    both."""
    return [r for r in training if r.set_name == TABLE_SET and r.answerable
            and (compared is None or (r.question.compare is not None) == compared)]  # fmt: skip


def fit_comparison_calibration(
    training: Sequence[QuestionReading], held_out: Sequence[HeldOut], seed: int
) -> TableCalibration | None:
    """Calibrate `rag.compare` on the training table questions that ask which year, as the cell
    calibration is: each question ranked by the design's ranker fitted without its report
    (`held_out`), the comparison's features labelled by whether its year is the gold one, a logistic
    calibration cross-fitted by report, and the lowest threshold at which wrong years stay within
    TABLE_WRONG_BUDGET of these questions, out of fold and in sample. None without such questions."""
    asked = _table_questions(training, compared=True)
    if not asked:
        return None
    found: list[tuple[QuestionReading, tuple[float, ...], bool]] = []
    for reading, ranked in held_out:
        compared = compare(reading.question, ranked, None) if reading.question.compare else None
        if compared is not None:
            right = any(quantities_match(gold, compared.year) for gold in reading.golds)
            found.append((reading, compared.features, right))
    return _fit_on_tables(found, len(asked), TABLE_WRONG_BUDGET * len(asked), seed)


def _table_threshold(probability: np.ndarray, right: np.ndarray, budget: float) -> float:
    """The lowest probability at which at most `budget` answers are wrong."""
    for threshold in sorted(set(np.round(probability, 6).tolist()) | {1.0}):
        if float(((probability >= threshold) & ~right).sum()) <= budget + 1e-9:
            return float(threshold)
    return 1.0


def _weight(reading: QuestionReading, news_weight: float, table_weight: float) -> float:
    """How much a training question counts in the ranker's fit."""
    if reading.domain == "news":
        return news_weight
    return table_weight if reading.set_name == TABLE_SET else 1.0


def table_top1(training: Sequence[QuestionReading], kinds: KindModel, seed: int) -> dict[float, float]:
    """For each weight of table questions (TABLE_WEIGHTS), the share of those that ask for a value
    whose ranker puts a right cell first when it was not fitted on their report (CALIBRATION_FOLDS
    folds by report; no validation set has tables); empty without table questions."""
    tables = _table_questions(training, compared=False)
    if not tables:
        return {}
    windows, kind = TABLE_DESIGN
    rows = {r.item_id: r.rows(windows, kinds)[:2] for r in training}
    shares: dict[float, float] = {}
    for table_weight in TABLE_WEIGHTS:
        design = Design(windows, kind, 1.0, table_weight)
        shares[table_weight] = _value_top1(held_out_rankings(training, rows, design, kinds, seed))
    return shares


def held_out_rankings(
    training: Sequence[QuestionReading],
    rows: dict[str, tuple[np.ndarray, np.ndarray]],
    design: Design,
    kinds: KindModel,
    seed: int,
) -> list[HeldOut]:
    """Every answerable training table question (of a value or of which year) with its candidates
    ranked (best first; empty: nothing was read) by the design's ranker fitted without any question
    of its report, text questions included (CALIBRATION_FOLDS folds by report): one held-out
    ranking serves both table calibrations. `rows`: every training question's ranking features
    at the design's windows."""
    tables = _table_questions(training, compared=None)
    ranked: list[HeldOut] = []
    for fold in range(CALIBRATION_FOLDS):
        reports = {r.group for r in tables if _fold(r.group) == fold}
        if not reports:
            continue
        fitted = [r for r in training if r.group not in reports]
        stacked = stack_rows(
            [(*rows[r.item_id], _weight(r, design.news_weight, design.table_weight)) for r in fitted]
        )
        ranker = fit_ranker(stacked, design.ranker, seed)
        for reading in (r for r in tables if r.group in reports):
            ranked.append(
                (reading, rank(reading.question, reading.reads_within(design.windows), kinds, ranker, None))
            )
    return ranked


def measure(
    design: Design, ranker: Trees | Linear, validation: Sequence[QuestionReading], kinds: KindModel, seed: int
) -> Choice:
    """Rank the validation questions with one design, calibrate, threshold and score it."""
    bests = [_best_of(r, design.windows, kinds, ranker) for r in validation]
    read = [b for b in bests if b.features is not None]
    features = np.array([b.features for b in read])
    labels = np.array([b.right for b in read], dtype=bool)
    weights = _domain_weights([b.domain for b in read])
    folds = np.array([_fold(b.group) for b in read])
    fitted, out_of_fold, in_sample = _cross_fitted(features, labels, weights, folds, seed)
    # the budgets hold both for the cross-fitted estimate and for the calibration that ships
    threshold = max(_threshold(bests, out_of_fold), _threshold(bests, in_sample))
    calibration = Calibration(fitted.coef, fitted.intercept, threshold)
    domains = sorted({b.domain for b in bests})
    return Choice(
        design=design,
        ranker=ranker,
        calibration=calibration,
        cross_fitted={d: _figures(bests, out_of_fold, threshold, d) for d in domains},
        shipped={d: _figures(bests, in_sample, threshold, d) for d in domains},
        answered=answered_figures(validation, design.windows, kinds, ranker, calibration),
        top1={d: _top1(bests, d) for d in domains},
        reliability={d: reliability(in_sample, labels, [b.domain == d for b in read]) for d in domains},
        risk_coverage={d: risk_coverage(bests, in_sample, d) for d in domains},
    )


def answered_figures(
    validation: Sequence[QuestionReading],
    windows: int,
    kinds: KindModel,
    ranker: Trees | Linear,
    calibration: Calibration,
) -> dict[str, dict[str, float]]:
    """Right, wrong and abstention recall by domain of the answers `rag.decision.decide` gives
    (the time rules included): what `rag eval` measures on the same questions."""
    tally: dict[str, list[int]] = {}  # domain: [answerable, right, wrong, unanswerable, abstained]
    for reading in validation:
        reads = reading.reads_within(windows)
        ranked = rank(reading.question, reads, kinds, ranker, calibration)
        documents = {r.candidate.document.doc_id: r.candidate.document for r in reads}
        answer = decide(Reading(reading.question, reads, ranked), None, documents)
        counts = tally.setdefault(reading.domain, [0, 0, 0, 0, 0])
        if reading.answerable:
            counts[0] += 1
            if not answer.abstained and answer.quantity is not None:
                right = any(quantities_match(gold, answer.quantity) for gold in reading.golds)
                counts[1 if right else 2] += 1
        else:
            counts[3] += 1
            counts[4] += answer.abstained
    figures = {}
    for domain, (answerable, right, wrong, unanswerable, abstained) in tally.items():
        shares = {"right": right / answerable, "wrong": wrong / answerable} if answerable else {}
        if unanswerable:
            shares["abstention_recall"] = abstained / unanswerable
        figures[domain] = {k: round(v, 4) for k, v in shares.items()}
    return figures


def _best_of(reading: QuestionReading, windows: int, kinds: KindModel, ranker: Trees | Linear) -> _Best:
    reads = reading.reads_within(windows)
    ranked = rank(reading.question, reads, kinds, ranker, None)
    if not ranked:
        return _Best(reading.domain, reading.group, reading.answerable, None, False)
    best = ranked[0]
    features = calibration_features(best.score, best.margin, best.features)
    return _Best(reading.domain, reading.group, reading.answerable, features, reading.is_right(best.read))


def _cross_fitted(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, folds: np.ndarray, seed: int
) -> tuple[Calibration, np.ndarray, np.ndarray]:
    """The calibration fitted on all rows, with each row's probability from the calibration fitted
    without its fold (out of fold) and from the one fitted on all (in sample)."""
    out_of_fold = np.zeros(len(labels))
    for fold in range(CALIBRATION_FOLDS):
        held = folds == fold
        if held.any() and (~held).any():
            fitted = _fit_calibration(features[~held], labels[~held], weights[~held], seed)
            out_of_fold[held] = [fitted.probability(f) for f in features[held]]
    fitted = _fit_calibration(features, labels, weights, seed)
    return fitted, out_of_fold, np.array([fitted.probability(f) for f in features])


def _fit_calibration(features: np.ndarray, labels: np.ndarray, weights: np.ndarray, seed: int) -> Calibration:
    """A logistic calibration (threshold not yet chosen); all-right or all-wrong data give a constant."""
    from sklearn.linear_model import LogisticRegression

    if labels.all() or not labels.any():
        share = min(max(float(labels.mean()), 1e-3), 1 - 1e-3)
        return Calibration(
            tuple(0.0 for _ in range(features.shape[1])), float(np.log(share / (1 - share))), 1.0
        )
    model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    model.fit(features, labels, sample_weight=weights)
    return Calibration(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]), 1.0)


def _domain_weights(domains: Sequence[str]) -> np.ndarray:
    """Each domain's questions weigh the same in all, averaging 1 a question."""
    counts = {d: domains.count(d) for d in set(domains)}
    return np.array([len(domains) / (len(counts) * counts[d]) for d in domains])


def _fold(group: str) -> int:
    return hashlib.sha256(group.encode("utf-8")).digest()[0] % CALIBRATION_FOLDS


def _threshold(bests: Sequence[_Best], probability: np.ndarray) -> float:
    """The lowest probability at which every domain keeps its wrong answers within its budget."""
    candidates = sorted(set(np.round(probability, 6).tolist()) | {1.0})
    for threshold in candidates:
        if all(_figures(bests, probability, threshold, d)["wrong"] <= budget
               for d, budget in WRONG_BUDGETS.items() if any(b.domain == d for b in bests)):  # fmt: skip
            return float(threshold)
    return 1.0


def _figures(
    bests: Sequence[_Best], probability: np.ndarray, threshold: float, domain: str
) -> dict[str, float]:
    """Right, wrong and coverage over a domain's answerable questions, and abstention recall."""
    scores = iter(probability)
    answered: list[tuple[_Best, bool]] = []
    for best in bests:
        given = best.features is not None and bool(next(scores) >= threshold)
        if best.domain == domain:
            answered.append((best, given))
    answerable = [(b, g) for b, g in answered if b.answerable]
    unanswerable = [(b, g) for b, g in answered if not b.answerable]
    right = sum(1 for b, g in answerable if g and b.right)
    wrong = sum(1 for b, g in answerable if g and not b.right)
    figures = {"questions": float(len(answered)), "answerable": float(len(answerable))}
    if answerable:
        figures |= {"right": right / len(answerable), "wrong": wrong / len(answerable),
                    "coverage": (right + wrong) / len(answerable)}  # fmt: skip
    if unanswerable:
        figures["abstention_recall"] = sum(1 for _, g in unanswerable if not g) / len(unanswerable)
    return {k: round(v, 4) for k, v in figures.items()}


def _top1(bests: Sequence[_Best], domain: str) -> float:
    answerable = [b for b in bests if b.domain == domain and b.answerable]
    return round(sum(b.right for b in answerable) / len(answerable), 4) if answerable else 0.0


def reliability(probability: np.ndarray, right: np.ndarray, mask: Sequence[bool]) -> list[dict[str, float]]:
    """Best candidates binned by confidence: how many, their mean confidence and the share right."""
    keep = np.array(mask, dtype=bool)
    probability, right = probability[keep], right[keep]
    table = []
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (probability >= low) & ((probability < high) | (high == 1.0))
        if inside.any():
            table.append({"low": round(float(low), 2), "high": round(float(high), 2), "n": int(inside.sum()),
                          "confidence": round(float(probability[inside].mean()), 3),
                          "right": round(float(right[inside].mean()), 3)})  # fmt: skip
    return table


def risk_coverage(
    bests: Sequence[_Best], probability: np.ndarray, domain: str, points: int = 20
) -> list[dict]:
    """Coverage and the share of answers that are wrong as the threshold falls (a domain's answerable)."""
    scores = iter(probability)
    pairs = [(float(next(scores)), b.right) for b in bests if b.features is not None]
    read = [b for b in bests if b.features is not None]
    mine = sorted((p for p, b in zip(pairs, read, strict=True) if b.domain == domain and b.answerable),
                  key=lambda p: -p[0])  # fmt: skip
    questions = sum(1 for b in bests if b.domain == domain and b.answerable)
    curve = []
    for share in np.linspace(1 / points, 1, points):
        n = max(1, int(round(share * len(mine))))
        if not mine:
            break
        taken = [right for _, right in mine[:n]]
        accuracy = sum(taken) / n
        curve.append({"threshold": round(mine[n - 1][0], 4), "coverage": round(n / questions, 4),
                      "accuracy": round(accuracy, 4), "risk": round(1 - accuracy, 4)})  # fmt: skip
    return curve
