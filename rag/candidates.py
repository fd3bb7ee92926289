"""Candidate answers: quantity mentions in retrieved sentences, with the features that rank them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
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
_WORD = re.compile(r"[\w$%.,-]+")
CLAUSE_WORDS = 8  # words either side of a number in the clause that is embedded with it
WINDOW = 10  # words either side of a number that count as "next to" it


@dataclass(frozen=True)
class Candidate:
    """A quantity mention that may answer the question."""

    quantity: Quantity  # offsets are in the document's cleaned text
    hit: Hit
    sentence_start: int
    sentence_end: int
    about: About
    features: dict[str, float] = field(default_factory=dict)

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

    def clause_sides(self) -> tuple[str, str]:
        """The text before and after the number in its own clause (the sentence cut at semicolons):
        "…$5.5 billion are under way; … the remaining … $18.1 billion"."""
        text = self.document.text
        before = text[self.sentence_start : self.quantity.start].split(";")[-1]
        after = text[self.quantity.end : self.sentence_end].split(";")[0]
        return before, after

    def clause(self, words: int = CLAUSE_WORDS) -> str:
        """The words around the number within its clause: what it is said of."""
        before, after = self.clause_sides()
        return " ".join([*before.split()[-words:], self.quantity.text, *after.split()[:words]])


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


def document_terms(document: Document) -> frozenset[str]:
    """The stemmed words of a document (as BM25 indexes them), computed once and cached."""
    return token_set(document.text)


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


# Nouns that count the same things in news reports (singular forms).
_PEOPLE = frozenset(
    "people person worker job employee resident citizen delegate official representative participant "
    "guest visitor student tourist specialist expert passenger member".split()
)
_SAME_COUNT = [
    _PEOPLE,
    {"project", "venture", "plant", "factory", "enterprise", "facility"},
    {"dialogue", "talk", "round", "negotiation", "consultation", "meeting"},
    {"station", "stop"},
    {"company", "firm", "business"},
]
SAME_COUNT_FIT = 0.7  # "representatives" for "people": likely, not certain
UNIT_MISMATCH = 0.35  # another counted noun: not ruled out (paraphrases), but well behind


def unit_fit(question: Question, quantity: Quantity) -> float:
    """For "how many X" questions: does the mention count X (or a word for the same things)?"""
    if question.wanted != "count" or not question.counted:
        return 1.0
    unit = unit_noun(quantity)
    if unit is None:
        return 0.5
    counted = question.counted
    if unit == counted or unit.startswith(counted[:5]) or counted.startswith(unit[:5]):
        return 1.0
    if any(unit in group and counted in group for group in _SAME_COUNT):
        return SAME_COUNT_FIT
    return UNIT_MISMATCH


def term_coverage(terms: tuple[str, ...], text: str, idf: dict[str, float]) -> float:
    """IDF-weighted share of the question's terms found in text."""
    if not terms:
        return 0.0
    present = token_set(text)
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t in present) / total if total else 0.0


def proximity(terms: tuple[str, ...], candidate: Candidate, idf: dict[str, float]) -> float:
    """IDF-weighted closeness of the question's terms to the number, within its sentence."""
    if not terms:
        return 0.0
    before, after = (tokens(side) for side in candidate.clause_sides())
    distance: dict[str, int] = {t: 0 for t in tokens(candidate.quantity.text)}  # "18 stations"
    for offset, token in enumerate(reversed(before)):
        distance.setdefault(token, offset)
    for offset, token in enumerate(after):
        distance[token] = min(distance.get(token, offset), offset)
    distance.update({t: 0 for t in tokens(candidate.quantity.text)})
    total = sum(idf[t] for t in terms)
    near = sum(idf[t] * max(0.0, 1 - distance[t] / WINDOW) for t in terms if t in distance)
    return near / total if total else 0.0


_TARGET = re.compile(
    r"\b(goal|target|aim|aims|plan|plans|planned|forecast|expected|projected|envisaged|"
    r"ambition|intend|intends|seek|seeks|strive)\b",
    re.I,
)


def target_mismatch(question: Question, candidate: Candidate) -> float:
    """1.0 when the number is a goal or forecast but the question does not ask for one."""
    if _TARGET.search(question.text):
        return 0.0
    text = candidate.document.text
    lead = text[max(candidate.sentence_start, candidate.quantity.start - 80) : candidate.quantity.start]
    return 1.0 if _TARGET.search(lead) else 0.0


_WANTS_TOTAL = re.compile(r"\b(total|overall|altogether|in all|all|joint|combined|are there)\b", re.I)
_WANTS_MORE = re.compile(r"\b(more|another|additional|further|extra|new)\b", re.I)
_TOTAL_LEAD = re.compile(r"\b(a total of|in total|total(?:ling|ing)?|overall|altogether|in all)\b", re.I)
_MORE_AFTER = re.compile(r"^\s*(more|additional|further|extra)\b", re.I)


def totality(question: Question, candidate: Candidate) -> float:
    """+1 for a stated total when a total is asked for; -1 for an increment ("5 more") when it is not."""
    if question.wanted not in ("count", "money", "number"):
        return 0.0
    text = candidate.document.text
    quantity = candidate.quantity
    lead = text[max(candidate.sentence_start, quantity.start - 40) : quantity.start]
    tail = text[quantity.end : min(candidate.sentence_end, quantity.end + 30)]
    is_increment = (
        quantity.qualifier == "more"  # "another 43 projects are under construction" is a fact of its own
        or bool(_MORE_AFTER.match(tail))
        or bool(re.search(r"\b(more|additional)\b(?!\s+than)", quantity.text, re.I))  # not "more than 400"
    )
    if is_increment and not _WANTS_MORE.search(question.text):
        return -1.0
    is_total = _TOTAL_LEAD.search(lead) or _TOTAL_LEAD.match(tail.strip())
    return 1.0 if is_total and _WANTS_TOTAL.search(question.text) else 0.0


def unknown_share(terms: tuple[str, ...], idf: dict[str, float], known: set[str]) -> float:
    """IDF-weighted share of question terms that occur nowhere in the index."""
    total = sum(idf[t] for t in terms)
    return sum(idf[t] for t in terms if t not in known) / total if total else 0.0


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


# the words just before a date that make it the end or the start of a period
_END_LEAD = re.compile(
    r"\b(till|until|through|to|ends?|ending|ended|expires?|closes?|lasts? until)\s*(on\s*)?$", re.I
)
_START_LEAD = re.compile(
    r"\b(from|since|starting|effect on|effective|began|begins|starts?|started)\s*(on\s*)?$", re.I
)


def date_role_fit(question: Question, candidate: Candidate) -> float:
    """+1 when a date is the end (or start) of a period the question asks the end (or start) of,
    -1 when it is the other one, 0 when either side does not say."""
    if question.date_role is None or candidate.quantity.kind not in ("date", "year"):
        return 0.0
    text = candidate.document.text
    lead = text[max(candidate.sentence_start, candidate.quantity.start - 40) : candidate.quantity.start]
    role = "end" if _END_LEAD.search(lead) else "start" if _START_LEAD.search(lead) else None
    if role is None:
        return 0.0
    return 1.0 if role == question.date_role else -1.0
