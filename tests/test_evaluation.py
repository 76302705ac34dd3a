"""Full ranking on hand-computed cases: ties, exclusions, chunking, sampled metrics."""

import numpy as np
import pytest

from sasrec_utils.evaluation import evaluate_sampled, rank_all_items, session_metrics
from sasrec_utils.metrics import ranking_metrics

from .conftest import FixedScorer
from .conftest import eval_queries as queries


def test_hand_computed_ranks_with_ties_and_exclusion():
    #            pad  1    2    3    4    5
    scores = [
        [9.0, 5.0, 4.0, 4.0, 1.0, 8.0],  # target 3 ties with 2; 5 is in history
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
    ]  # target 1 is lowest; history [5] excluded
    q = queries([[5], [5]], [3, 1])
    ranking = rank_all_items(FixedScorer(scores), q, n_items=5)
    # query 0: above target: item 1 (5.0) and the tie item 2 (pessimistic) -> rank 3
    # query 1: items 4, 3, 2 score higher; 5 excluded -> rank 4
    assert ranking.ranks.tolist() == [3, 4]
    assert ranking.top_items[0, :3].tolist() == [1, 2, 3] or ranking.top_items[0, :3].tolist() == [
        1,
        3,
        2,
    ]
    assert 5 not in ranking.top_items[:, :4] and 0 not in ranking.top_items[:, :4]


def test_without_exclusion_history_items_count():
    scores = [[0.0, 1.0, 9.0, 2.0]]
    with_hist = rank_all_items(FixedScorer(scores), queries([[2]], [3]), 3)
    without = rank_all_items(FixedScorer(scores), queries([[2]], [3]), 3, exclude_history=False)
    assert with_hist.ranks.tolist() == [1] and without.ranks.tolist() == [2]


def test_target_seen_before_is_not_excluded():
    scores = [[0.0, 3.0, 2.0, 1.0]]
    ranking = rank_all_items(FixedScorer(scores), queries([[2, 1]], [2]), 3)
    assert ranking.ranks.tolist() == [1]  # item 1 excluded, target 2 kept


def test_chunked_equals_unchunked():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(37, 101))
    hist = [list(rng.choice(np.arange(1, 101), size=5, replace=False)) for _ in range(37)]
    q = queries(hist, rng.integers(1, 101, size=37))
    full = rank_all_items(FixedScorer(scores), q, 100, batch_size=8)
    chunked = rank_all_items(FixedScorer(scores), q, 100, batch_size=5, item_chunk=7)
    np.testing.assert_array_equal(full.ranks, chunked.ranks)
    np.testing.assert_array_equal(full.top_items, chunked.top_items)


def test_sampled_metrics_exceed_full_ranking():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(200, 501))
    q = queries([[1]] * 200, rng.integers(2, 501, size=200))
    full = ranking_metrics(rank_all_items(FixedScorer(scores), q, 500), 500)
    sampled = evaluate_sampled(FixedScorer(scores), q, 500, n_negatives=100, seed=0)
    assert set(sampled) >= {"sampled_hr@10", "sampled_ndcg@10"}
    assert sampled["sampled_hr@10"] > 2 * full["hr@10"]


def test_session_metrics_show_and_mask_only_the_last_items():
    # item 4 is first in history 0: with one item seen it is no longer masked, and it
    # outscores the target 3
    scores = [[0.0, 1.0, 2.0, 3.0, 9.0]]
    table = session_metrics({"fixed": FixedScorer(scores)}, queries([[4, 1]], [3]), 4, (1, None))
    by_length = table.set_index("items_seen")
    assert by_length.loc["1", "ndcg@10"] == pytest.approx(1 / np.log2(3))  # rank 2
    assert by_length.loc["all", "ndcg@10"] == pytest.approx(1.0)  # 4 masked: rank 1
    assert list(table.columns) == ["items_seen", "system", "hr@10", "ndcg@10"]
