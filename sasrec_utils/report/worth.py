"""What each capability of the production demo (notebook 05) is worth on the data it ran on.

Every verdict is computed from that run's figures, so the same notebook says the right
thing on MovieLens and on shopping data: each capability's measured figure beside
most-popular's (the reference every answer is compared with) and whether it pays.

- ``session_quality_verdict``: does the session-quality label separate real sessions from
  sessions of unrelated items, or does a layout acting on it mostly act on chance?
- ``worth_table``: one row per capability: what was measured, SASRec's figure,
  most-popular's, and the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

# the session-quality label pays when real sessions reach MEDIUM at least this many times
# as often as the worst kind of unrelated session, and by at least this margin
SEPARATION_RATIO = 2.0
SEPARATION_MARGIN = 0.10


@dataclass(frozen=True)
class Capability:
    """One row of ``worth_table``: ``sasrec`` and ``popular`` are the measured figures
    (NaN: not measured; ``popular`` NaN also where most-popular has no such answer), and
    higher is better unless ``lower_is_better``."""

    name: str
    measure: str
    sasrec: float
    popular: float = math.nan
    lower_is_better: bool = False
    verdict: str | None = None  # given: used as it is (e.g. session quality's)


def session_quality_verdict(label_shares: pd.DataFrame) -> tuple[bool, str]:
    """Whether the session-quality label pays, and a sentence saying so from the figures.

    ``label_shares``: rows ``real last 10`` and the unrelated kinds (``random 10``,
    ``popular 10``), columns ``LOW``, ``MEDIUM``, ``HIGH``, each row's shares.
    """
    flagged = 1 - label_shares["LOW"]
    real = float(flagged.loc["real last 10"])
    unrelated = flagged.drop("real last 10")
    worst, worst_rate = str(unrelated.idxmax()), float(unrelated.max())
    pays = real >= SEPARATION_RATIO * worst_rate and real - worst_rate >= SEPARATION_MARGIN
    figures = (
        f"{real:.0%} of real users' last 10 items reach MEDIUM or HIGH, against "
        f"{worst_rate:.0%} of sessions of unrelated items ({worst})"
    )
    if pays:
        return True, f"On this data the label separates real sessions from chance: {figures}."
    return False, (
        f"On this data the label does not pay: {figures}, so a page layout acting on it "
        "would act on chance about as often as on a real theme; use the model's list for "
        "every session instead."
    )


def _verdict(row: Capability) -> str:
    if row.verdict is not None:
        return row.verdict
    if math.isnan(row.sasrec):
        return "not measured on this data"
    if math.isnan(row.popular):
        return "measured; no most-popular counterpart"
    ahead = row.sasrec < row.popular if row.lower_is_better else row.sasrec > row.popular
    return "SASRec ahead" if ahead else "most-popular as good or better: SASRec does not pay"


def worth_table(rows: list[Capability]) -> pd.DataFrame:
    """The capabilities with their measured figures and a verdict computed from them."""
    return pd.DataFrame(
        [
            {
                "capability": row.name,
                "measured": row.measure,
                "SASRec": row.sasrec,
                "most-popular": row.popular,
                "verdict": _verdict(row),
            }
            for row in rows
        ]
    ).set_index("capability")


def first_click_ndcg(sessions: list[Mapping[str, object]]) -> tuple[float, float]:
    """NDCG@10 of SASRec and most-popular after one item seen, from notebook 04's
    ``metrics.json`` ``sessions`` rows (``items_seen``, ``system``, ``ndcg@10``)."""
    found = {
        row["system"]: float(row["ndcg@10"]) for row in sessions if str(row["items_seen"]) == "1"
    }
    return found.get("SASRec", math.nan), found.get("most-popular", math.nan)
