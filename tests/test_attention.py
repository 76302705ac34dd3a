"""Attention summaries: folded windows that still sum to 1, weight by distance by hand."""

import numpy as np
import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.model.attention_maps import (
    last_layer_attention,
    weight_by_distance,
    window_weights,
)
from sasrec_utils.model.sasrec import SASRec

from .conftest import eval_queries


def test_window_folds_older_keys_into_one_column():
    attention = np.tril(np.ones((5, 5)))
    attention /= attention.sum(axis=1, keepdims=True)  # uniform causal rows
    folded = window_weights(attention, 2)
    assert folded.shape == (2, 3)
    np.testing.assert_allclose(folded.sum(axis=1), 1.0)
    np.testing.assert_allclose(folded[0], [3 / 4, 1 / 4, 0.0])  # query 4 of 5 (index 3)
    np.testing.assert_allclose(folded[1], [3 / 5, 1 / 5, 1 / 5])
    assert window_weights(attention, 9).shape == (5, 6)  # a window longer than the history


def test_last_layer_attention_is_causal_and_sums_to_one():
    torch.manual_seed(0)
    model = SASRec(20, SASRecConfig(max_len=6, hidden_dim=8, n_heads=2))
    attention = last_layer_attention(model, np.arange(1, 10))  # the last 6 items are kept
    assert attention.shape == (6, 6)
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, rtol=1e-5)
    assert np.allclose(np.triu(attention, 1), 0.0)


def test_weight_by_distance_averages_over_users_who_reach_that_far():
    torch.manual_seed(0)
    model = SASRec(20, SASRecConfig(max_len=6, hidden_dim=8, n_heads=2))
    queries = eval_queries([[1, 2, 3, 4], [5, 6]], [7, 8])
    frame = weight_by_distance(model, queries, max_distance=10)
    assert frame["distance"].tolist() == [0, 1, 2, 3] and frame["users"].tolist() == [2, 2, 1, 1]
    long, short = (last_layer_attention(model, h)[-1] for h in ([1, 2, 3, 4], [5, 6]))
    assert frame["mean_weight"].iloc[0] == pytest.approx((long[-1] + short[-1]) / 2, rel=1e-5)
    assert frame["mean_weight"].iloc[3] == pytest.approx(long[0], rel=1e-5)
    assert frame["uniform"].tolist() == pytest.approx([3 / 8, 3 / 8, 1 / 4, 1 / 4])
