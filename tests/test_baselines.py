"""The simple sequential baselines on hand-computed cases, and tuning on validation only."""

import numpy as np
import pytest
import torch

from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.evaluation.baselines import (
    TIE_BREAK,
    CooccurrenceScorer,
    EASEScorer,
    MarkovScorer,
)
from sasrec_utils.evaluation.ranking import rank_all_items
from sasrec_utils.evaluation.tuning import _widen, edge_note, tune

from .conftest import cycle_events, eval_queries, sequences_from_lists

TRAIN = sequences_from_lists([[1, 2, 3], [1, 2, 4], [2, 3, 1], [4, 1]])  # 4 items


def scores(scorer, history):
    histories = eval_queries([history], [1]).histories
    state = scorer.prepare(histories, np.array([0]))
    return scorer.chunk(state, 0, 5)[0].numpy()


def test_markov_last_item_scores_are_transition_probabilities():
    # transitions: 1->2 x2, 2->3 x2, 2->4, 3->1, 4->1 ; so P(.|2) = 3: 2/3, 4: 1/3
    got = scores(MarkovScorer(TRAIN, 4), [4, 2])
    popularity = np.array([0, 4, 3, 2, 2]) / 4 * TIE_BREAK
    np.testing.assert_allclose(got, np.array([0, 0, 0, 2 / 3, 1 / 3]) + popularity)


def test_markov_decayed_history_adds_earlier_items_with_weight():
    got = scores(MarkovScorer(TRAIN, 4, last_n=2, decay=0.5), [1, 2])
    # 2 is the last item (weight 1), 1 before it (weight 0.5): P(.|1) = {2: 1}
    expected = np.array([0, 0, 0.5, 2 / 3, 1 / 3]) + np.array([0, 4, 3, 2, 2]) / 4 * TIE_BREAK
    np.testing.assert_allclose(got, expected)


def test_cooccurrence_counts_following_items_within_the_window():
    scorer = CooccurrenceScorer(TRAIN, 4, window=2, alpha=1.0, last_n=1)
    # after item 2 within 2 steps: 3 (row 0), 4 (row 1), 3 and 1 (row 2); pop(2) = 3
    got = scores(scorer, [2]) - np.array([0, 4, 3, 2, 2]) / 4 * TIE_BREAK
    np.testing.assert_allclose(got, np.array([0, 1, 0, 2, 1]) / 3)
    cosine = CooccurrenceScorer(TRAIN, 4, window=2, alpha=0.5, last_n=1)
    pop = np.array([1, 4, 3, 2, 2], dtype=float)
    expected = np.array([0, 1, 0, 2, 1]) / np.sqrt(3 * pop)
    got = scores(cosine, [2]) - np.array([0, 4, 3, 2, 2]) / 4 * TIE_BREAK
    np.testing.assert_allclose(got, expected)


def test_ease_matches_the_closed_form_by_direct_solve():
    scorer = EASEScorer(TRAIN, 4, l2=0.5)
    x = np.zeros((4, 5))
    for row in range(4):
        x[row, TRAIN[row]] = 1
    gram = x.T @ x + 0.5 * np.eye(5)
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0)
    weights[0] = weights[:, 0] = 0
    expected = np.array([0, 1, 0, 1, 0]) @ weights + np.array([0, 4, 3, 2, 2]) / 4 * TIE_BREAK
    np.testing.assert_allclose(scores(scorer, [3, 1, 3]), expected, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="EASE_MAX_ITEMS"):
        EASEScorer(TRAIN, 40_000)


@pytest.mark.parametrize(
    "scorer",
    [MarkovScorer(TRAIN, 4, 2, 0.5), CooccurrenceScorer(TRAIN, 4, 2), EASEScorer(TRAIN, 4)],
)
def test_gather_agrees_with_chunk(scorer):
    histories = eval_queries([[1, 2], [4], [3, 1, 2]], [1, 1, 1]).histories
    state = scorer.prepare(histories, np.arange(3))
    whole = scorer.chunk(state, 0, 5)
    items = torch.tensor([[1, 4], [2, 3], [4, 4]])
    np.testing.assert_allclose(scorer.gather(state, items), whole.gather(1, items))


def test_zero_scores_fall_back_to_popularity_order():
    # item 3 never follows 4: among the unscored items the more popular ranks first
    ranking = rank_all_items(MarkovScorer(TRAIN, 4), eval_queries([[4]], [3]), 4)
    assert ranking.top_items[0, :3].tolist() == [1, 2, 3]


def test_tune_picks_the_best_validation_grid_point_and_never_reads_test():
    data = build_sequences(cycle_events(n_users=40, n_items=12, length=10))
    split = leave_one_out_split(data)
    spoiled = type(split)(split.train, split.valid, None, split.n_items)  # test unreadable
    tuned = tune("markov", spoiled, {"last_n": [1, 5], "decay": [0.1, 1.0]}, extensions={})
    assert len(tuned.grid) == 3  # last_n=1 keeps one decay
    assert tuned.valid_ndcg == tuned.grid["valid_ndcg@10"].max()
    assert tuned.params["last_n"] == 1 and tuned.valid_ndcg == pytest.approx(1.0)  # a cycle


def test_a_best_value_on_the_grid_edge_is_widened_until_interior():
    # a made-up validation score that peaks at last_n = 20, past the grid's top (10)
    tried = []

    def score(point):
        tried.append(point)
        fitted[repr(sorted(point.items()))] = (-((point["last_n"] - 20) ** 2), None)
        return fitted[repr(sorted(point.items()))][0]

    fitted = {}
    grid = {"last_n": [1, 5, 10]}
    best = max(({"last_n": n} for n in grid["last_n"]), key=score)
    best = _widen(best, grid, {"last_n": ((), (20, 50, 200))}, score, fitted)
    assert best == {"last_n": 20}  # 20 beat 10, then 50 lost to 20: 20 is interior
    assert [p["last_n"] for p in tried] == [1, 5, 10, 20, 50]
    assert grid == {"last_n": [1, 5, 10]}  # the caller's grid is kept


def test_a_value_alone_in_its_grid_is_widened_on_both_sides():
    # a single decay (lowest and highest at once): the lower extension loses, and the
    # upper one must still be tried even though nothing else moved
    fitted, tried = {}, []

    def score(point):
        tried.append(point["decay"])
        fitted[repr(sorted(point.items()))] = (point["decay"], None)  # higher is better
        return point["decay"]

    score({"decay": 0.8})  # the grid's only point
    best = _widen({"decay": 0.8}, {"decay": [0.8]}, {"decay": ((0.5,), (1.0,))}, score, fitted)
    assert tried == [0.8, 0.5, 1.0]
    assert best == {"decay": 1.0}


def test_tuning_on_real_data_widens_from_the_grid_it_was_given():
    data = build_sequences(cycle_events(n_users=40, n_items=12, length=10))
    split = leave_one_out_split(data)
    tuned = tune(
        "markov",
        split,
        {"last_n": [3, 5], "decay": [0.8, 1.0]},
        extensions={"last_n": ((2, 1), ()), "decay": ((0.5,), ())},
    )
    # on a cycle every point is perfect: the first (3, 0.8) stays, each edge is stepped
    # past once (2 and 0.5 are no better), and both chosen values end interior
    extra = tuned.grid.drop(columns="valid_ndcg@10").iloc[4:].to_dict(orient="records")
    assert extra == [{"last_n": 2, "decay": 0.8}, {"last_n": 3, "decay": 0.5}]
    assert tuned.params == {"last_n": 3, "decay": 0.8} and tuned.edge_note == ""


def test_edge_notes_give_the_range_end_or_the_widest_value_tried():
    import pandas as pd

    tried = pd.DataFrame({"last_n": [1, 5, 10], "decay": [0.5, 0.8, 1.0]})
    assert edge_note("markov", {"last_n": 5, "decay": 0.8}, tried) == ""
    assert edge_note("markov", {"last_n": 10, "decay": 1.0}, tried) == (
        "last_n=10 is the highest value tried; decay=1.0 weighs every recent item alike: its "
        "largest value"
    )
    assert edge_note("markov", {"last_n": 1, "decay": 0.5}, tried) == (
        "last_n=1 is the smallest history a query has"
    )
