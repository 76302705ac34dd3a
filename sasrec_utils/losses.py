"""Training losses over next-item targets.

Shapes: N rows (non-padding positions of a batch), D hidden size, ``items`` is the
(V, D) item table with row 0 = padding, so real items are ``items[1:]``. Every loss
returns the mean over the N rows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def _ce_rows(
    hidden: torch.Tensor, targets: torch.Tensor, items: torch.Tensor, label_smoothing: float
) -> torch.Tensor:
    logits = hidden @ items[1:].T  # (n, V - 1): padding is never a candidate
    return F.cross_entropy(
        logits.float(), targets - 1, reduction="sum", label_smoothing=label_smoothing
    )


def full_cross_entropy(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    items: torch.Tensor,
    label_smoothing: float = 0.0,
    chunk_rows: int = 0,
) -> torch.Tensor:
    """Softmax cross-entropy over *all* items. hidden (N, D), targets (N,) in 1..V-1.

    ``chunk_rows > 0`` computes the (chunk_rows, V) logits one chunk at a time and
    recomputes them in the backward pass (activation checkpointing), so peak memory is
    O(chunk_rows * V) instead of O(N * V); the value and gradients are the same.
    """
    if chunk_rows <= 0 or hidden.shape[0] <= chunk_rows:
        return _ce_rows(hidden, targets, items, label_smoothing) / hidden.shape[0]
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, hidden.shape[0], chunk_rows):
        rows = slice(start, start + chunk_rows)
        total = total + checkpoint(
            _ce_rows, hidden[rows], targets[rows], items, label_smoothing, use_reentrant=False
        )
    return total / hidden.shape[0]


def sampled_softmax(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    items: torch.Tensor,
    n_negatives: int,
    log_q: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Softmax over the target and ``n_negatives`` shared sampled items, logQ-corrected.

    Negatives are drawn with replacement from ``exp(log_q)`` (V,), a proposal over item
    ids (e.g. popularity). Each negative's logit is lowered by ``log(K * q)``, the log of
    its expected count among the draws, so the negatives' sum of ``exp`` estimates the
    full softmax's normaliser and the loss estimates full cross-entropy. A negative
    equal to the row's target is masked.
    """
    negatives = torch.multinomial(
        log_q.exp(), n_negatives, replacement=True, generator=generator
    )  # (K,)
    log_expected = log_q + math.log(n_negatives)  # log of each item's expected draw count
    positive = (hidden * items[targets]).sum(-1)  # (N,)
    negative = hidden @ items[negatives].T - log_expected[negatives]  # (N, K)
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([positive[:, None], negative], dim=1).float()
    return F.cross_entropy(logits, torch.zeros_like(targets))


def _uniform_negatives(
    shape: tuple[int, ...], n_items: int, device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    return torch.randint(1, n_items + 1, shape, device=device, generator=generator)


def bce_one_negative(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    items: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The original SASRec loss: binary CE of the target vs one uniform negative per row."""
    negatives = _uniform_negatives(targets.shape, items.shape[0] - 1, hidden.device, generator)
    positive = (hidden * items[targets]).sum(-1).float()
    negative = (hidden * items[negatives]).sum(-1).float()
    return (F.softplus(-positive) + F.softplus(negative)).mean()


def gbce(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    items: torch.Tensor,
    n_negatives: int,
    t: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Generalised BCE (gSASRec, Petrov & Macdonald 2023) with shared uniform negatives.

    The positive's probability is raised to ``beta = alpha * (t * (1 - 1/alpha) + 1/alpha)``
    with ``alpha = K / (V - 2)`` the negative sampling rate; ``t = 1`` calibrates the
    scores to the full softmax, ``t = 0`` is plain BCE.
    """
    n_items = items.shape[0] - 1
    negatives = _uniform_negatives((n_negatives,), n_items, hidden.device, generator)
    alpha = n_negatives / max(n_items - 1, 1)
    beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)
    positive = (hidden * items[targets]).sum(-1).float()  # (N,)
    negative = (hidden @ items[negatives].T).float()  # (N, K)
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    positive_term = beta * F.softplus(-positive)  # -log(sigmoid(s)^beta)
    return (positive_term + F.softplus(negative).sum(-1)).mean()


def log_uniform_proposal(n_items: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(V,) log-probabilities of a uniform proposal over items 1..n_items (padding: -inf)."""
    log_q = torch.full((n_items + 1,), -math.log(n_items), device=device)
    log_q[0] = float("-inf")
    return log_q


def log_popularity_proposal(counts: torch.Tensor, power: float = 0.5) -> torch.Tensor:
    """(V,) log-probabilities proportional to ``(count + 1) ** power`` (padding: -inf)."""
    weights = (counts.double() + 1) ** power
    weights[0] = 0
    return (weights / weights.sum()).log().float()
