"""Training losses over next-item targets.

Shapes: N rows (non-padding positions of a batch), D hidden size, ``items`` is the
(V, D) item table with row 0 = padding, so real items are ``items[1:]``. Every loss
returns the mean over the N rows; ``batch_loss`` applies the configured one to a (B, L)
batch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .config import SASRecConfig

if TYPE_CHECKING:
    from .model import SASRec

# Logits held at once by the fused cross-entropy when ``chunk_rows=0``: about 4 MB of
# float32 on CPU, so each chunk stays in cache; larger on a GPU, where launches cost more.
AUTO_CHUNK_LOGITS = {"cpu": 2**20, "other": 2**26}


class _FusedCrossEntropy(torch.autograd.Function):
    """Mean softmax cross-entropy over all items, its gradient computed in the forward pass.

    Each chunk of rows builds its (c, V - 1) logits, turns them into probabilities in place
    and immediately multiplies them back into the gradients of ``hidden`` and ``items``, so
    the full (N, V) matrix never exists and no softmax is recomputed in the backward pass.
    """

    @staticmethod
    def forward(ctx, hidden, items, targets, label_smoothing, chunk_rows):
        n_rows = hidden.shape[0]
        candidates = items[1:]  # (V - 1, D): padding is never a candidate
        classes = candidates.shape[0]
        columns = targets - 1  # (N,) target column in the logits
        keep_target = 1.0 - label_smoothing
        needs_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        grad_hidden = torch.empty_like(hidden, dtype=torch.float32) if needs_grad else None
        grad_items = torch.zeros_like(items, dtype=torch.float32) if needs_grad else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, n_rows, chunk_rows):
            rows = slice(start, start + chunk_rows)
            chunk = hidden[rows]  # (c, D)
            logits = (chunk @ candidates.T).float()  # (c, V - 1)
            loss = -keep_target * logits.gather(1, columns[rows, None])[:, 0]  # (c,)
            if label_smoothing:
                loss -= label_smoothing * logits.mean(dim=1)
            peak = logits.amax(dim=1, keepdim=True)  # (c, 1)
            exps = logits.sub_(peak).exp_()  # in place: each logit exponentiated once
            sums = exps.sum(dim=1)  # (c,)
            total += (loss + peak[:, 0] + sums.log()).sum()  # log-sum-exp - target part
            if needs_grad:  # softmax = exps / sums: divide the (c, D) products, not exps
                exps = exps.to(chunk.dtype)
                grad_hidden[rows] = (exps @ candidates) / sums[:, None]
                grad_items[1:].addmm_(exps.T, chunk / sums[:, None].to(chunk.dtype))
        if needs_grad:  # the target part of d loss / d logits: -(1 - eps) at the target ...
            grad_hidden -= keep_target * candidates[columns].float()
            grad_items[1:].index_add_(0, columns, hidden.float(), alpha=-keep_target)
            if label_smoothing:  # ... and -eps / (V - 1) everywhere
                grad_hidden -= (label_smoothing / classes) * candidates.float().sum(dim=0)
                grad_items[1:] -= (label_smoothing / classes) * hidden.float().sum(dim=0)
            ctx.save_for_backward(grad_hidden / n_rows, grad_items / n_rows)
            ctx.dtypes = (hidden.dtype, items.dtype)
        return total / n_rows

    @staticmethod
    def backward(ctx, grad_loss):
        grad_hidden, grad_items = ctx.saved_tensors
        hidden_dtype, items_dtype = ctx.dtypes
        return (
            (grad_hidden * grad_loss).to(hidden_dtype),
            (grad_items * grad_loss).to(items_dtype),
            None,
            None,
            None,
        )


def full_cross_entropy(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    items: torch.Tensor,
    label_smoothing: float = 0.0,
    chunk_rows: int = 0,
) -> torch.Tensor:
    """Softmax cross-entropy over *all* items. hidden (N, D), targets (N,) in 1..V-1.

    Same value and gradients as ``F.cross_entropy(hidden @ items[1:].T, targets - 1,
    label_smoothing=...)``, but computed ``chunk_rows`` rows at a time (``0``: a chunk of
    about ``AUTO_CHUNK_LOGITS`` logits) with the gradient formed in the forward pass, so
    peak memory is O(chunk_rows * V) instead of O(N * V) and each logit is exponentiated
    once. The result is only for ``.backward()`` (no double backward).
    """
    if chunk_rows <= 0:
        budget = AUTO_CHUNK_LOGITS["cpu" if hidden.device.type == "cpu" else "other"]
        chunk_rows = max(1, budget // items.shape[0])
    return _FusedCrossEntropy.apply(hidden, items, targets, label_smoothing, chunk_rows)


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
    target_rows, negative_rows = _gather(items, targets, negatives)  # (N, D), (K, D)
    positive = (hidden * target_rows).sum(-1)  # (N,)
    negative = hidden @ negative_rows.T - log_expected[negatives]  # (N, K)
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([positive[:, None], negative], dim=1).float()
    return F.cross_entropy(logits, torch.zeros_like(targets))


class _RowsWithSparseGradient(torch.autograd.Function):
    """``table[ids]`` whose gradient is a sparse tensor of the gathered rows only.

    Plain indexing gives the (V, D) item table a dense gradient of its own: a zero-filled
    (V, D) matrix, then added to the dense one of the model's embedding lookup (160 MB
    written twice per step for 316k x 128 items). The sparse one is added into the dense
    one row by row: a faster step with a lower peak memory (``benchmarks/README.md``).
    """

    @staticmethod
    def forward(ctx, table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.table_shape = table.shape
        return table[ids]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (ids,) = ctx.saved_tensors
        rows = torch.sparse_coo_tensor(ids[None], grad, ctx.table_shape, check_invariants=False)
        return rows, None


def _gather(items: torch.Tensor, *ids: torch.Tensor) -> list[torch.Tensor]:
    """``items[i]`` for each 1-d id tensor ``i``, gathered at once.

    With gradients on CPU/CUDA the table's gradient from here is sparse (see
    ``_RowsWithSparseGradient``); it turns dense when added to the embedding lookup's.
    """
    every = torch.cat(ids)
    if items.requires_grad and items.device.type in ("cpu", "cuda"):
        rows = _RowsWithSparseGradient.apply(items, every)
    else:
        rows = items[every]
    return list(rows.split([len(i) for i in ids]))


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
    target_rows, negative_rows = _gather(items, targets, negatives)  # (N, D) each
    positive = (hidden * target_rows).sum(-1).float()
    negative = (hidden * negative_rows).sum(-1).float()
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
    target_rows, negative_rows = _gather(items, targets, negatives)  # (N, D), (K, D)
    positive = (hidden * target_rows).sum(-1).float()  # (N,)
    negative = (hidden @ negative_rows.T).float()  # (N, K)
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    positive_term = beta * F.softplus(-positive)  # -log(sigmoid(s)^beta)
    return (positive_term + F.softplus(negative).sum(-1)).mean()


def log_popularity_proposal(counts: torch.Tensor, power: float = 0.5) -> torch.Tensor:
    """(V,) log-probabilities proportional to ``(count + 1) ** power`` (padding: -inf)."""
    weights = (counts.double() + 1) ** power
    weights[0] = 0
    return (weights / weights.sum()).log().float()


def batch_loss(
    cfg: SASRecConfig,
    model: SASRec,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Loss of one batch: inputs/targets (B, L); only non-padding positions count."""
    hidden = model(inputs)  # (B, L, D)
    real = targets > 0
    hidden, targets = hidden[real], targets[real]  # (N, D), (N,)
    items = model.item_matrix()
    if cfg.loss == "ce":
        return full_cross_entropy(hidden, targets, items, cfg.label_smoothing, cfg.loss_chunk_rows)
    if cfg.loss == "bce":
        return bce_one_negative(hidden, targets, items)
    if cfg.loss == "gbce":
        return gbce(hidden, targets, items, cfg.n_negatives, cfg.gbce_t)
    assert log_q is not None, "sampled_softmax needs a proposal"
    return sampled_softmax(hidden, targets, items, cfg.n_negatives, log_q)
