"""Sentences of the reports that state a number or a direction, generated from the numbers.

``recency_sentence`` reads ``model.weight_by_distance``'s table (notebook 04's attention by
distance); ``session_masking_sentence`` reads ``evaluation.session_metrics``'s long table
(the short-session figures of notebook 04, ML-100k and Beauty). Each says which way the
numbers point, with thresholds named here, so the words change when the numbers do.
``DATASETS`` says what each dataset is, and the other helpers word what a run's data,
attention, causality check and settings show (notebooks 01–03), so that a page is true of
whichever data and preset it was rendered with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import SASRecConfig
from ..presets import CONFIGS

# what each of config.DATASETS is, as notebook 01 introduces it
DATASETS = {
    "ml-100k": "**MovieLens-100k**, 100,000 ratings of 1,682 films by 943 people. Each rating "
    'is treated as an interaction ("this person watched this film"), ordered by time; the '
    "rating value itself is not used.",
    "ml-1m": "**MovieLens-1M**, about a million ratings of films. Each rating is treated as "
    "an interaction, ordered by time; the rating value itself is not used.",
    "amazon-beauty": "**Amazon Beauty**, the 5-core Beauty reviews of McAuley et al. as "
    "S3-Rec preprocessed them: one line per user of item ids in time order, each review "
    "treated as an interaction. The file holds order but no times (an event's timestamp is "
    "its position in its user's line), and no titles or categories.",
    "user-lines": "a file of one line per user (`events_paths`), item ids in time order. It "
    "holds order but no times (an event's timestamp is its position in its line), and no "
    "titles.",
    "events": "your own parquet event logs (`events_paths`: `user_id, item_id, timestamp`).",
}
# a share of a user's consecutive events with one timestamp from which ties are "many"
MANY_TIES = 0.1
# the largest change that still counts as float rounding in float32 hidden states
FLOAT_ROUNDING = 1e-5
# the defaults of the first rounds that were chosen on ML-100k's test items
# (benchmarks/README.md, "Choosing the default on validation": "Earlier rounds")
PICKED_ON_TEST = ("dropout", "max_len", "hidden_dim", "n_layers", "n_heads", "lr", "batch_tokens")

# the most recent item's weight over an equal share, above which it counts as favoured
FAVOURED = 1.2
# below this share of the weight on the five most recent items, most of it is older
MOSTLY_OLDER = 0.5


def recency_sentence(recency: pd.DataFrame) -> str:
    """What the recommending position's mean attention by distance says about recency.

    ``recency``: columns ``distance`` (0 = the most recent item), ``mean_weight``,
    ``uniform`` (equal attention for the same users) and ``users``, one row per distance.
    """
    weight, uniform = recency["mean_weight"].to_numpy(), recency["uniform"].to_numpy()
    first, five = weight[0], weight[:5].sum()
    first_ratio, five_ratio = first / uniform[0], five / uniform[:5].sum()
    figures = (
        f"Over {int(recency['users'].max()):,} test users, the recommending position puts "
        f"{first:.3f} of its attention on the most recent item on average "
        f"({first_ratio:.1f}x an equal share) and {five:.3f} on the five most recent "
        f"together ({five_ratio:.1f}x an equal share); the older items take the rest, "
        f"about {1 - five:.3f}. "
    )
    if first_ratio < 1 / FAVOURED:
        return figures + "The most recent item gets less than its equal share: no recency focus."
    if first_ratio < FAVOURED:
        return figures + "The most recent item gets about its equal share: no recency focus."
    if five < MOSTLY_OLDER:
        return figures + (
            "Recent items get more than their equal share, but most of the weight is spread "
            "over older items: a tilt toward recency over a wide window, not a focus on the "
            "last few items."
        )
    return figures + "Recent items get more than their equal share and most of the weight."


def session_masking_sentence(table: pd.DataFrame, system: str = "most-popular") -> str:
    """How much of ``system``'s whole-history figure comes from masking, not from reading.

    ``table``: ``items_seen`` ("1", "2", …, "all"), ``system``, ``ndcg@10``. Meant for a
    system whose list ignores the clicks (most-popular): what moves it is only which items
    are removed from its ranking.
    """
    rows = table[table["system"] == system].set_index("items_seen")["ndcg@10"]
    recent = [seen for seen in rows.index if seen != "all"]
    first, last = rows[recent[0]], rows[recent[-1]]
    whole = rows["all"]
    masking = (
        "the last-n columns remove only the n items seen from the ranking, the "
        "whole-history column removes every item of the history"
    )
    if round(whole, 4) == round(last, 4):
        moved = (
            f"and {whole:.4f} with the whole history too: {masking}, which moves it little here."
        )
    else:
        change = "rises" if whole > last else "falls"
        moved = (
            f"and {change} to {whole:.4f} with the whole history: {masking}, and that "
            "masking alone moves it."
        )
    return (
        f"{system} ignores the clicks' content and order (its list is the same for everyone), "
        f"yet its NDCG@10 is {first:.4f} after {recent[0]} click(s), {last:.4f} after "
        f"{recent[-1]}, {moved} Compare systems within the last-n columns; the "
        "whole-history column is not the same test."
    )


def calibration_sentence(calibration: dict[str, float], k: int = 10) -> str:
    """What comparing the top-``k`` probability with the hit rate at ``k`` shows.

    ``calibration`` is ``evaluation.calibration.top_k_calibration``'s result. A calibrated
    softmax would put on its top ``k`` about the share of queries it hits there.
    """
    mass, hit = calibration["top_k_probability"], calibration["hit_rate"]
    ratio = mass / hit if hit > 0 else float("inf")
    figures = (
        f"Over {int(calibration['queries']):,} test users, the top {k} hold {mass:.1%} of the "
        f"model's probability on average, and the real next item is among them for {hit:.1%}. "
    )
    if 0.8 <= ratio <= 1.25:
        return figures + (
            "The two agree within a quarter: on held-out users the probabilities are roughly "
            "calibrated as a whole, though not necessarily item by item."
        )
    side = "under" if ratio < 1 else "over"
    return figures + (
        f"A calibrated model would make them about equal; this one is {side}-confident "
        f"({ratio:.2f}x): read its probabilities as a ranking and a relative strength, not "
        "as the chance that the person picks the item."
    )


def timestamps_are_positions(events: pd.DataFrame) -> bool:
    """Whether every user's timestamps are 0, 1, 2, … in file order: positions, not times
    (``data.user_lines``), so a time axis would mean nothing."""
    return bool((events.groupby("user_id").cumcount() == events["timestamp"]).all())


def time_order_clause(same_share: float, positions: bool) -> str:
    """How much of the histories' order is time's: ``same_share`` of a user's consecutive
    events share a timestamp (their order is the file's); ``positions``: there are no times."""
    if positions:
        return "no ties in time: its timestamps are only positions in each history"
    if same_share >= MANY_TIES:
        return (
            f"many ties in time ({same_share:.1%} of a user's consecutive events share a "
            "timestamp: the order inside a tie is arbitrary)"
        )
    return f"few ties in time ({same_share:.1%} of a user's consecutive events share a timestamp)"


def older_items_sentence(attention: np.ndarray, window: int) -> str:
    """How the recommending position (the last row) of one history's ``(L, L)`` attention
    (``model.last_layer_attention``) splits its weight between the ``window`` most recent
    items and the older ones, against an even spread over the ``L`` items it sees."""
    seen = len(attention)
    shown = min(window, seen)
    older = float(attention[-1, : seen - shown].sum())
    even = (seen - shown) / seen
    figures = (
        f"The bottom row (the position that recommends) sees {seen} items: it puts "
        f"{older:.2f} of its weight on the {seen - shown} older than the {shown} shown and "
        f"{1 - older:.2f} on those {shown}; an even spread would give the older ones {even:.2f}"
    )
    return figures + (", so the older items take most of it." if older > 0.5 else ".")


def unchanged_before_sentence(changes: np.ndarray, tolerance: float = FLOAT_ROUNDING) -> str:
    """What the largest of ``changes`` (each position's max |change| in hidden state, for the
    positions before a changed item) says: bit-for-bit, float rounding (at most
    ``tolerance``), or a leak of the later item into earlier positions."""
    if len(changes) == 0:
        return "no position before the changed one"
    largest = float(np.max(changes))
    plural = "s" if len(changes) > 1 else ""
    figures = (
        f"{len(changes)} position{plural} before the changed one: largest change {largest:.1e}"
    )
    if largest == 0:
        return figures + ", bit-for-bit unchanged"
    if largest <= tolerance:
        return figures + f", unchanged up to float rounding (at most {tolerance:.0e})"
    return figures + f", more than float rounding ({tolerance:.0e}): the later item leaked in"


def picked_on_test_sentence(cfg: SASRecConfig, preset: str | None = None) -> str:
    """How the run's settings were chosen, naming the defaults of the first rounds, chosen on
    ML-100k's test items (``PICKED_ON_TEST``), that the run keeps and its ``preset`` (a
    name in ``presets.CONFIGS``) does not set."""
    default, own = SASRecConfig(), CONFIGS[preset] if preset else {}
    kept = [
        f"{name} {getattr(cfg, name)}"
        for name in PICKED_ON_TEST
        if name not in own and getattr(cfg, name) == getattr(default, name)
    ]
    how = (
        f"The `{preset}` preset sets its own settings (`sasrec_utils.presets` and "
        "`benchmarks/README.md` say how they were chosen)"
        if preset
        else "How the defaults were chosen is in `benchmarks/README.md`: on the validation "
        "items since the second round"
    )
    if not kept:
        return how + "; this run keeps none of the first rounds' defaults picked on test."
    return how + (
        f"; the first rounds' defaults that this run keeps ({', '.join(kept)}) were picked on "
        "ML-100k's test items, and ML-100k's validation sweep since found nothing better."
    )
