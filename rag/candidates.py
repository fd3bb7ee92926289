"""Candidates: every quantity mention in the retrieved sentences, with the time it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from index.lexical import lexical_tokens
from index.sentences import split_sentences
from index.types import Document, TableCell
from rag.cells import cell_about, cell_quantities, layout, row_context
from rag.quantities import Quantity, parse_quantities
from rag.question import Question, singular
from rag.timeline import About, resolve_about
from rag.types import Hit


@dataclass(frozen=True)
class Candidate:
    """A quantity mention that may answer the question."""

    quantity: Quantity  # offsets are in the document's cleaned text
    hit: Hit
    sentence_start: int
    sentence_end: int
    about: About
    sentence_quantities: tuple[Quantity, ...] = ()  # every quantity of its sentence, itself included
    cell: TableCell | None = None  # the table cell it was read from (its sentence is the row line)

    @property
    def document(self) -> Document:
        return self.hit.document

    @property
    def sentence(self) -> str:
        return self.document.text[self.sentence_start : self.sentence_end]

    def context(self, before: int = 1) -> str:
        """The sentence with the `before` sentences that precede it (what "it" refers to); a table
        row with the sentences before its table and the table's caption. It ends with the sentence."""
        document = self.document
        if document.tables:
            grid = layout(document)
            row = grid.rows.get(self.sentence_start)
            if row is not None:
                return row_context(document, grid, row, self.sentence_start, self.sentence_end, before)
            spans, index = grid.spans, grid.positions.get(self.sentence_start, 0)
        else:
            spans = _sentences(document.doc_id, document.content_hash, document.text)
            index = _sentence_index(document.doc_id, document.content_hash, document.text).get(
                self.sentence_start, 0
            )
        first = spans[max(0, index - before)][0]
        return self.document.text[first : self.sentence_end]


@lru_cache(maxsize=4096)
def _sentences(doc_id: str, content_hash: str, text: str) -> tuple[tuple[int, int], ...]:
    return tuple(split_sentences(text))


@lru_cache(maxsize=4096)
def _quantities(doc_id: str, content_hash: str, text: str) -> tuple[Quantity, ...]:
    return tuple(parse_quantities(text))


@lru_cache(maxsize=4096)
def _sentence_index(doc_id: str, content_hash: str, text: str) -> dict[int, int]:
    """Sentence start offset -> the sentence's position in the document."""
    return {start: i for i, (start, _) in enumerate(_sentences(doc_id, content_hash, text))}


@lru_cache(maxsize=32_768)
def tokens(text: str) -> tuple[str, ...]:
    """lexical_tokens of a passage, cached: the same sentences are scored for question after question."""
    return tuple(lexical_tokens(text))


@lru_cache(maxsize=32_768)
def token_set(text: str) -> frozenset[str]:
    """The set of tokens(text), cached."""
    return frozenset(tokens(text))


@lru_cache(maxsize=4096)
def window_quantities(text: str) -> tuple[Quantity, ...]:
    """The quantity mentions of a reading window that is not one slice of its document, cached."""
    return tuple(parse_quantities(text))


def document_quantities(document: Document) -> tuple[Quantity, ...]:
    """Every quantity mention of a document, parsed once and cached."""
    return _quantities(document.doc_id, document.content_hash, document.text)


@lru_cache(maxsize=16_384)
def _span_quantities(doc_id: str, content_hash: str, text: str, start: int, end: int) -> tuple[Quantity, ...]:
    return tuple(
        replace(q, start=q.start + start, end=q.end + start) for q in parse_quantities(text[start:end])
    )


def span_quantities(document: Document, start: int, end: int) -> tuple[Quantity, ...]:
    """The quantity mentions of text[start:end] (a chunk, which starts and ends at sentences), with
    offsets in the whole text: a query parses only the chunks it retrieved, not whole documents."""
    return _span_quantities(document.doc_id, document.content_hash, document.text, start, end)


def extract_candidates(hits: list[Hit]) -> list[Candidate]:
    """Every quantity in the sentences of the retrieved chunks (each sentence once), with its time;
    in a table row, the quantity of each value cell."""
    seen: set[tuple[str, int]] = set()
    candidates = []
    for hit in hits:
        document = hit.document
        mentions = span_quantities(document, hit.chunk.start, hit.chunk.end)
        grid = layout(document) if document.tables else None
        spans = grid.spans if grid else _sentences(document.doc_id, document.content_hash, document.text)
        for start, end in spans:
            if start < hit.chunk.start or end > hit.chunk.end or (document.doc_id, start) in seen:
                continue
            seen.add((document.doc_id, start))
            row = grid.rows.get(start) if grid else None
            if row is not None:
                candidates.extend(_cell_candidates(hit, cell_quantities(document, row), start, end))
                continue
            if grid and any(t.start <= start < t.end for t in document.tables):
                continue  # a caption or header line: its labels and years are not values
            inside = tuple(q for q in mentions if q.start >= start and q.end <= end)
            sentence = document.text[start:end]
            for quantity in inside:
                about = resolve_about(sentence, start, quantity, list(inside), document.published)
                candidates.append(Candidate(quantity, hit, start, end, about, inside))
    return candidates


def _cell_candidates(
    hit: Hit, cells: list[tuple[Quantity, TableCell]], start: int, end: int
) -> list[Candidate]:
    """A candidate per value cell of a row line, about the year its header names."""
    document, inside = hit.document, tuple(quantity for quantity, _ in cells)
    sentence = document.text[start:end]
    found = []
    for quantity, cell in cells:
        about = cell_about(cell) or resolve_about(sentence, start, quantity, list(inside), document.published)
        found.append(Candidate(quantity, hit, start, end, about, inside, cell))
    return found


def unit_noun(quantity: Quantity) -> str | None:
    """The singular noun a quantity counts ("55 Kazakh-Chinese projects" -> "project"), if any."""
    return singular(quantity.unit.split()[-1]) if quantity.unit else None


def missing_names(question: Question, text: str) -> list[str]:
    """Proper names of the question that do not occur in text (as a word prefix, any case)."""
    return list(_missing_names(question.proper_nouns, text)) if question.proper_nouns else []


@lru_cache(maxsize=32_768)
def _missing_names(names: tuple[str, ...], text: str) -> tuple[str, ...]:
    lowered = text.lower()
    missing = []
    for name in names:
        parts = [p for p in name.lower().split("-") if p]
        if not all(re.search(rf"\b{re.escape(p[: max(4, len(p) - 3)])}", lowered) for p in parts):
            missing.append(name)
    return tuple(missing)
