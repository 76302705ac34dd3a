"""Full ranking on hand-computed cases: ties, exclusions, chunking, sampled metrics."""

import numpy as np
import pytest
import torch

from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.evaluation.metrics import ranking_metrics
from sasrec_utils.evaluation.ranking import (
    evaluate_model,
    evaluate_sampled,
    rank_all_items,
    session_metrics,
)
from sasrec_utils.model.sasrec import SASRec

from .conftest import FixedScorer, cycle_events
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


NAN, INF = float("nan"), float("inf")


def test_nonfinite_scores_rank_below_every_finite_one_and_are_counted():
    #            pad  1    2    3    4    5
    scores = [
        [NAN, NAN, NAN, NAN, NAN, NAN],  # a NaN model: target 2 last of 4 candidates
        [0.0, 3.0, 2.0, NAN, INF, 1.0],  # target 2: only item 1 is above; NaN, inf are not
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],  # finite: rank 4 as ever (5 excluded)
        [0.0, 1.0, 2.0, -INF, 4.0, 5.0],  # target 3 at -inf, history [2, 2, 3]: 4 candidates
    ]
    q = queries([[5], [], [5], [2, 2, 3]], [2, 2, 1, 3])
    ranking = rank_all_items(FixedScorer(scores), q, n_items=5)
    assert ranking.ranks.tolist() == [4, 2, 4, 4]
    assert ranking.nonfinite.tolist() == [True, True, False, True]
    assert not ranking.top_items[0].any()  # nothing to recommend from NaN scores
    assert ranking.top_items[1, :4].tolist() == [1, 2, 5, 0]  # NaN and inf never listed
    unexcluded = rank_all_items(FixedScorer(scores), q, n_items=5, exclude_history=False)
    assert unexcluded.ranks[[0, 3]].tolist() == [5, 5]  # last of all 5 items
    chunked = rank_all_items(FixedScorer(scores), q, n_items=5, batch_size=3, item_chunk=2)
    np.testing.assert_array_equal(chunked.ranks, ranking.ranks)
    np.testing.assert_array_equal(chunked.nonfinite, ranking.nonfinite)
    with pytest.warns(RuntimeWarning, match="3 of 4 queries had NaN or infinite scores"):
        metrics = ranking_metrics(ranking, 5)
    assert metrics["nonfinite_queries"] == 3.0 and metrics["mrr"] == (1 / 4 + 1 / 2 + 2 / 4) / 4
    finite = rank_all_items(FixedScorer(scores[2:3]), queries([[5]], [1]), n_items=5)
    assert "nonfinite_queries" not in ranking_metrics(finite, 5)


def test_a_nan_padding_score_is_not_counted():
    ranking = rank_all_items(FixedScorer([[NAN, 1.0, 2.0]]), queries([[]], [2]), n_items=2)
    assert ranking.ranks.tolist() == [1] and ranking.nonfinite.tolist() == [False]


def test_sampled_metrics_rank_a_nan_target_last():
    q = queries([[1]] * 4, [2, 3, 4, 5])
    sampled = evaluate_sampled(FixedScorer(np.full((4, 30), NAN)), q, 29, n_negatives=20)
    assert sampled["sampled_hr@10"] == 0.0 and sampled["sampled_mrr"] == pytest.approx(1 / 21)


def test_a_nan_model_ranks_every_target_last_not_first(tiny_cfg):
    """The issue's case: comparisons with NaN are false, so a NaN model scored 1.0."""
    data = build_sequences(cycle_events(n_users=20, n_items=30, length=12))
    split = leave_one_out_split(data)
    model = SASRec(split.n_items, tiny_cfg)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(NAN)
    with pytest.warns(RuntimeWarning, match="20 of 20 queries had NaN"):
        metrics = evaluate_model(model, split.valid, split.train, tiny_cfg)
    # each target ties every candidate (the items outside its history, and itself): last
    valid = split.valid
    last = [
        split.n_items - len(set(valid.histories[row].tolist()) - {int(valid.targets[row])})
        for row in range(len(valid))
    ]
    assert min(last) > 10 and metrics["hr@10"] == 0.0 and metrics["ndcg@10"] == 0.0
    assert metrics["mrr"] == pytest.approx(np.mean(1 / np.array(last)))
    assert metrics["nonfinite_queries"] == 20.0 and metrics["coverage@10"] == 0.0
    assert np.isnan(metrics["novelty@10"])  # nothing recommended: undefined, said quietly
