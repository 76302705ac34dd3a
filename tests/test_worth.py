"""The production demo's verdicts come from the figures of the run, on any data."""

import math

import pandas as pd

from sasrec_utils.report.worth import (
    Capability,
    first_click_ndcg,
    session_quality_verdict,
    worth_table,
)


def _shares(real: float, random: float, popular: float) -> pd.DataFrame:
    flagged = {"real last 10": real, "random 10": random, "popular 10": popular}
    return pd.DataFrame(
        [{"LOW": 1 - v, "MEDIUM": v, "HIGH": 0.0} for v in flagged.values()], index=list(flagged)
    )


def test_session_quality_pays_only_when_real_sessions_stand_out_from_chance():
    pays, said = session_quality_verdict(_shares(real=0.60, random=0.05, popular=0.10))
    assert pays and "separates real sessions from chance: 60%" in said and "10%" in said
    pays, said = session_quality_verdict(_shares(real=0.30, random=0.05, popular=0.25))
    assert not pays and "does not pay" in said and "(popular 10)" in said
    assert not session_quality_verdict(_shares(real=0.12, random=0.0, popular=0.05))[0]


def test_worth_table_verdicts_follow_the_figures():
    table = worth_table(
        [
            Capability("push", "hit rate", 0.02, 0.01),
            Capability("similar", "share", math.nan, math.nan),
            Capability("cart", "choices", 3, 5),
            Capability("latency", "ms", 2.0, lower_is_better=True),
            Capability("quality", "share", 0.3, verdict="does not pay on this data"),
        ]
    )
    assert table.loc["push", "verdict"] == "SASRec ahead"
    assert table.loc["similar", "verdict"] == "not measured on this data"
    assert table.loc["cart", "verdict"].startswith("most-popular as good or better")
    assert table.loc["latency", "verdict"] == "measured; no most-popular counterpart"
    assert table.loc["quality", "verdict"] == "does not pay on this data"


def test_first_click_ndcg_reads_notebook_04s_sessions_rows():
    rows = [
        {"items_seen": "1", "system": "SASRec", "ndcg@10": 0.05},
        {"items_seen": "1", "system": "most-popular", "ndcg@10": 0.01},
        {"items_seen": "2", "system": "SASRec", "ndcg@10": 0.07},
    ]
    assert first_click_ndcg(rows) == (0.05, 0.01)
    assert all(math.isnan(v) for v in first_click_ndcg([]))
