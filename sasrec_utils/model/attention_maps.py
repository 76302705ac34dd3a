"""What a SASRec model's attention looks at: one history's weights, and weight by distance.

Shapes: L positions of a history (at most ``max_len``, oldest first), W the window shown.
Weights are the last layer's, averaged over heads; every row of a causal attention
matrix sums to 1 over the keys it may see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.splits import EvalSet
from .sasrec import SASRec


@torch.no_grad()
def last_layer_attention(
    model: SASRec, history: np.ndarray, device: str | torch.device = "cpu"
) -> np.ndarray:
    """(L, L) last-layer attention, mean over heads, of one history's last ``max_len`` items."""
    model.eval()
    seq = torch.as_tensor(np.asarray(history)[-model.max_len :], dtype=torch.int64)
    _, attention = model(seq[None].to(device), return_attention=True)
    return attention[-1][0].mean(dim=0).double().cpu().numpy()


def window_weights(attention: np.ndarray, window: int) -> np.ndarray:
    """(W, W + 1): the last ``window`` rows of an (L, L) attention, keys folded.

    Column 0 holds each row's total weight on the keys older than the window; columns 1..W
    the window's keys. So every row still sums to 1 (nothing is cropped away).
    """
    size = min(window, len(attention))
    rows = attention[-size:]  # (W, L)
    older = rows[:, :-size].sum(axis=1, keepdims=True)  # (W, 1)
    return np.concatenate([older, rows[:, -size:]], axis=1)


@torch.no_grad()
def weight_by_distance(
    model: SASRec,
    queries: EvalSet,
    device: str | torch.device = "cpu",
    max_distance: int = 50,
    batch_size: int = 128,
) -> pd.DataFrame:
    """Mean last-position attention on the item ``d`` steps before the most recent one.

    Over every query (e.g. all test users): the row that produces the recommendation, its
    weight on the item at distance ``d`` (0 = the most recent item), averaged over the
    users whose history reaches that far; ``uniform`` is what equal attention (1 / length)
    would give the same users. Columns ``distance, mean_weight, uniform, users``.
    """
    model.eval()
    total = np.zeros(max_distance + 1)
    uniform = np.zeros(max_distance + 1)
    users = np.zeros(max_distance + 1)
    for lo in range(0, len(queries), batch_size):
        histories = queries.histories.select(np.arange(lo, min(lo + batch_size, len(queries))))
        seq = torch.from_numpy(histories.to_padded(model.max_len)).to(device)  # (B, L)
        _, attention = model(seq, return_attention=True)
        last = attention[-1][:, :, -1, :].mean(dim=1).double().cpu().numpy()  # (B, L)
        lengths = np.minimum(histories.lengths, model.max_len)  # (B,)
        flipped = last[:, ::-1][:, : max_distance + 1]  # (B, D): distance 0 first
        reaches = np.arange(flipped.shape[1])[None, :] < lengths[:, None]  # (B, D)
        width = flipped.shape[1]
        total[:width] += np.where(reaches, flipped, 0.0).sum(axis=0)
        uniform[:width] += np.where(reaches, 1.0 / np.maximum(lengths, 1)[:, None], 0.0).sum(0)
        users[:width] += reaches.sum(axis=0)
    seen = users > 0
    return pd.DataFrame(
        {
            "distance": np.arange(max_distance + 1)[seen],
            "mean_weight": total[seen] / users[seen],
            "uniform": uniform[seen] / users[seen],
            "users": users[seen].astype(int),
        }
    )
