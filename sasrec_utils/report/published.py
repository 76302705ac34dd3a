"""Published figures to set beside ours, each with the protocol it was measured under.

A figure means something only under its protocol: sampled ranking (the target against
100 random items) and full ranking (against every item) differ several-fold on the same
model, and datasets differ in size and preprocessing. So every row names its source,
dataset and protocol, and what the weights were trained on (``protocol``): the paper
trains on each history's training items only. Only figures checked against their source
are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .protocol import TRAIN, same_protocol

SASREC_PAPER = "Kang & McAuley, Self-Attentive Sequential Recommendation, ICDM 2018 (Table III)"
SAMPLED_100 = "sampled: target against 100 random negatives, leave-one-out"

PUBLISHED = (
    {
        "source": SASREC_PAPER,
        "model": "SASRec (BCE, one negative per position)",
        "dataset": "MovieLens-1M",
        "protocol": SAMPLED_100,
        "trained_on": TRAIN,
        "hr@10": 0.8245,
        "ndcg@10": 0.5905,
    },
    {
        "source": SASREC_PAPER,
        "model": "SASRec (BCE, one negative per position)",
        "dataset": "Amazon Beauty (the paper's preprocessing)",
        "protocol": SAMPLED_100,
        "trained_on": TRAIN,
        "hr@10": 0.4854,
        "ndcg@10": 0.3219,
    },
)


def published_table(ours: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``PUBLISHED`` as a table, one row per published figure, then ``ours`` if given.

    Every row says what its weights were ``trained_on`` (the paper's: the training items
    only); ``ours`` must say the same (``protocol.same_protocol`` refuses a mix).
    """
    rows = [*PUBLISHED, *([ours] if ours is not None else [])]
    same_protocol(rows, "the published figures beside ours")
    return pd.DataFrame(rows).rename(columns={"trained_on": "trained on"})
