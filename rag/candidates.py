"""Candidate answers: quantity mentions in retrieved sentences, with their time and the kind rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from index.lexical import lexical_tokens
from index.sentences import split_sentences
from index.types import Document
from rag.quantities import Quantity, parse_quantities
from rag.question import Question, singular
from rag.timeline import About, resolve_about
from rag.types import Hit

# How well a quantity kind answers each wanted kind (absent pairs do not answer at all).
_KIND_FIT: dict[str, dict[str, float]] = {
    "money": {"money": 1.0},
    "count": {"count": 1.0, "number": 0.6},
    "percent": {"percent": 1.0},
    "length": {"length": 1.0},
    "date": {"date": 1.0, "year": 0.7, "range": 0.5},
    "year": {"year": 1.0, "date": 0.7, "range": 0.6},
    "ordinal": {"ordinal": 1.0},
    "number": {"money": 0.8, "count": 0.9, "number": 1.0, "percent": 0.8, "length": 0.8},
}


@dataclass(frozen=True)
class Candidate:
    """A quantity mention that may answer the question."""

    quantity: Quantity  # offsets are in the document's cleaned text
    hit: Hit
    sentence_start: int
    sentence_end: int
    about: About

    @property
    def document(self) -> Document:
        return self.hit.document

    @property
    def sentence(self) -> str:
        return self.document.text[self.sentence_start : self.sentence_end]

    def context(self, before: int = 1) -> str:
        """The sentence with the `before` sentences that precede it (what "it" refers to)."""
        document = self.document
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


KindRule = Literal["all", "money-percent", "strict"]
KIND_RULES: tuple[KindRule, ...] = ("all", "money-percent", "strict")


def admits_kind(wanted: str, kind: str, rule: KindRule, fits: bool) -> bool:
    """Whether a quantity of `kind` may answer a question that wants `wanted`: under "all" every
    one may; under "money-percent" an amount never answers a percentage question nor the other way
    round; under "strict" only kinds that fit (`kind_fit` above 0)."""
    if rule == "strict":
        return fits
    if rule == "money-percent":
        return {wanted, kind} != {"money", "percent"}
    return True


def extract_candidates(
    question: Question, hits: list[Hit], kind_rule: KindRule = "strict"
) -> list[Candidate]:
    """Quantities in the sentences of the retrieved chunks (each sentence once) that `kind_rule`
    admits for what the question wants."""
    seen: set[tuple[str, int]] = set()
    candidates = []
    for hit in hits:
        document = hit.document
        mentions = span_quantities(document, hit.chunk.start, hit.chunk.end)
        for start, end in _sentences(document.doc_id, document.content_hash, document.text):
            if start < hit.chunk.start or end > hit.chunk.end or (document.doc_id, start) in seen:
                continue
            seen.add((document.doc_id, start))
            inside = [q for q in mentions if q.start >= start and q.end <= end]
            for quantity in inside:
                fits = kind_fit(question, quantity) > 0.0
                if not admits_kind(question.wanted, quantity.kind, kind_rule, fits):
                    continue
                sentence = document.text[start:end]
                about = resolve_about(sentence, start, quantity, inside, document.published)
                candidates.append(Candidate(quantity, hit, start, end, about))
    return candidates


def kind_fit(question: Question, quantity: Quantity) -> float:
    """1.0 when the mention is the kind of quantity asked for, less when merely compatible."""
    fit = _KIND_FIT.get(question.wanted, {}).get(quantity.kind, 0.0)
    if question.wanted == "length" and quantity.kind == "count" and _is_duration(quantity):
        return DURATION_FIT  # "how long did it take?": nearly three hundred years
    if fit and is_pair_reference(quantity) and question.counted != unit_noun(quantity):
        return fit * PAIR_REFERENCE_FIT
    return fit


_TIME_UNITS = frozenset("second minute hour day week month year decade century".split())
DURATION_FIT = 0.9


def unit_noun(quantity: Quantity) -> str | None:
    """The singular noun a quantity counts ("55 Kazakh-Chinese projects" -> "project"), if any."""
    return singular(quantity.unit.split()[-1]) if quantity.unit else None


def _is_duration(quantity: Quantity) -> bool:
    return unit_noun(quantity) in _TIME_UNITS


# "the two countries", "both sides": a way to name the parties of a report, rarely its news.
_PARTIES = frozenset("country side government leader party nation state head neighbour neighbor".split())
PAIR_REFERENCE_FIT = 0.3


def is_pair_reference(quantity: Quantity) -> bool:
    """A count of two parties ("the two countries"): a reference, not a figure being reported."""
    return quantity.kind == "count" and quantity.value == 2 and unit_noun(quantity) in _PARTIES


def term_coverage(terms: tuple[str, ...], text: str, idf: dict[str, float]) -> float:
    """IDF-weighted share of the question's terms found in text."""
    if not terms:
        return 0.0
    present = token_set(text)
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t in present) / total if total else 0.0


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
