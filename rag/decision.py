"""Decision: answer with the best-ranked candidate when it is probable enough, or abstain, and
apply the rules that are facts, not weights.

The rules: a named year with no figure for it abstains (the other years' figures are listed;
a figure from an undated article with no year beside it is not ruled out, as its year cannot be
checked: on BBC validation, whose articles state no date, ruling it out cost 4.9 points);
a period named by two years ("between 2015 and 2018") takes a sentence naming both; among reports
of the same figure in different sources the latest answers (the earliest for "first"/"initial"
questions) and the others are listed under `also_reported`; a "which year was X larger?" question
is answered by its comparison across a table row (`rag.compare`) when that is probable enough.
Every answer passes the grounding check: its number lies inside its cited sentence, a table
cell's inside its cited cell, and a compared year in that cell's column header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from index.types import Document
from rag.candidates import Candidate, missing_names
from rag.compare import Compared
from rag.ground import check_grounded
from rag.quantities import Quantity, format_quantity, quantities_match
from rag.question import Question, named_years
from rag.ranking import Ranked, answer_quantity
from rag.reading import Read
from rag.types import Answer, Citation, Reported, TableRef


@dataclass(frozen=True)
class Reading:
    """What the pipeline made of a question: the read candidates, ranked best first (empty before
    `rag train` has fitted a ranker), or why there is nothing to answer from."""

    question: Question
    reads: list[Read]
    ranked: list[Ranked]
    reason: str | None = None  # set when there is nothing to answer from
    compared: Compared | None = None  # a "which year" question's comparison across a table row

    @property
    def best(self) -> Ranked | None:
        return self.ranked[0] if self.ranked else None

    def answer_quantity(self, ranked: Ranked) -> Quantity:
        """The quantity a candidate answers with: the year of a date when a year is asked for."""
        return answer_quantity(self.question, ranked.candidate.quantity)


def decide(
    reading: Reading, threshold: float | None, documents: Mapping[str, Document], time_aware: bool = True
) -> Answer:
    """The answer a reading supports, with the year, period and latest-report rules. A candidate
    answers at its calibration's threshold (a table cell's may differ), or at `threshold` if given."""
    if reading.reason is not None or not reading.ranked:
        return abstain(reading.question.text, reading.reason or "no candidate was read")
    question, best = reading.question, reading.ranked[0]

    def limit(own: float) -> float:
        return own if threshold is None else threshold

    compared = reading.compared
    if compared is not None and compared.probability >= limit(compared.threshold):
        # the year a comparison gives, citing its cell in the row compared (the row line holds
        # every year's figure); its number is the year as the cell's column header is written there
        year_cell = replace(compared.chosen.candidate, quantity=compared.year)
        return _grounded(question, year_cell, compared.probability, [], documents)
    if best.probability < limit(best.threshold):
        return abstain(question.text, _doubt(question, best, limit(best.threshold)))
    supported = [r for r in reading.ranked if r.probability >= limit(r.threshold)]
    if question.year is not None and time_aware:
        chosen = _about_year(question, supported)
        others = [_reported(r.candidate) for r in _other_years(question, supported)]
        if chosen is None:
            answer = abstain(question.text, f"the sources give no figure for {question.year}")
            return replace(answer, also_reported=others)
    else:
        in_period = None
        if question.period and time_aware:  # "between 2015 and 2018": a sentence naming both
            in_period = next((r for r in supported if _names_period(r, question.period)), None)
        best = in_period or best
        rivals = _rivals(question, supported)
        chosen = in_period or (_latest(question, best, rivals) if time_aware else best)
        others = [_reported(r.candidate) for r in [best, *rivals] if r is not chosen]
    candidate = replace(chosen.candidate, quantity=reading.answer_quantity(chosen))  # 1943 of "Jan 7, 1943"
    return _grounded(question, candidate, chosen.probability, _distinct(others, candidate), documents)


def _grounded(
    question: Question,
    candidate: Candidate,
    probability: float,
    also_reported: list[Reported],
    documents: Mapping[str, Document],
) -> Answer:
    """The answer a candidate gives, citing its sentence (or cell), once its number is grounded there."""
    answer = Answer(
        question=question.text,
        answer=answer_text(candidate.quantity),
        quantity=candidate.quantity,
        abstained=False,
        reason=None,
        citations=[citation_of(candidate)],
        also_reported=also_reported,
        confidence=round(probability, 4),
    )
    check_grounded(answer, dict(documents))
    return answer


def _doubt(question: Question, best: Ranked, threshold: float) -> str:
    candidate = best.candidate
    missing = missing_names(question, candidate.context(3))
    unsaid = f"; its passage does not mention {', '.join(missing)}" if missing else ""
    return (
        f"no quantity is supported well enough (confidence {best.probability:.2f} for "
        f"{format_quantity(candidate.quantity)} in {candidate.document.doc_id}{unsaid}; "
        f"threshold {threshold:.2f})"
    )


def _names_period(ranked: Ranked, period: tuple[int, ...]) -> bool:
    """True when the candidate's sentence names every year of the period the question names."""
    return set(named_years(ranked.candidate.sentence)).issuperset(period)


def _rivals(question: Question, supported: Sequence[Ranked]) -> list[Ranked]:
    """The best supported candidate of each other document that reports the same kind of figure."""
    best = supported[0]
    rivals: dict[str, Ranked] = {}
    for ranked in supported[1:]:
        doc_id = ranked.candidate.document.doc_id
        if doc_id == best.candidate.document.doc_id or doc_id in rivals:
            continue
        if _names_fit(ranked.candidate, question) and _same_kind(ranked.candidate, best.candidate):
            rivals[doc_id] = ranked
    return list(rivals.values())


def _about_year(question: Question, supported: Sequence[Ranked]) -> Ranked | None:
    """The best supported candidate about the year asked for."""
    if not supported:
        return None
    best = supported[0].candidate
    for ranked in supported:
        candidate = ranked.candidate
        # an article that gives no date and names no year beside the figure cannot be checked
        # against the year asked for: it is not taken to be about another year
        undated = candidate.about.year is None
        if (
            (candidate.about.year == question.year or undated)
            and _names_fit(candidate, question)
            and _same_kind(candidate, best)
        ):
            return ranked
    return None


def _other_years(question: Question, supported: Sequence[Ranked]) -> list[Ranked]:
    """The best supported candidate stated to be about each other year: the figure at other times."""
    if not supported:
        return []
    best = supported[0].candidate
    by_year: dict[int, Ranked] = {}
    for ranked in supported:
        about = ranked.candidate.about
        if about.year is None or about.year == question.year or about.basis not in ("explicit", "relative"):
            continue
        if _names_fit(ranked.candidate, question) and _same_kind(ranked.candidate, best):
            by_year.setdefault(about.year, ranked)
    return [by_year[y] for y in sorted(by_year)]


def _latest(question: Question, best: Ranked, rivals: Sequence[Ranked]) -> Ranked:
    """Among reports of the same thing in different sources, the latest (or the earliest)."""
    dated = [r for r in [best, *rivals] if r.candidate.about.year is not None]
    if not dated:
        return best

    def when(ranked: Ranked) -> tuple[int, str]:
        return ranked.candidate.about.year or 0, ranked.candidate.document.published or ""

    return min(dated, key=when) if question.time_intent == "earliest" else max(dated, key=when)


def _names_fit(candidate: Candidate, question: Question) -> bool:
    """False when the candidate's article lacks a name the question asks about."""
    return not missing_names(question, candidate.document.text)


def _same_kind(a: Candidate, b: Candidate) -> bool:
    qa, qb = a.quantity, b.quantity
    return qa.kind == qb.kind and (qa.unit or "") == (qb.unit or "")


def _distinct(reports: list[Reported], chosen: Candidate) -> list[Reported]:
    """Reports whose value differs from the answer's and from each other's."""
    kept: list[Reported] = []
    for report in reports:
        if quantities_match(report.quantity, chosen.quantity):
            continue
        if any(quantities_match(report.quantity, k.quantity) for k in kept):
            continue
        kept.append(report)
    return kept


def answer_text(quantity: Quantity) -> str:
    """The short answer: the formatted quantity with its qualifier ("more than $26 billion")."""
    text = format_quantity(quantity)
    return f"{quantity.qualifier} {text}" if quantity.qualifier else text


def citation_of(candidate: Candidate) -> Citation:
    """The citation of a candidate: its whole sentence (a table cell's row line, with the cell's
    table, row and column), with offsets in the cleaned text."""
    document, cell = candidate.document, candidate.cell
    table = None
    if cell is not None:
        own = next((t for t in document.tables if t.start <= cell.start < t.end), None)
        caption, unit = (own.caption, own.unit) if own else (None, None)
        table = TableRef(caption, cell.row, cell.column, cell.start, cell.end, unit)
    return Citation(
        doc_id=document.doc_id,
        title=document.title,
        published=document.published,
        text=candidate.sentence,
        start=candidate.sentence_start,
        end=candidate.sentence_end,
        chunk_id=candidate.hit.chunk.chunk_id,
        score=round(candidate.hit.score, 6),
        table=table,
    )


def _reported(candidate: Candidate) -> Reported:
    return Reported(
        answer=answer_text(candidate.quantity),
        quantity=candidate.quantity,
        published=candidate.document.published,
        citation=citation_of(candidate),
    )


def abstain(question: str, reason: str) -> Answer:
    """An abstention with its reason."""
    return Answer(question=question, answer=None, quantity=None, abstained=True, reason=reason)
