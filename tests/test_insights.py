"""Insights: session coherence and explanations, on hand-made embeddings."""

import math

import numpy as np
import pytest
import torch

from sasrec_utils.catalogue import UnknownItemsWarning
from sasrec_utils.insights import explain, session_quality

from .conftest import ITEM_IDS, N_ITEMS, set_item_table


def test_session_quality_labels_on_hand_made_embeddings(rec):
    set_item_table(
        rec,
        {
            101: [1, 0],
            102: [2, 0],  # same direction as 101: cosine 1
            103: [0, 1],  # orthogonal to 101
            104: [0.3, math.sqrt(1 - 0.09)],  # cosine 0.3 with 101
            105: [-1, 0],  # opposite to 101
        },
    )
    high = session_quality(rec, [101, 102, 101])  # repeats count once
    assert (high.label, high.n_items) == ("HIGH", 2) and high.score == pytest.approx(1.0)
    medium = session_quality(rec, [101, 104])
    assert medium.label == "MEDIUM" and medium.score == pytest.approx(0.3)
    third = session_quality(rec, [101, 102, 103])  # pairs: 1, 0, 0
    assert third.label == "MEDIUM" and third.score == pytest.approx(1 / 3)
    low = session_quality(rec, [101, 103, 105])  # pairs: 0, -1, 0
    assert low.label == "LOW" and low.score == pytest.approx(-1 / 3)
    for history in ([], [101], [101, 101]):
        assert session_quality(rec, history) == (type(low)(0.0, "LOW", len(set(history))))


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


def test_nan_embeddings_are_refused_by_explain_and_session_quality(rec):
    with torch.no_grad():
        rec.model.item_emb.weight[4, 0] = float("nan")  # item 104
    with pytest.raises(RuntimeError, match=r"^explain: 1 of 1 scores are NaN or inf"):
        explain(rec, [101, 102], item_id=104)
    with pytest.raises(RuntimeError, match=r"^session_quality: 1 of 1 scores are NaN"):
        session_quality(rec, [101, 104])
    assert session_quality(rec, [101, 102]).n_items == 2  # items without NaN still score
