"""Full softmax cross-entropy over all items, fused and chunked (the ``ce`` loss's kernel).

Shapes: N rows (non-padding positions of a batch), D hidden size, J targets per row,
``items`` the (V, D) item table with row 0 = padding, so real items are ``items[1:]``.
``full_cross_entropy`` never forms the (N, V) logits at once; ``future_targets`` and
``seen_pairs`` give it the several targets and the masked items of a (B, L) batch.
"""

from __future__ import annotations

import torch

# Logits held at once by the fused cross-entropy when ``chunk_rows=0``: about 4 MB of
# float32 on CPU, so each chunk stays in cache; larger on a GPU, where launches cost more.
AUTO_CHUNK_LOGITS = {"cpu": 2**20, "other": 2**26}
# Logits more than 80 below a row's maximum are raised to it before ``exp``: exp of a value
# below about -87 underflows on a path 5-20x slower on CPUs (masked -inf logits included),
# and e^-80 ~ 1.8e-35 changes no float32 sum that holds the maximum's e^0 = 1.
EXP_FLOOR = -80.0


class _FusedCrossEntropy(torch.autograd.Function):
    """Mean softmax cross-entropy over all items, its gradient computed in the forward pass.

    Each chunk of rows builds its (c, V - 1) logits, turns them into probabilities in place
    and immediately multiplies them back into the gradients of ``hidden`` and ``items``, so
    the full (N, V) matrix never exists and no softmax is recomputed in the backward pass.
    A row may have several weighted targets (N, J): its loss is
    ``sum_j w_j * (logsumexp - logit_j)`` from the one softmax, and the mean is over the
    weights. ``seen`` (rows (P,) ascending, items (P,)) removes items from rows' softmax.
    ``product_dtype`` (``None``: the inputs' own) is the dtype of the three matrix products.
    """

    @staticmethod
    def forward(
        ctx, hidden, items, targets, weights, label_smoothing, chunk_rows, seen, product_dtype
    ):
        n_rows = hidden.shape[0]
        candidates = items[1:]  # (V - 1, D): padding is never a candidate
        product_candidates = candidates if product_dtype is None else candidates.to(product_dtype)
        classes = candidates.shape[0]
        columns = (targets - 1).clamp_min(0)  # (N, J) target columns (weight 0: none)
        row_weight = weights.sum(dim=1)  # (N,)
        keep_target = 1.0 - label_smoothing
        needs_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        grad_hidden = torch.empty_like(hidden, dtype=torch.float32) if needs_grad else None
        grad_items = torch.zeros_like(items, dtype=torch.float32) if needs_grad else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, n_rows, chunk_rows):
            rows = slice(start, start + chunk_rows)
            chunk, weight = hidden[rows], row_weight[rows]  # (c, D), (c,)
            product_chunk = chunk if product_dtype is None else chunk.to(product_dtype)
            logits = (product_chunk @ product_candidates.T).float()  # (c, V - 1)
            picked = logits.gather(1, columns[rows]) * weights[rows]  # (c, J)
            loss = -keep_target * picked.sum(dim=1)  # (c,)
            if label_smoothing:
                loss -= label_smoothing * weight * logits.mean(dim=1)
            if seen is not None:  # drop the rows' seen items from their softmax
                lo, hi = torch.searchsorted(seen[0], torch.tensor([start, start + chunk_rows]))
                cells = (seen[0][lo:hi] - start) * classes + seen[1][lo:hi] - 1
                logits.view(-1).index_fill_(0, cells, float("-inf"))
            peak = logits.amax(dim=1, keepdim=True)  # (c, 1)
            # in place: each logit exponentiated once, none on exp's slow underflow path
            exps = logits.sub_(peak).clamp_(min=EXP_FLOOR).exp_()
            sums = exps.sum(dim=1)  # (c,)
            total += (loss + weight * (peak[:, 0] + sums.log())).sum()  # lse - target part
            if needs_grad:  # softmax = exps / sums: divide the (c, D) products, not exps
                exps = exps.to(product_chunk.dtype)
                scale = (weight / sums)[:, None]  # (c, 1)
                grad_hidden[rows] = (exps @ product_candidates) * scale
                scaled_chunk = product_chunk * scale.to(product_chunk.dtype)  # (c, D)
                if exps.dtype == grad_items.dtype:
                    grad_items[1:].addmm_(exps.T, scaled_chunk)
                else:  # a low-precision product, summed into the float32 gradient
                    grad_items[1:] += exps.T @ scaled_chunk
        if needs_grad:  # the target part of d loss / d logits: -(1 - eps) w_j at target j ...
            picked_weights = keep_target * weights  # (N, J)
            grad_hidden -= (picked_weights[:, :, None] * candidates[columns].float()).sum(dim=1)
            sources = hidden.float()[:, None, :] * picked_weights[:, :, None]  # (N, J, D)
            grad_items[1:].index_add_(0, columns.flatten(), -sources.flatten(0, 1))
            if label_smoothing:  # ... and -eps / (V - 1) everywhere
                grad_hidden -= (
                    (label_smoothing / classes)
                    * row_weight[:, None]
                    * (candidates.float().sum(dim=0))
                )
                grad_items[1:] -= (label_smoothing / classes) * (
                    row_weight[:, None] * hidden.float()
                ).sum(dim=0)
            norm = row_weight.sum()
            ctx.save_for_backward(grad_hidden / norm, grad_items / norm)
            ctx.dtypes = (hidden.dtype, items.dtype)
        return total / row_weight.sum()

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
    seen: tuple[torch.Tensor, torch.Tensor] | None = None,
    weights: torch.Tensor | None = None,
    product_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Softmax cross-entropy over *all* items. hidden (N, D), targets (N,) in 1..V-1.

    Same value and gradients as ``F.cross_entropy(hidden @ items[1:].T, targets - 1,
    label_smoothing=...)``, but computed ``chunk_rows`` rows at a time (``0``: a chunk of
    about ``AUTO_CHUNK_LOGITS`` logits) with the gradient formed in the forward pass, so
    peak memory is O(chunk_rows * V) instead of O(N * V) and each logit is exponentiated
    once. ``targets`` (N, J) with ``weights`` (N, J) gives each row several weighted
    targets (0 = none; weight 0), all scored by the row's one softmax. ``product_dtype``
    (``torch.bfloat16``, say) rounds the inputs and results of the logits' product and of
    the two gradient products to that dtype (sums inside each product and the softmax in
    float32, the gradients returned in the inputs' dtypes): mixed precision for the part of a step
    that grows with the catalogue. The result is only for ``.backward()`` (no double
    backward).
    """
    if chunk_rows <= 0:
        budget = AUTO_CHUNK_LOGITS["cpu" if hidden.device.type == "cpu" else "other"]
        chunk_rows = max(1, budget // items.shape[0])
    if targets.ndim == 1:
        targets = targets[:, None]
    if weights is None:
        weights = torch.ones(targets.shape, dtype=torch.float32, device=targets.device)
    return _FusedCrossEntropy.apply(
        hidden, items, targets, weights.float(), label_smoothing, chunk_rows, seen, product_dtype
    )


def future_targets(
    targets: torch.Tensor, horizon: int, decay: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The next ``horizon`` items of each position, (B, L, H), with weights ``decay ** j``.

    ``targets`` (B, L) holds each position's next item; the item ``j`` further on is the
    target of position ``t + j`` when that lies in the window (else 0, weight 0). The
    window ends at the last training item, so nothing beyond it is ever used.
    """
    shifted = [targets]
    for step in range(1, horizon):
        later = torch.zeros_like(targets)
        later[:, :-step] = targets[:, step:]
        shifted.append(later)
    future = torch.stack(shifted, dim=-1)  # (B, L, H)
    powers = decay ** torch.arange(horizon, dtype=torch.float32, device=targets.device)
    return future, (future > 0).float() * powers


def seen_pairs(inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The items each real position has already seen in its window, as (rows, items).

    inputs/targets (B, L) as ``batches.training_batches`` gives them. Row ``r`` is the
    ``r``-th non-padding target in row-major order (the order of ``hidden[targets > 0]``);
    its seen items are ``inputs[b, :t + 1]``, the target itself excepted (a repeat stays a
    candidate). Rows come out ascending, as ``full_cross_entropy(seen=...)`` needs.
    """
    length = inputs.shape[1]
    real = targets > 0  # (B, L)
    earlier = torch.ones(length, length, dtype=torch.bool, device=inputs.device).tril()
    pairs = real[:, :, None] & earlier & (inputs > 0)[:, None, :]  # (B, L query, L key)
    pairs &= inputs[:, None, :] != targets[:, :, None]
    query, key = pairs.view(-1, length).nonzero(as_tuple=True)  # query: b * L + t
    row = real.flatten().cumsum(0) - 1  # (B L,) each position's index among real targets
    return row[query], inputs.flatten()[query - query % length + key]
