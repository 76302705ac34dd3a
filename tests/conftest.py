"""Shared fixtures: small generated data, never the network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.sequences import Sequences, offsets_from_lengths
from sasrec_utils.data.splits import EvalSet
from sasrec_utils.model.sasrec import SASRec
from sasrec_utils.serving.recommend import Recommender


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


def sequences_from_lists(rows: list[list[int]]) -> Sequences:
    """``Sequences`` of Python lists of internal ids (hand-made test cases)."""
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    items = np.array([item for row in rows for item in row], dtype=np.int32)
    return Sequences(items, offsets_from_lengths(lengths))


class FixedScorer:
    """Scores given as a (n_queries, V) matrix."""

    def __init__(self, matrix):
        self.matrix = torch.as_tensor(matrix, dtype=torch.float64)

    def prepare(self, histories, rows):
        return torch.as_tensor(rows)

    def chunk(self, state, start, stop):
        return self.matrix[state, start:stop]

    def gather(self, state, items):
        return self.matrix[state[:, None], items]


def queries(histories, targets):
    return EvalSet(sequences_from_lists(histories), np.array(targets), np.arange(len(targets)))


def eval_queries(histories: list[list[int]], targets: list[int]) -> EvalSet:
    """Evaluation queries from hand-written histories and targets (query ``i`` is row ``i``)."""
    return EvalSet(sequences_from_lists(histories), np.array(targets), np.arange(len(targets)))


# ---------------------------------------------------------------- serving

N_ITEMS = 12
ITEM_IDS = np.arange(101, 101 + N_ITEMS)  # original ids differ from internal ids 1..12
POPULARITY = np.array([0, 5, 9, 1, 9, 3, 0, 7, 2, 8, 4, 6, 1])  # by internal id; 2 ties 4


@pytest.fixture
def serving_cfg() -> SASRecConfig:
    return SASRecConfig(max_len=5, hidden_dim=8, n_layers=2, n_heads=2, dropout=0.0, device="cpu")


@pytest.fixture
def serving_items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ITEM_IDS,
            "title": [f"Film {i}" for i in ITEM_IDS],
            "genres": ["Drama" if i % 2 else "Comedy" for i in ITEM_IDS],
        }
    )


@pytest.fixture
def rec(serving_cfg, serving_items) -> Recommender:
    torch.manual_seed(0)
    model = SASRec(N_ITEMS, serving_cfg)
    with torch.no_grad():  # spread the random init so scores are far from ties
        for parameter in model.parameters():
            parameter.normal_(0, 0.5)
        model.item_emb.weight[0] = 0
    return Recommender.from_training(model, serving_cfg, ITEM_IDS, serving_items, POPULARITY)


def set_item_table(rec: Recommender, rows: dict[int, list[float]]) -> None:
    """Give original items hand-made embeddings (the first dims; other dims and items 0)."""
    with torch.no_grad():
        table = rec.model.item_emb.weight
        table.zero_()
        for item, vector in rows.items():
            table[item - 100, : len(vector)] = torch.tensor(vector)


def final_test_metrics(cfg: SASRecConfig, prepared, threads: int = 2) -> tuple[dict, object]:
    """Test metrics of ``train_final`` on ``threads`` torch threads (the real-data regression
    tests record their figures this way), and the ``FinalModel``."""
    from sasrec_utils.evaluation import evaluate_model
    from sasrec_utils.training import train_final

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        final = train_final(cfg, prepared, progress=False)
    finally:
        torch.set_num_threads(before)
    split = prepared.split
    return evaluate_model(final.model, split.test, split.train, cfg), final
