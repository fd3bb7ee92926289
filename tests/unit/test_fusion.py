"""The two fusions of dense and lexical scores, on hand-made lists with scores worked out by hand."""

from __future__ import annotations

import pytest

from rag.retrieve import RRF_K, _reciprocal_rank, _weighted

# rows 1-3 found densely (cosine), rows 3, 1, 4 lexically (BM25): rank 0 is the best of each list
DENSE = {1: 0.9, 2: 0.5, 3: 0.1}
LEXICAL = {3: 12.0, 1: 6.0, 4: 3.0}


def ranking(fused: dict[int, float]) -> list[int]:
    """Rows best first, ties by row, as the retriever orders them."""
    return [row for row, _ in sorted(fused.items(), key=lambda item: (-item[1], item[0]))]


def test_rrf_sums_one_over_k_plus_rank_over_both_lists() -> None:
    fused = _reciprocal_rank(DENSE, LEXICAL)
    assert fused == pytest.approx(
        {
            1: 1 / (RRF_K + 1) + 1 / (RRF_K + 2),  # first densely, second lexically
            2: 1 / (RRF_K + 2),  # dense only
            3: 1 / (RRF_K + 3) + 1 / (RRF_K + 1),
            4: 1 / (RRF_K + 3),  # lexical only
        }
    )
    assert ranking(fused) == [1, 3, 2, 4]


def test_rrf_reads_only_ranks_not_score_sizes() -> None:
    louder = {row: score * 1000 for row, score in LEXICAL.items()}
    assert _reciprocal_rank(DENSE, louder) == pytest.approx(_reciprocal_rank(DENSE, LEXICAL))


def test_rrf_ranks_tied_scores_by_row() -> None:
    fused = _reciprocal_rank({7: 0.5, 2: 0.5}, {})
    assert fused == pytest.approx({2: 1 / (RRF_K + 1), 7: 1 / (RRF_K + 2)})


def test_weighted_combines_min_max_normalised_scores() -> None:
    fused = _weighted(DENSE, LEXICAL, dense_weight=0.5)
    # dense normalised: 1 -> 1, 2 -> 0.5, 3 -> 0; lexical: 3 -> 1, 1 -> 1/3, 4 -> 0
    assert fused == pytest.approx({1: 0.5 + 0.5 / 3, 2: 0.25, 3: 0.5, 4: 0.0})
    assert ranking(fused) == [1, 3, 2, 4]


def test_the_dense_weight_can_turn_the_order() -> None:
    fused = _weighted(DENSE, LEXICAL, dense_weight=0.2)
    assert fused == pytest.approx({1: 0.2 + 0.8 / 3, 2: 0.1, 3: 0.8, 4: 0.0})
    assert ranking(fused) == [3, 1, 2, 4]


@pytest.mark.parametrize(("dense_weight", "top"), [(1.0, 1), (0.0, 3)])
def test_a_weight_of_one_or_zero_keeps_a_single_list(dense_weight, top) -> None:
    assert ranking(_weighted(DENSE, LEXICAL, dense_weight))[0] == top


def test_equal_scores_in_a_list_do_not_divide_by_zero() -> None:
    fused = _weighted({1: 0.7, 2: 0.7}, LEXICAL, dense_weight=0.5)
    assert fused == pytest.approx({1: 0.5 / 3, 2: 0.0, 3: 0.5, 4: 0.0})
