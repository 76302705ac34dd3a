"""Shared fixtures: small generated data, never the network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sasrec_utils.config import SASRecConfig


def cycle_events(
    n_users: int = 60, n_items: int = 12, length: int = 20, seed: int = 0
) -> pd.DataFrame:
    """Each user walks the cycle 1 -> 2 -> ... -> n_items -> 1 from a random start."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        start = int(rng.integers(n_items))
        for step in range(length):
            rows.append((user, (start + step) % n_items + 1, 1000 + step))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


@pytest.fixture
def tiny_cfg() -> SASRecConfig:
    return SASRecConfig(
        max_len=8,
        hidden_dim=16,
        n_layers=1,
        n_heads=2,
        dropout=0.0,
        epochs=2,
        batch_size=16,
        device="cpu",
        eval_batch_size=32,
    )
