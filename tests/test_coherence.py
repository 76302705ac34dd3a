"""Session coherence: hand-made embeddings, a popularity-matched baseline, thresholds."""

import math

import numpy as np
import pytest
import torch

from sasrec_utils.serving.coherence import (
    CoherenceThresholds,
    SessionQuality,
    _deciles,
    calibrate,
    session_quality,
)

from .conftest import ITEM_IDS, set_item_table

THRESHOLDS = CoherenceThresholds(high=0.5, medium=0.1, reason="by hand")


def test_scores_on_hand_made_embeddings(rec):
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
    same = session_quality(rec, [101, 102, 101], THRESHOLDS)  # repeats count once
    assert same.n_items == 2 and same.score == pytest.approx(1.0)
    assert session_quality(rec, [101, 104]).score == pytest.approx(0.3)
    assert session_quality(rec, [101, 102, 103]).score == pytest.approx(1 / 3)  # 1, 0, 0
    low = session_quality(rec, [101, 103, 105], THRESHOLDS)  # pairs: 0, -1, 0
    assert low.score == pytest.approx(-1 / 3) and low.lift == low.score - low.baseline
    for quality in (same, low):  # the label follows the lift
        expected = "HIGH" if quality.lift > 0.5 else "MEDIUM" if quality.lift > 0.1 else "LOW"
        assert quality.label == expected
    assert session_quality(rec, [101, 104]).label is None  # no thresholds, no label
    for history in ([], [101], [101, 101]):
        expected = SessionQuality(0.0, 0.0, 0.0, "LOW", len(set(history)))
        assert session_quality(rec, history, THRESHOLDS) == expected


def test_a_score_that_only_encodes_popularity_has_no_lift(rec):
    deciles = _deciles(rec)  # POPULARITY by internal id 1..12: 5 9 1 9 3 0 7 2 8 4 6 1
    assert deciles[1:].tolist() == [5, 8, 0, 9, 3, 0, 6, 2, 7, 4, 5, 1]  # rank * 10 // 12
    with torch.no_grad():  # each item's vector: the one-hot of its popularity decile
        rec.model.item_emb.weight.zero_()  # (D = 8: deciles 5, 8 and 9 stay orthogonal)
        for internal in range(1, 13):
            rec.model.item_emb.weight[internal, deciles[internal] % 8] = 1.0
    together = session_quality(rec, [101, 111])  # deciles 5 and 5: cosine 1
    apart = session_quality(rec, [101, 102, 104])  # deciles 5, 8, 9: cosine 0
    assert together.score == pytest.approx(1.0) and together.lift == pytest.approx(0.0)
    assert apart.score == pytest.approx(0.0) and apart.lift == pytest.approx(0.0)


def test_calibrated_thresholds_are_the_measured_percentiles(rec):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    real = [list(ITEM_IDS[i : i + 4]) for i in range(8)]
    noise = [list(rng.choice(ITEM_IDS, 4, replace=False)) for _ in range(20)]
    thresholds = calibrate(rec, real, noise)
    lifts = [session_quality(rec, s).lift for s in noise]
    assert thresholds.medium == pytest.approx(np.percentile(lifts, 95))
    assert thresholds.high >= thresholds.medium
    assert "95th percentile of 20 random sessions" in thresholds.reason
    assert math.isfinite(thresholds.high)


def test_nan_embeddings_are_refused(rec):
    with torch.no_grad():
        rec.model.item_emb.weight[4, 0] = float("nan")  # item 104
    with pytest.raises(RuntimeError, match=r"^session_quality: 1 of 1 scores are NaN"):
        session_quality(rec, [101, 104])
