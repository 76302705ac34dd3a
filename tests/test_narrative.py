"""Report sentences generated from their numbers: hand-computed figures and directions."""

import numpy as np
import pandas as pd

from sasrec_utils.config import DATASETS, SASRecConfig
from sasrec_utils.presets import preset_config
from sasrec_utils.report import narrative

# every default of the first rounds changed
CHANGED = {
    "dropout": 0.3,
    "max_len": 50,
    "hidden_dim": 32,
    "n_layers": 1,
    "n_heads": 1,
    "lr": 5e-4,
    "batch_tokens": 0,
}


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


def test_every_dataset_is_described():
    assert set(narrative.DATASETS) == set(DATASETS)
    assert "no times" in narrative.DATASETS["amazon-beauty"]


def test_timestamps_that_count_each_users_events_are_positions():
    positions = pd.DataFrame({"user_id": [1, 1, 1, 2, 2], "timestamp": [0, 1, 2, 0, 1]})
    assert narrative.timestamps_are_positions(positions)
    times = positions.assign(timestamp=[880_000_000, 880_000_000, 880_000_060, 0, 1])
    assert not narrative.timestamps_are_positions(times)


def test_time_order_clause_follows_the_share_of_ties():
    assert narrative.time_order_clause(0.506, False).startswith("many ties in time (50.6%")
    assert narrative.time_order_clause(0.02, False).startswith("few ties in time (2.0%")
    assert narrative.time_order_clause(0.0, True).startswith("no ties in time: its timestamps")


def test_older_items_sentence_compares_the_bottom_row_with_an_even_spread():
    # 4 items seen, a window of 2: the bottom row puts 0.1 + 0.2 on the 2 older ones
    attention = np.tril(np.ones((4, 4)))
    attention[-1] = [0.1, 0.2, 0.3, 0.4]
    text = narrative.older_items_sentence(attention, 2)
    assert "sees 4 items: it puts 0.30 of its weight on the 2 older than the 2 shown" in text
    assert "and 0.70 on those 2; an even spread would give the older ones 0.50." in text
    attention[-1] = [0.4, 0.3, 0.2, 0.1]  # 0.7 on the older ones
    assert "so the older items take most of it." in narrative.older_items_sentence(attention, 2)
    short = narrative.older_items_sentence(np.array([[1.0, 0.0], [0.5, 0.5]]), 15)
    assert "puts 0.00 of its weight on the 0 older than the 2 shown" in short


def test_unchanged_before_sentence_tells_bits_from_rounding_from_a_leak():
    exact = narrative.unchanged_before_sentence(np.zeros(100))
    assert exact == (
        "100 positions before the changed one: largest change 0.0e+00, bit-for-bit unchanged"
    )
    rounded = narrative.unchanged_before_sentence(np.array([2.384186e-07]))
    assert rounded.startswith("1 position before the changed one: largest change 2.4e-07, ")
    assert rounded.endswith("unchanged up to float rounding (at most 1e-05)")
    assert "leaked" in narrative.unchanged_before_sentence(np.array([0.0, 0.3]))
    assert narrative.unchanged_before_sentence(np.array([])) == "no position before the changed one"


def test_picked_on_test_sentence_names_the_kept_defaults_the_preset_does_not_set():
    default = narrative.picked_on_test_sentence(SASRecConfig())
    assert "(dropout 0.2, max_len 200, hidden_dim 64, n_layers 2, n_heads 2, lr 0.001, " in default
    assert default.startswith("How the defaults were chosen")
    # the shopping preset sets max_len, hidden_dim (64, chosen on its own validation), n_heads,
    # dropout, lr and batch_tokens (round 6): of the first rounds' defaults it keeps n_layers
    shopping = narrative.picked_on_test_sentence(preset_config("shopping"), "shopping")
    assert shopping.startswith("The `shopping` preset sets its own settings")
    assert "run keeps (n_layers 2) were picked" in shopping
    nothing = SASRecConfig(**CHANGED)
    assert "keeps none" in narrative.picked_on_test_sentence(nothing)
