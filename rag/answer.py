"""The extractive answerer: the learned reader picks the quantity; time rules and citations follow.

Candidates are the quantities (`rag.quantities`) in the retrieved sentences that the kind rule
admits. The reader (`rag.reader`, trained by `rag train`) scores each by the best span that holds
it and no other quantity; a logistic calibration fitted on validation data turns the score into
the probability that the answer is right, and the answerer abstains below the threshold chosen
there (wrong numbers within a budget). Hard rules stay where they are facts, not weights: a name
no indexed text contains, a named year with no figure, a period named by two years, the latest of
conflicting reports, and the grounding check on every answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from index.embed import Embedder
from index.errors import ModelError, QuestionError
from index.lexical import lexical_words
from rag.candidates import (
    Candidate,
    extract_candidates,
    kind_fit,
    missing_names,
    span_quantities,
    term_coverage,
)
from rag.ground import check_grounded
from rag.quantities import Quantity, format_quantity, quantities_match, year_of
from rag.question import Question, analyse, named_years
from rag.reader import Calibration, SpanReader
from rag.retrieve import Retriever
from rag.types import Answer, Citation, Filters, Reported

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Scored:
    """A candidate with the reader's score for it and the calibrated probability that it is right."""

    candidate: Candidate
    score: float  # the best span score (log-probability) of a span that holds the quantity
    features: tuple[float, ...]  # what the calibration reads (calibration_features)
    probability: float
    null: float = 0.0  # the score of "no answer" in the candidate's window
    window: int = 0  # the rank of the candidate's sentence in reading order
    fits: bool = True  # the quantity is of a kind the question wants


@dataclass(frozen=True)
class Reading:
    """What the reader made of a question: its candidates, best first, or why there are none."""

    question: Question
    scored: list[Scored]
    reason: str | None = None  # set when there is nothing to answer from

    @property
    def best(self) -> Scored | None:
        return self.scored[0] if self.scored else None

    def answer_quantity(self, scored: Scored) -> Quantity:
        """The quantity a candidate answers with: the year of a date when a year is asked for."""
        quantity = scored.candidate.quantity
        if self.question.wanted == "year" and (year := year_of(quantity)) is not None:
            return year
        return quantity


class Answerer:
    """Answers questions from one index version with the learned reader; share one per process."""

    def __init__(self, retriever: Retriever, reader: SpanReader, time_aware: bool = True) -> None:
        self.retriever = retriever
        self.reader = reader
        self.calibration: Calibration | None = reader.calibration  # None only while `rag train` validates
        self.windows = reader.meta.windows
        self.kind_rule = reader.meta.kind_rule  # chosen on validation
        self.rank_by = reader.meta.rank_by  # "span" or "lead" (span minus "no answer"): chosen on validation
        self.time_aware = time_aware

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    @property
    def threshold(self) -> float:
        """The probability below which the answerer abstains (chosen on validation)."""
        return self.calibration.threshold if self.calibration else 1.0

    def ask(self, question: str, k: int = 5, filters: Filters | None = None) -> Answer:
        """Answer a question with a cited quantity, or abstain with a reason."""
        return self.ask_and_read(question, k=k, filters=filters)[0]

    def ask_and_read(
        self, question: str, k: int = 5, filters: Filters | None = None
    ) -> tuple[Answer, Reading]:
        """The answer, with the reading it was decided from (every candidate and its confidence)."""
        if self.calibration is None:
            raise ModelError(
                f"the reader weights in {self.reader.reader_dir} carry no calibration; run `rag train` again"
            )
        reading = self.read(question, k=k, filters=filters)
        return self.decide(reading), reading

    def read(self, question: str, k: int = 5, filters: Filters | None = None) -> Reading:
        """Retrieve, read and score every candidate quantity, with no threshold applied."""
        question = validated_question(question)
        parsed = analyse(question)
        hits = self.retriever.search(question, k=max(k, 1), filters=filters)
        if not hits:
            return Reading(parsed, [], "no passage in the index matches the question")
        unknown_names = self._names_unknown_to_index(parsed)
        if unknown_names:
            return Reading(parsed, [], "the sources never mention " + ", ".join(unknown_names))
        candidates = extract_candidates(parsed, hits, kind_rule=self.kind_rule)  # type: ignore[arg-type]
        if not candidates:
            return Reading(parsed, [], f"no {parsed.wanted} is mentioned in the retrieved passages")
        return Reading(parsed, self._score(parsed, candidates))

    def _score(self, question: Question, candidates: list[Candidate]) -> list[Scored]:
        """Read the sentences of the candidates (each with the sentence before it) and score each
        candidate by the best span that holds its quantity; a sentence not read drops out."""
        sentences = _windows_to_read(question, candidates, self.retriever, self.windows)
        windows = {key: candidates_[0].context() for key, candidates_ in sentences.items()}
        scores = dict(zip(windows, self.reader.score(question.text, list(windows.values())), strict=True))
        rows: list[tuple[Candidate, float, float, int]] = []
        for rank, (key, group) in enumerate(sentences.items()):
            window = scores[key]
            offset = group[0].sentence_end - len(windows[key])  # the window ends where its sentence ends
            mentions = [(q.start - offset, q.end - offset) for q in _window_quantities(group[0], offset)]
            for candidate in group:
                own = (candidate.quantity.start - offset, candidate.quantity.end - offset)
                span = window.best_span(*own, [m for m in mentions if m != own])
                if span > float("-inf"):
                    rows.append((candidate, span, window.null, rank))
        lead = self.rank_by == "lead"
        rows = [(c, span - null if lead else span, span, null, rank) for c, span, null, rank in rows]
        rows.sort(key=lambda row: (-row[1], row[0].document.doc_id, row[0].quantity.start))
        scored = []
        for candidate, key, span, null, rank in rows:
            features = calibration_features(span, null, _margin(candidate, key, rows))
            probability = self.calibration.probability(features) if self.calibration else 0.0
            scored.append(
                Scored(
                    candidate,
                    span,
                    features,
                    probability,
                    null,
                    rank,
                    kind_fit(question, candidate.quantity) > 0,
                )
            )
        return scored

    def _names_unknown_to_index(self, question: Question) -> list[str]:
        """Names in the question that no indexed text contains: the fact cannot be there."""
        store = self.retriever.store
        return [
            name
            for name in question.proper_nouns
            if not all(store.knows(word) for word in lexical_words(name.replace("-", " ")))
        ]

    def decide(self, reading: Reading, threshold: float | None = None) -> Answer:
        """The answer a reading supports: the best candidate when its confidence reaches the threshold
        (the calibrated one unless given), then the year, period and latest-report rules."""
        if reading.reason is not None or not reading.scored:
            return _abstain(reading.question.text, reading.reason or "no candidate was read")
        threshold = self.threshold if threshold is None else threshold
        question, best = reading.question, reading.scored[0]
        if best.probability < threshold:
            candidate = best.candidate
            missing = missing_names(question, candidate.context(3))
            unsaid = f"; its passage does not mention {', '.join(missing)}" if missing else ""
            return _abstain(
                question.text,
                f"no quantity is supported well enough (confidence {best.probability:.2f} for "
                f"{format_quantity(candidate.quantity)} in {candidate.document.doc_id}{unsaid}; "
                f"threshold {threshold:.2f})",
            )
        supported = [s for s in reading.scored if s.probability >= threshold]
        if question.year is not None and self.time_aware:
            chosen = _about_year(question, supported)
            others = [_reported(s.candidate) for s in _other_years(question, supported)]
            if chosen is None:
                answer = _abstain(question.text, f"the sources give no figure for {question.year}")
                return replace(answer, also_reported=others)
        else:
            in_period = None
            if question.period and self.time_aware:  # "between 2015 and 2018": a sentence naming both
                in_period = next((s for s in supported if _names_period(s, question.period)), None)
            best = in_period or best
            rivals = _rivals(question, supported)
            chosen = in_period or (_latest(question, best, rivals) if self.time_aware else best)
            others = [_reported(s.candidate) for s in [best, *rivals] if s is not chosen]
        # "In what year …?": 1943, of "January 7, 1943"
        candidate = replace(chosen.candidate, quantity=reading.answer_quantity(chosen))
        answer = Answer(
            question=question.text,
            answer=_answer_text(candidate),
            quantity=candidate.quantity,
            abstained=False,
            reason=None,
            citations=[citation_of(candidate)],
            also_reported=_distinct(others, candidate),
            confidence=round(chosen.probability, 4),
        )
        check_grounded(answer, self.retriever.store.documents)
        return answer


def _window_quantities(candidate: Candidate, offset: int) -> tuple[Quantity, ...]:
    """Every quantity the parser finds in a candidate's window (its sentence and the one before)."""
    return span_quantities(candidate.document, offset, candidate.sentence_end)


def calibration_features(span: float, null: float, margin: float) -> tuple[float, ...]:
    """What the calibration reads of a candidate: its span score, its lead over "no answer" in its
    window, and its lead over the best candidate with another value (capped)."""
    return (span, span - null, min(margin, MARGIN_CAP))


MARGIN_CAP = 10.0  # a lead in log-probability beyond this says nothing more


def _margin(
    candidate: Candidate, key: float, rows: list[tuple[Candidate, float, float, float, int]]
) -> float:
    """How far a candidate's ranking key is above that of the best candidate with a different value."""
    for other, other_key, _, _, _ in rows:
        if not quantities_match(other.quantity, candidate.quantity):
            return key - other_key
    return MARGIN_CAP


def _windows_to_read(
    question: Question, candidates: list[Candidate], retriever: Retriever, limit: int
) -> dict[tuple[str, int], list[Candidate]]:
    """The candidates of the `limit` sentences the reader reads, grouped by sentence.

    Sentences are taken by the IDF-weighted share of the question's words in the sentence and the
    one before it (ties: the better retrieved passage first); `limit` is chosen on validation."""
    store = retriever.store
    idf = {term: store.idf(word) for term, word in zip(question.terms, question.term_words, strict=True)}
    groups: dict[tuple[str, int], list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.document.doc_id, candidate.sentence_start), []).append(candidate)
    ranked = sorted(
        groups.items(),
        key=lambda item: (-term_coverage(question.terms, item[1][0].context(), idf), item[1][0].hit.rank),
    )
    return dict(ranked[:limit])


def _names_period(scored: Scored, period: tuple[int, ...]) -> bool:
    """True when the candidate's sentence names every year of the period the question names."""
    return set(named_years(scored.candidate.sentence)).issuperset(period)


def _rivals(question: Question, supported: list[Scored]) -> list[Scored]:
    """The best supported candidate of each other document that reports the same kind of figure."""
    best = supported[0]
    rivals: dict[str, Scored] = {}
    for scored in supported[1:]:
        doc_id = scored.candidate.document.doc_id
        if doc_id == best.candidate.document.doc_id or doc_id in rivals:
            continue
        if _names_fit(scored.candidate, question) and _same_kind(scored.candidate, best.candidate):
            rivals[doc_id] = scored
    return list(rivals.values())


def _about_year(question: Question, supported: list[Scored]) -> Scored | None:
    """The best supported candidate about the year asked for."""
    year = question.year
    if not supported:
        return None
    best = supported[0].candidate
    for scored in supported:
        candidate = scored.candidate
        if candidate.about.year == year and _names_fit(candidate, question) and _same_kind(candidate, best):
            return scored
    return None


def _other_years(question: Question, supported: list[Scored]) -> list[Scored]:
    """The best supported candidate stated to be about each other year: the figure at other times."""
    year = question.year
    if not supported:
        return []
    best = supported[0].candidate
    by_year: dict[int, Scored] = {}
    for scored in supported:
        about = scored.candidate.about
        if about.year in (None, year) or about.basis not in ("explicit", "relative"):
            continue
        if _names_fit(scored.candidate, question) and _same_kind(scored.candidate, best):
            by_year.setdefault(about.year, scored)  # type: ignore[arg-type]
    return [by_year[y] for y in sorted(by_year)]


def _latest(question: Question, best: Scored, rivals: list[Scored]) -> Scored:
    """Among reports of the same thing in different sources, the latest (or the earliest)."""
    dated = [s for s in [best, *rivals] if s.candidate.about.year is not None]
    if not dated:
        return best
    key = lambda s: (s.candidate.about.year, s.candidate.document.published or "")  # noqa: E731
    return min(dated, key=key) if question.time_intent == "earliest" else max(dated, key=key)


def _names_fit(candidate: Candidate, question: Question) -> bool:
    """False when the candidate's article lacks a name the question asks about."""
    return not missing_names(question, candidate.document.text)


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


def validated_question(question: str, max_chars: int = MAX_QUESTION_CHARS, setting: str | None = None) -> str:
    """The question without surrounding space, or QuestionError when it is blank or too long."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty; ask something like 'how much did the new bridge cost?'")
    if len(question) > max_chars:
        named = f" ({setting})" if setting else ""
        raise QuestionError(
            f"the question is {len(question)} characters long; the limit is {max_chars}{named}"
        )
    return question.strip()


def _same_kind(a: Candidate, b: Candidate) -> bool:
    qa, qb = a.quantity, b.quantity
    return qa.kind == qb.kind and (qa.unit or "") == (qb.unit or "")


def _answer_text(candidate: Candidate) -> str:
    quantity = candidate.quantity
    text = format_quantity(quantity)
    return f"{quantity.qualifier} {text}" if quantity.qualifier else text


def citation_of(candidate: Candidate) -> Citation:
    """The citation of a candidate: its whole sentence, with offsets in the cleaned text."""
    document = candidate.document
    return Citation(
        doc_id=document.doc_id,
        title=document.title,
        published=document.published,
        text=candidate.sentence,
        start=candidate.sentence_start,
        end=candidate.sentence_end,
        chunk_id=candidate.hit.chunk.chunk_id,
        score=round(candidate.hit.score, 6),
    )


def _reported(candidate: Candidate) -> Reported:
    return Reported(
        answer=_answer_text(candidate),
        quantity=candidate.quantity,
        published=candidate.document.published,
        citation=citation_of(candidate),
    )


def _abstain(question: str, reason: str) -> Answer:
    return Answer(question=question, answer=None, quantity=None, abstained=True, reason=reason)
