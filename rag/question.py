"""Reading a question: which kind of quantity it wants, about what, and at what time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from index.lexical import stemmer_and_words
from rag.quantities import MONTH_NAMES, parse_quantities, signed_value

Wanted = Literal["money", "count", "percent", "length", "date", "year", "ordinal", "number"]
TimeIntent = Literal["year", "earliest", "none"]

_COUNTED = re.compile(r"\b(?:how\s+many|(?:number|count|total)\s+of)\s+((?:[\w-]+\s*){1,3})", re.I)
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_SKIP_ADJECTIVES = frozenset(
    "more major big new joint bilateral chinese kazakh kazakhstani foreign other total "
    "kazakh-chinese china-kazakhstan separate different individual".split()
)
# (pattern, kind), first match wins; order matters: "by how much ... grow" wants a percent.
_KIND_RULES: list[tuple[re.Pattern[str], Wanted]] = [
    # an exchange rate is a price, not a percentage
    (re.compile(r"\b(percent|percentage|per cent|%|share|proportion|(?<!exchange )rate)\b", re.I), "percent"),
    (
        re.compile(r"\bby how much\b.*\b(grow|grew|increase|rise|rose|fall|fell|drop|decline)", re.I),
        "percent",
    ),
    (re.compile(r"\bhow (?:much|fast) did\b.*\b(grow|grew|increase|rise|rose)\b", re.I), "percent"),
    (re.compile(r"\bhow many\b", re.I), "count"),
    (re.compile(r"\bnumber of\b", re.I), "count"),
    (re.compile(r"\b(how long|length|how far|distance|kilomet|km|duration)\b", re.I), "length"),
    (
        re.compile(
            r"\b(which|what)\b[^?]{0,60}?\b(anniversary|meeting|edition|session|round|forum|"
            r"conference|summit|congress)\b|\b(which|what)\s+(century|centuries|place|position|rank)\b"
            r"|\brank(?:s|ed)?\b",
            re.I,
        ),
        "ordinal",
    ),
    (re.compile(r"\b(in |over |during )?(what|which) years?\b|\bsince when\b", re.I), "year"),
    (
        re.compile(
            r"\b(when|what date|which date|what day|which day|until when|till when|"
            r"(what|which) month|from what day|from which day)\b|(?<![-\w])(?<!to )date\b",
            re.I,
        ),
        "date",
    ),
    (
        re.compile(
            r"\b(how much|how big|how large|worth|value|valued|cost|fund|invest|"
            r"investment|loan|loans|money|dollars?|usd|budget|turnover|volume|amount|"
            r"capital|price|spent|spend|trade|commerce|exports?|imports?|funding|credit|financing|"
            r"income|revenues?|profits?|earnings|expenses?|salary|salaries|wages?|fees?|debts?|"
            r"dividends?|compensation|cash)\b",
            re.I,
        ),
        "money",
    ),
    (re.compile(r"\bhow (?:much|big|large)\b", re.I), "number"),
]
_IRREGULAR_PLURALS = frozenset("people men women children staff personnel".split())
_EARLIEST = re.compile(r"\b(first|earliest|original|initially|initial)\b", re.I)
_PROPER = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]{2,}(?:-[A-Z][a-z]+)*)\b")
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how is are was were do does did".split()
)
# capitalised, but dates, not names: "the year ended 31 December 2019" need not be written so
_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_CALENDAR_WORDS = frozenset([*(month.lower() for month in MONTH_NAMES), *_WEEKDAYS])
# stems of words that say how a question is asked, not what it is about
_ASKING_STEMS = frozenset(
    "what which who whom whose when where whi how mani much is are was were do doe did will would "
    "can could big larg long fast size tell give figur number amount date until till".split()
)


# "in which year was X larger?", "which years did X exceed $20,000 thousand?": a year wanted by
# comparing a figure across the years of a table row
_WHICH_YEAR = re.compile(r"\b(?:which|what)\s+(?:(?:fiscal|financial|calendar)\s+)?years?\b", re.I)
_MOST = re.compile(r"\b(?:larger|largest|higher|highest|greater|greatest|bigger|biggest|more|most|maximum"
                   r"|exceed(?:ed|s)?|positive)\b", re.I)  # fmt: skip
_LEAST = re.compile(r"\b(?:smaller|smallest|lower|lowest|less|least|fewer|fewest|minimum|negative)\b", re.I)
_BOUND_WORD = re.compile(
    r"\b(?:(?P<most>(?:more|greater|higher|larger|bigger)\s+than|exceed(?:ed|s|ing)?|above|over)"
    r"|(?P<least>(?:less|fewer|lower|smaller)\s+than|below|under))\s*$",
    re.I,
)

_ABOVE = frozenset({"more than", "over", "above", "exceeding"})  # a figure's qualifier that is a bound
_BELOW = frozenset({"less than", "fewer than", "under", "below"})


@dataclass(frozen=True)
class Comparison:
    """A question that asks which year a figure was largest or smallest, or above or below a bound."""

    most: bool  # the larger (or above the bound); False: the smaller (or below it)
    bound: float | None = None  # "less than 10,000 thousand": 1e7; "negative": 0


def comparison_of(question: str) -> Comparison | None:
    """The comparison a "which year" question asks for, or None: "In which year was revenue
    larger?" takes the larger; "… less than 600,000 thousands?" the years under 6e8; "… negative?"
    the years under 0. A question that says both larger and smaller, without a bound, is none."""
    if not _WHICH_YEAR.search(question):
        return None
    for quantity in parse_quantities(question):
        if quantity.kind in ("year", "date"):
            continue
        before = question[max(0, quantity.start - 24) : quantity.start]
        said = _BOUND_WORD.search(before.rstrip("-\u2212 ").rstrip())
        qualifier = (quantity.qualifier or "").lower()
        if said or qualifier in _ABOVE or qualifier in _BELOW:
            most = bool(said.group("most")) if said else qualifier in _ABOVE
            return Comparison(most, signed_value(question, quantity))
    most, least = bool(_MOST.search(question)), bool(_LEAST.search(question))
    if most == least:
        return None
    if re.search(r"\b(?:negative|positive)\b", question, re.I):
        return Comparison(most, 0.0)
    return Comparison(most)


@dataclass(frozen=True)
class Question:
    """What a question asks for."""

    text: str
    wanted: Wanted
    counted: str | None  # the noun a "how many" question counts, singular ("station"): a ranker feature
    year: int | None  # a year the question names
    time_intent: TimeIntent
    terms: tuple[str, ...]  # stemmed content words
    term_words: tuple[str, ...]  # a word of the question for each term (stores look words up)
    proper_nouns: tuple[str, ...]  # capitalised names the answer's source must mention
    period: tuple[int, ...] = ()  # the years of a period the question names ("between 2015 and 2018")
    compare: Comparison | None = None  # "in which year was X larger?": a year chosen by comparing figures


def named_years(text: str) -> list[int]:
    """The years (1900-2099) a text names, in order: "between 2015 and 2018" -> [2015, 2018]."""
    return [int(y) for y in _YEAR.findall(text)]


def singular(word: str) -> str:
    """A rough English singular of a plural noun ("stations" -> "station", "cities" -> "city")."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def analyse(question: str) -> Question:
    """Parse a question into the kind of quantity wanted, its subject and its time."""
    wanted: Wanted = next((kind for pattern, kind in _KIND_RULES if pattern.search(question)), "number")
    compare = comparison_of(question)
    if compare is not None:
        wanted = "year"  # "which year has the most number of shares?" wants a year, not a count
    years = named_years(question)
    year = years[0] if len(years) == 1 else None  # two years make a period, not a condition
    if year and wanted == "year":
        wanted = "number"  # "in 2018, how …": the year is a condition, not the thing asked
    intent: TimeIntent = "year" if year else "none"
    if not year and _EARLIEST.search(question) and wanted != "ordinal":
        intent = "earliest"
    terms: dict[str, str] = {}
    for word, stem in zip(*stemmer_and_words(question), strict=True):
        if not _YEAR.fullmatch(stem) and stem not in _ASKING_STEMS:
            terms.setdefault(stem, word)
    return Question(
        text=question,
        wanted=wanted,
        counted=_counted_noun(question) if wanted == "count" else None,
        year=year,
        time_intent=intent,
        terms=tuple(terms),
        term_words=tuple(terms.values()),
        proper_nouns=_proper_nouns(question),
        period=tuple(sorted(set(years))) if len(set(years)) > 1 else (),
        compare=compare,
    )


def _counted_noun(question: str) -> str | None:
    match = _COUNTED.search(question)
    if not match:
        return None
    words = match.group(1).lower().split()
    plural = [w for w in words if w.endswith("s") and not w.endswith("ss") and len(w) > 3]
    if plural or any(w in _IRREGULAR_PLURALS for w in words):
        return singular(next(w for w in words if w in plural or w in _IRREGULAR_PLURALS))
    nouns = [w for w in words if w not in _SKIP_ADJECTIVES]
    return singular(nouns[0]) if nouns else singular(words[-1])


def _proper_nouns(question: str) -> tuple[str, ...]:
    """Capitalised words after the first, minus question words and the names of months and days:
    names the answer must be about."""
    names = []
    for match in _PROPER.finditer(question):
        word = match.group(1)
        if match.start() == 0 or word.lower() in _QUESTION_WORDS or word.lower() in _CALENDAR_WORDS:
            continue
        names.append(word)
    return tuple(dict.fromkeys(names))
