"""Reading: the span reader scores each candidate quantity in the sentences it reads.

The question's candidates are grouped by sentence; the `windows` sentences that hold most of the
question's words (IDF-weighted, over the sentence and the one before it; ties go to the better
retrieved passage) are read, each with the sentence before it, in one batched forward pass. A
candidate's score is the best span that holds its quantity and no other quantity of the window
(`WindowScores.best_span`); "no answer" is the window's own [CLS] score. A candidate whose
sentence is not read drops out here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.candidates import Candidate, span_quantities, token_set, window_quantities
from rag.question import Question
from rag.reader import SpanReader

Idf = Callable[[str], float]


@dataclass(frozen=True)
class Read:
    """A candidate with what the reader made of it."""

    candidate: Candidate
    span: float  # the best span score (log-probability) of a span that holds the quantity
    null: float  # the score of "no answer" in the candidate's window
    window: int  # the rank of the candidate's sentence in reading order (0: read first)
    coverage: float  # IDF-weighted share of the question's terms in the window
    sentence_coverage: float  # the same in the candidate's own sentence
    row_coverage: float = 0.0  # a table cell's: the same in its row header (0 outside tables)
    column_coverage: float = 0.0  # the same in its column header

    @property
    def lead(self) -> float:
        """The span score's lead over "no answer" in the same window."""
        return self.span - self.null


def read_candidates(
    question: Question, candidates: Sequence[Candidate], reader: SpanReader, idf: Idf, windows: int
) -> list[Read]:
    """Read the `windows` best-covered sentences of the candidates and score every candidate in them."""
    weights = {term: idf(word) for term, word in zip(question.terms, question.term_words, strict=True)}
    groups: dict[tuple[str, int], list[Candidate]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.document.doc_id, candidate.sentence_start), []).append(candidate)
    covered = {key: term_coverage(question.terms, group[0].context(), weights)
               for key, group in groups.items()}  # fmt: skip
    order = sorted(groups, key=lambda key: (-covered[key], groups[key][0].hit.rank))[:windows]
    texts = [groups[key][0].context() for key in order]
    scores = reader.score(question.text, texts)
    reads = []
    for rank, (key, text, window) in enumerate(zip(order, texts, scores, strict=True)):
        first = groups[key][0]
        offset = first.sentence_end - len(text)  # the window ends where its sentence ends
        mentions = _window_mentions(first, text, offset)
        sentence_coverage = term_coverage(question.terms, first.sentence, weights)
        for candidate in groups[key]:
            own = (candidate.quantity.start - offset, candidate.quantity.end - offset)
            span = window.best_span(*own, [m for m in mentions if m != own])
            if span > float("-inf"):
                headers = (
                    (term_coverage(question.terms, candidate.cell.row, weights),
                     term_coverage(question.terms, candidate.cell.column, weights))
                    if candidate.cell is not None else (0.0, 0.0)
                )  # fmt: skip
                coverages = (covered[key], sentence_coverage, *headers)
                reads.append(Read(candidate, span, window.null, rank, *coverages))
    return reads


def _window_mentions(candidate: Candidate, text: str, offset: int) -> list[tuple[int, int]]:
    """The quantity spans of a window, in window offsets: a table row's window joins its table's
    caption to the row (not one slice of the document), so it is parsed as it reads."""
    if candidate.cell is None:
        inside = span_quantities(candidate.document, offset, candidate.sentence_end)
        return [(q.start - offset, q.end - offset) for q in inside]
    head = len(text) - (candidate.sentence_end - candidate.sentence_start)
    own = {(q.start - candidate.sentence_start + head, q.end - candidate.sentence_start + head)
           for q in candidate.sentence_quantities}  # fmt: skip
    others = [(q.start, q.end) for q in window_quantities(text)]
    return [*own, *(m for m in others if not any(m[0] < e and s < m[1] for s, e in own))]


def term_coverage(terms: Sequence[str], text: str, idf: dict[str, float]) -> float:
    """IDF-weighted share of the question's terms found in text."""
    if not terms:
        return 0.0
    present = token_set(text)
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t in present) / total if total else 0.0
