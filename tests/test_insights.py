"""Insights: explanations on hand-made embeddings, and what carts' buyers did next."""

import numpy as np
import pytest
import torch

from sasrec_utils.serving.catalogue import UnknownItemsWarning
from sasrec_utils.serving.insights import cart_follow_ups, common_cart, explain

from .conftest import ITEM_IDS, N_ITEMS, sequences_from_lists


def test_explain_weights_sum_to_one_and_cover_the_history(rec):
    history = [101, 999, 105, 103, 108]
    with pytest.warns(UnknownItemsWarning):
        frame = explain(rec, history, 110)
    assert frame["position"].tolist() == [0, 2, 3, 4]
    assert frame["item_id"].tolist() == [101, 105, 103, 108]
    assert frame["title"].tolist() == ["Film 101", "Film 105", "Film 103", "Film 108"]
    assert frame["weight"].sum() == pytest.approx(1.0) and (frame["weight"] > 0).all()
    seq = torch.tensor([[1, 5, 3, 8]])
    with torch.no_grad():
        _, attention = rec.model(seq, return_attention=True)
    np.testing.assert_allclose(frame["weight"], attention[-1][0, :, -1].mean(0), rtol=1e-5)
    scores = rec.recommend([101, 105, 103, 108], k=N_ITEMS, exclude_seen=False)
    score = scores.loc[scores["item_id"] == 110, "score"].item()
    assert frame.attrs["score"] == pytest.approx(score, rel=1e-5)
    without_103 = rec.recommend([101, 105, 108], k=N_ITEMS, exclude_seen=False)
    dropped = score - without_103.loc[without_103["item_id"] == 110, "score"].item()
    assert frame.loc[frame["item_id"] == 103, "score_drop"].item() == pytest.approx(dropped, 1e-4)


def test_explain_keeps_the_last_max_len_items_and_refuses_nothing_to_explain(rec):
    frame = explain(rec, list(ITEM_IDS[:8]), 112)
    assert frame["position"].tolist() == [3, 4, 5, 6, 7]  # max_len = 5
    assert np.isnan(explain(rec, [101], 112)["score_drop"]).all()
    with pytest.raises(ValueError, match="at least one known item"):
        explain(rec, [], 112)


def test_nan_embeddings_are_refused_by_explain(rec):
    with torch.no_grad():
        rec.model.item_emb.weight[4, 0] = float("nan")  # item 104
    with pytest.raises(RuntimeError, match=r"^explain: 1 of 1 scores are NaN or inf"):
        explain(rec, [101, 102], item_id=104)


def test_cart_follow_ups_count_users_who_had_the_whole_cart_then_the_item(rec):
    # internal ids = external - 100; rows: who had items 1 and 2, and what came after
    train = sequences_from_lists([[1, 2, 5], [2, 1, 3, 5], [1, 5, 2], [1, 3], [5, 1, 2]])
    frame = cart_follow_ups(rec, train, [101, 102], [105, 103, 110])
    assert frame["users_with_cart"].tolist() == [4, 4, 4]  # rows 0, 1, 2 and 4
    # 105 after the cart was complete: rows 0 and 1 (row 2 had it before item 2, row 4 first)
    assert frame["chose_it_later"].tolist() == [2, 1, 0]
    assert frame["share"].tolist() == [0.5, 0.25, 0.0]
    nobody = cart_follow_ups(rec, train, [110, 111], [105])
    assert nobody["users_with_cart"].tolist() == [0] and np.isnan(nobody["share"].iloc[0])


def test_common_cart_is_the_pair_most_users_held_before_their_last_item():
    # pairs before each last item: row 0 {1,2}; row 1 {2,1},{2,3},{1,3}; row 2 {3,4};
    # row 3 {1,2} twice (counted once); row 4: only its last item holds 9
    train = sequences_from_lists([[1, 2, 5], [2, 1, 3, 5], [3, 4, 6], [1, 2, 1, 2, 7], [4, 9]])
    assert common_cart(train).tolist() == [1, 2]  # rows 0, 1, 3
    # within the recent items only: the last 2 before each last item
    assert common_cart(train, recent=2).tolist() == [1, 2]  # rows 0, 3 ({1,2} in [2,1,2])
    recent_only = sequences_from_lists([[1, 2, 3, 4, 5], [3, 4, 9], [6, 1, 2, 8]])
    assert common_cart(recent_only, recent=2).tolist() == [3, 4]  # {1,2} only in row 2
    with pytest.raises(ValueError, match="two distinct items"):
        common_cart(sequences_from_lists([[1, 2], [3, 3, 4]]))
