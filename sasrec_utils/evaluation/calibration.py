"""Is the model's softmax a calibrated next-item probability? Top-k mass against hit rate.

Shapes: B queries in a batch, L window, V = n_items + 1 (column 0 is padding). For each
query the model's scores over the items not in its history (its own target excepted, as
in the ranking) become a softmax; the probability its top ``k`` hold is what a calibrated
model would expect its hit rate at ``k`` to be. ``top_k_calibration`` returns both means.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.splits import EvalSet
from .ranking import _history_cells


@torch.no_grad()
def top_k_calibration(
    model: torch.nn.Module,
    queries: EvalSet,
    max_len: int,
    k: int = 10,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """``{"top_k_probability", "hit_rate", "queries"}``: mean softmax mass of each query's
    top ``k`` (history masked) and the share of queries whose target is among them.

    ``model`` has ``score_last`` ((B, L) ids -> (B, V) scores), as ``SASRec``.
    """
    mass, hits = [], []
    model.eval()
    for lo in range(0, len(queries), batch_size):
        part = queries.select(np.arange(lo, min(lo + batch_size, len(queries))))
        seq = torch.from_numpy(part.histories.to_padded(max_len)).to(device)  # (B, L)
        scores = model.score_last(seq).double()  # (B, V)
        targets = torch.as_tensor(part.targets, device=scores.device)
        rows, items = _history_cells(part.histories, targets, exclude_history=True)
        scores[rows, items] = float("-inf")
        scores[:, 0] = float("-inf")  # padding is never an item
        probability = scores.softmax(dim=-1)  # (B, V)
        top = probability.topk(k, dim=-1)
        mass.append(top.values.sum(dim=-1).cpu().numpy())
        hits.append((top.indices == targets[:, None]).any(dim=-1).cpu().numpy())
    return {
        "top_k_probability": float(np.concatenate(mass).mean()),
        "hit_rate": float(np.concatenate(hits).mean()),
        "queries": float(len(queries)),
    }
