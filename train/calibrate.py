"""Choose, on validation data only, how many sentences to read, the calibration and the threshold.

The validation questions (SQuAD v1.1 about the 16 validation articles, asked over all 48 dev
articles; and the SQuAD 2.0 half's unanswerable questions whose plausible answer is a number) are
read once, every quantity a candidate, with more sentences than any choice reads. A candidate's
score depends only on its own window, so reading fewer sentences, or only the quantities of the
kind the question wants, is the same reading with some windows dropped: every choice is measured
from that one pass. For each, a logistic calibration fitted on the answerable questions maps the
best candidate's features to P(right); the threshold is the lowest probability at which wrong
numbers stay within WRONG_BUDGET of the answerable questions (the most right answers that
promise allows), and the unanswerable ones measure how often it abstains where it should.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eval.external import ExternalSet, load_external
from eval.questions import EvalItem
from index.build import ChunkParams, update_index
from index.embed import Embedder
from index.store import load_store
from rag.answer import Answerer, calibration_features
from rag.candidates import KIND_RULES, admits_kind
from rag.quantities import quantities_match, year_of
from rag.reader import Calibration, SpanReader
from rag.retrieve import Retriever

WRONG_BUDGET = 0.10  # the product's promise: at most one question in ten gets a wrong number
WINDOW_CHOICES = (2, 3, 4, 6)  # sentences read per question, tried on validation
READ_WINDOWS = 8  # sentences read in the validation pass: room to drop some and still have 6
RANK_CHOICES = ("span", "lead")  # rank candidates by span score, or by its lead over "no answer"
KIND_RULE_CHOICES = KIND_RULES  # which kinds may answer which questions (rag.candidates.admits_kind)
WINDOW_TOLERANCE = 0.005  # fewer sentences win unless more answer this much better (latency)
RELIABILITY_BINS = 10


@dataclass(frozen=True)
class CandidateRecord:
    """One scored candidate of a validation question: its window rank, scores and correctness."""

    window: int
    span: float
    null: float
    value_key: int  # candidates with equal keys state the same quantity
    right: bool
    fits: bool = True  # of a kind the question wants
    kind: str = ""  # the quantity's kind


@dataclass(frozen=True)
class QuestionRecord:
    """A validation question's candidates (empty when the answerer had none) and its kind."""

    answerable: bool
    candidates: tuple[CandidateRecord, ...]
    wanted: str = ""  # the kind of quantity the question wants


@dataclass(frozen=True)
class Choice:
    """One `windows` setting measured on validation."""

    windows: int
    kind_rule: str
    rank_by: str
    calibration: Calibration
    right: float  # answerable questions answered right, at the threshold
    wrong: float  # answerable questions answered with a wrong number
    coverage: float  # answerable questions answered
    abstention_recall: float  # unanswerable questions abstained on
    precision: float  # answered questions (both kinds) that were right
    brier: float
    reliability: list[dict[str, float]]
    risk_coverage: list[dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "calibration"}
        calibration = self.calibration
        data["calibration"] = {"coef": list(calibration.coef), "intercept": calibration.intercept,
                               "threshold": calibration.threshold}  # fmt: skip
        return data


def validation_sets(datasets_dir: Path) -> tuple[ExternalSet, ExternalSet]:
    """SQuAD v1.1 validation questions over all 48 articles, and the SQuAD 2.0 half's unanswerables."""
    from train.splits import SQUAD_V1, SQUAD_V2_HALF

    squad = load_external("squad", datasets_dir / SQUAD_V1, split="validation")
    squad2 = load_external("squad2", datasets_dir / SQUAD_V2_HALF, split="validation")
    unanswerable = tuple(item for item in squad2.items if not item.answerable)
    return squad, replace(squad2, items=unanswerable)


def read_validation(
    sets: Sequence[ExternalSet],
    reader: SpanReader,
    embedder: Embedder,
    k: int = 5,
    on_question: Callable[[int, int], None] | None = None,
    on_embed: Callable[[int, int], None] | None = None,
) -> list[QuestionRecord]:
    """Index each set in a temporary folder and read its questions with the most windows tried."""
    total = sum(len(s.items) for s in sets)
    records: list[QuestionRecord] = []
    for dataset in sets:
        with tempfile.TemporaryDirectory(prefix="rag-validate-") as folder:
            index_dir = Path(folder) / "index"
            update_index(index_dir, embedder, files=list(dataset.documents), params=ChunkParams(),
                         progress=on_embed)  # fmt: skip
            store = load_store(index_dir, model=embedder.name, dim=embedder.dim)
            answerer = Answerer(Retriever(store, embedder), reader)
            answerer.windows, answerer.kind_rule = READ_WINDOWS, "all"
            for item in dataset.items:
                records.append(_record(answerer, item, k))
                if on_question:
                    on_question(len(records), total)
    return records


def _record(answerer: Answerer, item: EvalItem, k: int) -> QuestionRecord:
    reading = answerer.read(item.question, k=k)
    golds = item.gold_quantities
    keys: list[Any] = []
    candidates = []
    for scored in reading.scored:
        quantity = scored.candidate.quantity
        if reading.question.wanted == "year" and (year := year_of(quantity)) is not None:
            quantity = year
        key = next((i for i, known in enumerate(keys) if quantities_match(known, quantity)), None)
        if key is None:
            keys.append(quantity)
            key = len(keys) - 1
        right = item.answerable and any(quantities_match(gold, quantity) for gold in golds)
        candidates.append(
            CandidateRecord(
                scored.window,
                scored.score,
                scored.null,
                key,
                right,
                scored.fits,
                scored.candidate.quantity.kind,
            )
        )
    return QuestionRecord(item.answerable, tuple(candidates), reading.question.wanted)


def best_of(
    record: QuestionRecord, windows: int, kind_rule: str, rank_by: str = "span"
) -> tuple[tuple[float, ...], bool] | None:
    """The features and correctness of the best candidate under one choice of windows and kind filter.

    With the kind filter, sentences holding no quantity of the wanted kind are not read, so the
    windows that remain move up in reading order (their order among themselves is unchanged)."""
    kept = [c for c in record.candidates if admits_kind(record.wanted, c.kind, kind_rule, c.fits)]  # type: ignore[arg-type]
    order = {w: rank for rank, w in enumerate(sorted({c.window for c in kept}))}
    kept = [c for c in kept if order[c.window] < windows]
    if not kept:
        return None
    key = (lambda c: c.span - c.null) if rank_by == "lead" else (lambda c: c.span)
    best = max(kept, key=key)
    rival = max((key(c) for c in kept if c.value_key != best.value_key), default=None)
    margin = key(best) - rival if rival is not None else float("inf")
    return calibration_features(best.span, best.null, margin), best.right


def choose(records: Sequence[QuestionRecord], seed: int = 13) -> tuple[Choice, list[Choice]]:
    """Every setting measured, and the one chosen: the most right answers at the threshold, with the
    fewest sentences read among those within WINDOW_TOLERANCE of the best."""
    choices = [
        measure(records, windows, kind_rule, rank_by, seed)
        for rank_by in RANK_CHOICES
        for kind_rule in KIND_RULE_CHOICES
        for windows in WINDOW_CHOICES
    ]
    top = max(c.right for c in choices)
    close = [c for c in choices if c.right >= top - WINDOW_TOLERANCE]
    chosen = min(close, key=lambda c: (c.windows, -c.right))
    return chosen, choices


def measure(
    records: Sequence[QuestionRecord], windows: int, kind_rule: str, rank_by: str = "span", seed: int = 13
) -> Choice:
    """Fit the calibration for one setting on the answerable questions, choose its threshold, score it."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    read = [b for r in answerable if (b := best_of(r, windows, kind_rule, rank_by)) is not None]
    features = np.array([b[0] for b in read])
    right = np.array([b[1] for b in read], dtype=bool)
    model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed).fit(features, right)
    probability = model.predict_proba(features)[:, 1]
    threshold = _threshold(probability, right, len(answerable))
    calibration = Calibration(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]), threshold)
    given = probability >= threshold
    answered_right = int((given & right).sum())
    answered_wrong = int((given & ~right).sum())
    missed = [b for r in unanswerable if (b := best_of(r, windows, kind_rule, rank_by)) is not None]
    answered_unanswerable = sum(calibration.probability(b[0]) >= threshold for b in missed)
    return Choice(
        windows=windows,
        kind_rule=kind_rule,
        rank_by=rank_by,
        calibration=calibration,
        right=answered_right / len(answerable),
        wrong=answered_wrong / len(answerable),
        coverage=(answered_right + answered_wrong) / len(answerable),
        abstention_recall=1 - answered_unanswerable / len(unanswerable) if unanswerable else 1.0,
        precision=answered_right / max(1, answered_right + answered_wrong),
        brier=float(np.mean((probability - right) ** 2)),
        reliability=reliability(probability, right),
        risk_coverage=risk_coverage(probability, right, len(answerable)),
    )


def _threshold(probability: Any, right: Any, questions: int) -> float:
    """The lowest threshold at which the wrong answers stay within WRONG_BUDGET of the questions."""
    import numpy as np

    order = np.argsort(-probability)
    wrong = np.cumsum(~right[order]) / questions
    ok = np.nonzero(wrong <= WRONG_BUDGET)[0]
    if ok.size == 0:
        return 1.0
    return float(probability[order][ok[-1]])


def reliability(probability: Any, right: Any) -> list[dict[str, float]]:
    """Answers binned by confidence: how many, their mean confidence and the share right."""
    import numpy as np

    table = []
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (probability >= low) & ((probability < high) | (high == 1.0))
        if inside.any():
            table.append({"low": round(float(low), 2), "high": round(float(high), 2), "n": int(inside.sum()),
                          "confidence": round(float(probability[inside].mean()), 3),
                          "right": round(float(right[inside].mean()), 3)})  # fmt: skip
    return table


def risk_coverage(probability: Any, right: Any, questions: int, points: int = 20) -> list[dict[str, float]]:
    """Coverage and the share of answers that are wrong, as the threshold falls (answerable only)."""
    import numpy as np

    order = np.argsort(-probability)
    curve = []
    for share in np.linspace(1 / points, 1, points):
        n = max(1, int(round(share * len(order))))
        taken = right[order][:n]
        curve.append({"threshold": round(float(probability[order][n - 1]), 4),
                      "coverage": round(n / questions, 4), "accuracy": round(float(taken.mean()), 4),
                      "risk": round(float(1 - taken.mean()), 4)})  # fmt: skip
    return curve
