"""What time a number is about: a year named beside it, a relative phrase, or the article date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rag.quantities import Quantity

Basis = Literal["explicit", "relative", "published", "unknown"]

# Relative phrases and the year offset they mean from the article's publication year.
_RELATIVE = [
    (re.compile(r"\blast year\b|\bprevious year\b|\ba year ago\b", re.I), -1),
    (
        re.compile(
            r"\bthis year\b|\bso far this year\b|\bsince the (?:start|beginning) of the year\b"
            r"|\bin (?:the (?:first|past) )?\d+ months\b|\bin (?:the (?:first|past) )?"
            r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven) months\b",
            re.I,
        ),
        0,
    ),
    (re.compile(r"\bnext year\b|\bby the end of next year\b", re.I), 1),
    (re.compile(r"\bby the year-end\b|\bby the end of the year\b", re.I), 0),
]


_COMPARISON_BASE = re.compile(
    r"(?:same period (?:of|in|last year)|compared (?:with|to)|against|than (?:in)?|versus|vs\.?)\s*"
    r"(?:the\s+)?(?:same\s+period\s+of\s+)?$",
    re.I,
)


@dataclass(frozen=True)
class About:
    """The year a mention is about, and how we know it."""

    year: int | None
    basis: Basis
    phrase: str | None = None  # the words that said so ("last year", "In 2018")


def _published_year(published: str | None) -> int | None:
    if published and re.match(r"\d{4}", published):
        return int(published[:4])
    return None


def resolve_about(
    sentence: str,
    sentence_start: int,
    quantity: Quantity,
    sentence_quantities: list[Quantity],
    published: str | None,
) -> About:
    """The year `quantity` is about: an explicit year in its sentence, a relative phrase, or the date."""
    explicit = _nearest_year(quantity, sentence_quantities, sentence, sentence_start)
    if explicit:
        return explicit
    published_year = _published_year(published)
    for pattern, offset in _RELATIVE:
        match = pattern.search(sentence)
        if match:
            year = published_year + offset if published_year else None
            return About(year, "relative" if year else "unknown", match.group(0))
    if published_year:
        return About(published_year, "published")
    return About(None, "unknown")


def _nearest_year(quantity: Quantity, others: list[Quantity], sentence: str, offset: int) -> About | None:
    """A year, dated mention or year range in the same sentence, the nearest one first.

    Years that are only a base of comparison ("12.1% higher against the same period of 2018")
    say nothing about when the number holds, so they are skipped.
    """
    best: tuple[int, About] | None = None
    for other in others:
        if other is quantity or other.start == quantity.start:
            continue
        lead = sentence[max(0, other.start - offset - 40) : other.start - offset]
        if _COMPARISON_BASE.search(lead):
            continue
        year = _year_of(other)
        if year is None:
            continue
        distance = abs(other.start - quantity.start)
        if best is None or distance < best[0]:
            best = (distance, About(year, "explicit", other.text))
    return best[1] if best else None


def _year_of(quantity: Quantity) -> int | None:
    if quantity.kind == "year":
        return int(quantity.value)
    if quantity.kind == "range" and 1900 <= quantity.value <= 2100 and quantity.value_end:
        return int(quantity.value_end)
    if quantity.kind == "date" and quantity.year:
        return quantity.year
    return None


def resolve_relative_date(phrase: str, published: str | None) -> int | None:
    """The year a relative phrase ("last year", "this year", "next year") means at `published`."""
    published_year = _published_year(published)
    for pattern, offset in _RELATIVE:
        if pattern.search(phrase) and published_year:
            return published_year + offset
    return None
