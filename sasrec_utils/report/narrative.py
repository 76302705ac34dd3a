"""Sentences of the reports that state a number or a direction, generated from the numbers.

``recency_sentence`` reads ``model.weight_by_distance``'s table (notebook 04's attention by
distance); ``session_masking_sentence`` reads ``evaluation.session_metrics``'s long table
(the short-session figures of notebook 04, ML-100k and Beauty). Each says which way the
numbers point, with thresholds named here, so the words change when the numbers do.
"""

from __future__ import annotations

import pandas as pd

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
