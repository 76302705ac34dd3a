"""Report sentences generated from their numbers: hand-computed figures and directions."""

import pandas as pd

from sasrec_utils.report import narrative


def _recency(weights: list[float], uniform: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "distance": range(len(weights)),
            "mean_weight": weights,
            "uniform": uniform,
            "users": [943] * len(weights),
        }
    )


def test_recency_a_tilt_over_a_wide_window_is_not_called_a_focus():
    # 0.028 on the last item against an equal share of 0.02: 1.4x; five most recent 0.12
    text = narrative.recency_sentence(
        _recency([0.028, 0.025, 0.023, 0.022, 0.022, 0.02], [0.02] * 6)
    )
    assert "0.028 of its attention on the most recent item" in text and "(1.4x" in text
    assert "0.120 on the five most recent together (1.2x" in text  # 0.12 / 0.10
    assert "about 0.880" in text and "a tilt toward recency over a wide window" in text


def test_recency_directions_follow_the_ratio():
    equal = narrative.recency_sentence(_recency([0.1] * 6, [0.1] * 6))
    assert "about its equal share" in equal
    less = narrative.recency_sentence(_recency([0.05] * 6, [0.1] * 6))  # 0.5x
    assert "less than its equal share" in less
    focus = narrative.recency_sentence(_recency([0.4, 0.2, 0.1, 0.05, 0.05, 0.01], [0.1] * 6))
    assert "most of the weight." in focus  # 0.8 on the five most recent


def test_session_masking_sentence_names_the_masking_not_the_clicks():
    table = pd.DataFrame(
        {
            "items_seen": ["1", "10", "all"],
            "system": ["most-popular"] * 3,
            "ndcg@10": [0.0221, 0.0229, 0.0432],
        }
    )
    text = narrative.session_masking_sentence(table)
    assert "0.0221 after 1 click(s), 0.0229 after 10, and rises to 0.0432" in text
    assert "not the same test" in text


def test_session_masking_sentence_when_the_masking_moves_nothing():
    table = pd.DataFrame(
        {
            "items_seen": ["1", "10", "all"],
            "system": ["most-popular"] * 3,
            "ndcg@10": [0.0054, 0.0059, 0.0059],
        }
    )
    text = narrative.session_masking_sentence(table)
    assert "and 0.0059 with the whole history too" in text and "moves it little" in text


def test_calibration_sentence_compares_the_top_k_mass_with_the_hit_rate():
    under = narrative.calibration_sentence(
        {"top_k_probability": 0.27, "hit_rate": 0.208, "queries": 943.0}
    )
    assert "the top 10 hold 27.0%" in under and "for 20.8%" in under
    assert "over-confident (1.30x)" in under  # 0.27 / 0.208
    calibrated = narrative.calibration_sentence(
        {"top_k_probability": 0.2, "hit_rate": 0.21, "queries": 10.0}
    )
    assert "roughly calibrated" in calibrated
    low = narrative.calibration_sentence({"top_k_probability": 0.1, "hit_rate": 0.2, "queries": 5})
    assert "under-confident (0.50x)" in low
