"""Time resolution: the time a question asks about, and the year a number in a sentence is about."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.quantities import Quantity, parse_quantities
from rag.question import analyse, named_years
from rag.timeline import About, resolve_about, resolve_relative_date

PUBLISHED = "2019-03-01"


def about(sentence: str, number: str, published: str | None = PUBLISHED, at: int = 0) -> About:
    """What resolve_about says of `number` in `sentence`, the sentence starting at offset `at`."""
    found = [shift(q, at) for q in parse_quantities(sentence)]
    target = next(q for q in found if q.text == number)
    return resolve_about(sentence, at, target, found, published)


def shift(quantity: Quantity, offset: int) -> Quantity:
    return replace(quantity, start=quantity.start + offset, end=quantity.end + offset)


# --- the question


def test_a_named_year_is_a_condition() -> None:
    question = analyse("How much did exports to China grow in 2018?")
    assert (question.year, question.time_intent, question.period) == (2018, "year", ())


def test_two_years_make_a_period_not_a_year() -> None:
    question = analyse("How much did trade grow between 2018 and 2015?")
    assert (question.year, question.time_intent, question.period) == (None, "none", (2015, 2018))


def test_first_asks_for_the_earliest_report() -> None:
    question = analyse("How much was the first loan to Kazakhstan?")
    assert (question.year, question.time_intent) == (None, "earliest")


def test_a_named_year_outweighs_first() -> None:
    assert analyse("How much was the first loan in 2016?").time_intent == "year"


def test_first_is_what_an_ordinal_question_asks_not_when() -> None:
    question = analyse("Which meeting was the first one held in Astana?")
    assert (question.wanted, question.time_intent) == ("ordinal", "none")


def test_without_time_words_the_question_has_no_time() -> None:
    question = analyse("How many stations does the railway have?")
    assert (question.year, question.time_intent, question.period) == (None, "none", ())


def test_named_years_keeps_order_and_skips_other_numbers() -> None:
    assert named_years("from 2015 to 1998, 300 units, 2101 and 20180") == [2015, 1998]


# --- the sentence


def test_an_explicit_year_beside_the_number_wins() -> None:
    assert about("Exports rose to 120 million dollars in 2018.", "120 million dollars") == About(
        2018, "explicit", "2018"
    )


@pytest.mark.parametrize(("number", "year"), [("10 million dollars", 2017), ("15 million dollars", 2018)])
def test_each_number_takes_the_nearest_year(number, year) -> None:
    sentence = "In 2017 exports were 10 million dollars; in 2018 they were 15 million dollars."
    assert about(sentence, number).year == year


def test_a_year_range_means_its_last_year() -> None:
    found = about("Output doubled in 2015-2018 to 40 tonnes.", "40 tonnes")
    assert found == About(2018, "explicit", "2015-2018")


@pytest.mark.parametrize("at", [0, 250])
def test_a_year_that_is_only_the_base_of_a_comparison_is_skipped(at) -> None:
    sentence = "Exports rose 12.1% against the same period of 2018."
    assert about(sentence, "12.1%", at=at) == About(2019, "published")


@pytest.mark.parametrize(
    ("phrase", "year"),
    [("last year", 2018), ("this year", 2019), ("in the first six months", 2019), ("next year", 2020)],
)
def test_a_relative_phrase_counts_from_the_publication_year(phrase, year) -> None:
    assert about(f"Exports reached 120 million dollars {phrase}.", "120 million dollars") == About(
        year, "relative", phrase
    )


def test_a_relative_phrase_in_an_undated_article_is_unknown() -> None:
    found = about("Exports reached 120 million dollars last year.", "120 million dollars", published=None)
    assert found == About(None, "unknown", "last year")


def test_with_nothing_said_the_article_date_holds() -> None:
    assert about("Exports reached 120 million dollars.", "120 million dollars") == About(2019, "published")


def test_with_nothing_said_and_no_date_the_year_is_unknown() -> None:
    assert about("Exports reached 120 million dollars.", "120 million dollars", published=None) == About(
        None, "unknown"
    )


@pytest.mark.parametrize(
    ("phrase", "published", "year"),
    [("last year", "2019-05-02", 2018), ("a year ago", "2019", 2018), ("next year", "2023-12", 2024),
     ("this year", None, None), ("in March", "2019-05-02", None)],
)  # fmt: skip
def test_resolve_relative_date(phrase, published, year) -> None:
    assert resolve_relative_date(phrase, published) == year
