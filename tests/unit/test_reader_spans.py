"""WindowScores.best_span on hand-made scores: which spans may answer for a quantity, and their score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rag.reader import MAX_ANSWER_TOKENS, WindowScores

# "Sales rose 12% to 40 units": [CLS] Sales rose 12 % to 40 units [SEP]
OFFSETS = [(-1, -1), (0, 5), (6, 10), (11, 13), (13, 14), (15, 17), (18, 20), (21, 26), (-1, -1)]
TWELVE_PERCENT, SALES, FORTY = (11, 14), (0, 5), (18, 20)
# log-probabilities; [CLS] and [SEP] score best of all, so a span through them would win if allowed
START = [0.0, -0.5, -4.0, -1.0, -3.0, -6.0, -2.0, -7.0, 0.0]
END = [0.0, -8.0, -6.0, -5.0, -1.0, -7.0, -0.5, -3.0, 0.0]


@pytest.fixture
def window() -> WindowScores:
    return WindowScores(np.array(START), np.array(END), np.array(OFFSETS))


def test_the_best_span_over_the_quantity_may_reach_past_it(window) -> None:
    # start at "Sales" (-0.5), end at "40" (-0.5): the span covers 12%
    assert window.best_span(*TWELVE_PERCENT) == pytest.approx(-1.0)


def test_a_span_may_not_reach_another_quantity_after_it(window) -> None:
    # "40" is taken: the end stops at "%" (-1.0)
    assert window.best_span(*TWELVE_PERCENT, others=[FORTY]) == pytest.approx(-1.5)


def test_a_span_may_not_reach_another_quantity_on_either_side(window) -> None:
    # "Sales" and "40" taken: start at "12" (-1.0), end at "%" (-1.0)
    assert window.best_span(*TWELVE_PERCENT, others=[SALES, FORTY]) == pytest.approx(-2.0)


def test_another_quantity_inside_the_span_itself_does_not_narrow_it(window) -> None:
    # "%" alone is another quantity, but it lies inside 12%'s own pieces: only pieces outside count
    assert window.best_span(*TWELVE_PERCENT, others=[(13, 14)]) == pytest.approx(-1.0)


def test_characters_outside_the_window_score_minus_infinity(window) -> None:
    assert window.best_span(100, 110) == -math.inf


def test_cls_and_sep_never_take_part_in_a_span(window) -> None:
    # ending at [SEP] (0.0) would give -0.5; the best real span is "Sales" .. "40"
    assert window.best_span(*FORTY) == pytest.approx(-1.0)


def test_null_is_cls_as_start_and_end() -> None:
    scores = WindowScores(np.array([-2.0, -1.0]), np.array([-3.0, -1.0]), np.array([(-1, -1), (0, 4)]))
    assert scores.null == pytest.approx(-5.0)


def test_a_span_longer_than_the_limit_is_not_scored() -> None:
    n = MAX_ANSWER_TOKENS + 10
    offsets = np.array([(-1, -1)] + [(2 * i, 2 * i + 1) for i in range(1, n)])
    start, end = np.full(n, -10.0), np.full(n, -10.0)
    start[1], end[n - 1] = 0.0, -1.0  # a start far before the quantity, which sits at the last piece
    scores = WindowScores(start, end, offsets)
    last = tuple(offsets[n - 1])
    # the far start would give -1.0; the nearest allowed start scores -10.0
    assert scores.best_span(*last) == pytest.approx(-11.0)
    start[n - MAX_ANSWER_TOKENS] = -2.0  # the farthest start the limit allows
    start[n - MAX_ANSWER_TOKENS - 1] = -0.1  # one piece too far
    assert WindowScores(start, end, offsets).best_span(*last) == pytest.approx(-3.0)
