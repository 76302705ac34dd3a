"""Training losses over next-item targets: one small object per loss, built from the config.

``build_loss(cfg, split, device)`` makes the configured loss (``cfg.loss``). The object owns
what the loss needs beyond a batch (the sampled softmax's proposal built from the training
items' popularity, say) and is called as ``loss(model, inputs, targets)`` on a (B, L) batch;
only non-padding positions count, and it returns their mean. To add a loss: a class with
``from_config`` and ``__call__`` below, its name in ``LOSS_CLASSES`` and ``config.LOSSES``.

Shapes: B batch, L window, N rows (non-padding positions of a batch), D hidden size, K
negatives; ``items`` is the (V, D) item table with row 0 = padding, so real items are
``items[1:]``. The functions compute each loss from (N, D) rows; the objects apply them to
a batch. The full softmax's kernel is ``cross_entropy``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SASRecConfig
from ..data.sequences import item_popularity
from ..data.splits import Split
from .contrastive import WithContrastive
from .cross_entropy import full_cross_entropy, future_targets, seen_pairs


def sampled_softmax(
    hidden: torch.Tensor,
    targets: torch.Tensor,
    items: torch.Tensor,
    n_negatives: int,
    log_q: torch.Tensor,
    generator: torch.Generator | None = None,
    log_frequency: torch.Tensor | None = None,
    logq_correction: bool = True,
) -> torch.Tensor:
    """Softmax over the target and shared negatives, logQ-corrected (unless told not to).

    ``n_negatives`` negatives are drawn with replacement from ``exp(log_q)`` (V,), a
    proposal over item ids (e.g. popularity). With ``log_frequency`` (V,), the log share of
    each item among training targets, the batch's distinct targets join them as
    negatives (in-batch negatives: the other rows' targets, popular items at no sampling
    cost). Each negative's logit is lowered by the log of its expected count among the
    candidates, ``K q`` for the draws plus ``1 - (1 - p)^N`` for the batch's N targets, so
    the negatives' sum of ``exp`` estimates the full softmax's normaliser without bias and
    the loss estimates full cross-entropy (``logq_correction=False`` leaves the logits as
    they are: a uniform proposal then only shifts every negative by one constant). A
    negative equal to the row's target is masked.
    """
    negatives = torch.multinomial(
        log_q.exp(), n_negatives, replacement=True, generator=generator
    )  # (K,)
    log_expected = log_q + math.log(n_negatives)  # log of each item's expected draw count
    if log_frequency is not None:  # + the batch's distinct targets, included once each
        included = -torch.expm1(len(targets) * torch.log1p(-log_frequency.exp()))  # (V,)
        log_expected = torch.logaddexp(log_expected, included.log())
        negatives = torch.cat([torch.unique(targets), negatives])  # (U + K,)
    target_rows, negative_rows = _gather(items, targets, negatives)  # (N, D), (K, D)
    positive = (hidden * target_rows).sum(-1)  # (N,)
    negative = hidden @ negative_rows.T  # (N, K)
    if logq_correction:
        negative = negative - log_expected[negatives]
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
    """(V,) log-probabilities proportional to ``(count + 1) ** power`` (padding: -inf);
    ``power=0`` is the uniform proposal."""
    weights = (counts.double() + 1) ** power
    weights[0] = 0
    return (weights / weights.sum()).log().float()


# ---------------------------------------------------------------- one object per loss

# the exponent of ``count + 1`` in each ``negative_proposal``
PROPOSAL_POWERS = {"popularity": 0.5, "uniform": 0.0}


class Loss(Protocol):
    """A training loss: ``(model, inputs (B, L), targets (B, L)) -> ()`` mean over the
    non-padding targets; ``model`` maps (B, L) ids to (B, L, D) and has ``item_matrix``."""

    def __call__(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor: ...


def _hidden_at_targets(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, D) hidden states at the non-padding targets, in row-major order, and the (B, L)
    mask of those targets. Batches of prefixes (``data.prefixes``: a target in the last
    column only) run the last block at the last position alone (``SASRec.user_vectors``)."""
    real = targets > 0
    if real[:, -1].all() and not real[:, :-1].any():
        return model.user_vectors(inputs), real
    return model(inputs)[real], real  # (B, L, D) -> (N, D)


def _real_rows(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (N, D) hidden states at the non-padding targets, those (N,) targets, (V, D) items."""
    hidden, real = _hidden_at_targets(model, inputs, targets)
    return hidden, targets[real], model.item_matrix()


@dataclass(frozen=True)
class FullCrossEntropy:
    """``ce``: softmax over all items. Each position learns its next ``horizon`` items
    (weights ``horizon_decay ** j``); with ``mask_seen`` the items its window has already
    seen leave its softmax; ``product_dtype`` is its products' precision
    (``cross_entropy.full_cross_entropy``)."""

    label_smoothing: float = 0.0
    chunk_rows: int = 0  # 0: chosen from the catalogue's size
    horizon: int = 1
    horizon_decay: float = 1.0
    mask_seen: bool = True
    product_dtype: torch.dtype | None = None  # None: float32 products

    @classmethod
    def from_config(cls, cfg: SASRecConfig, split: Split, device: torch.device) -> FullCrossEntropy:
        return cls(
            cfg.label_smoothing,
            cfg.loss_chunk_rows,
            cfg.loss_horizon,
            cfg.horizon_decay,
            cfg.mask_seen_in_loss,
            None if cfg.softmax_dtype == "float32" else getattr(torch, cfg.softmax_dtype),
        )

    def __call__(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        hidden, real = _hidden_at_targets(model, inputs, targets)  # (N, D), (B, L)
        seen = seen_pairs(inputs, targets) if self.mask_seen else None
        future, weights = future_targets(targets, self.horizon, self.horizon_decay)  # (B, L, H)
        return full_cross_entropy(
            hidden,
            future[real],
            model.item_matrix(),
            self.label_smoothing,
            self.chunk_rows,
            seen,
            weights[real],
            self.product_dtype,
        )


@dataclass(frozen=True)
class OneNegativeBCE:
    """``bce``: the paper's binary CE of the target against one uniform negative per row."""

    @classmethod
    def from_config(cls, cfg: SASRecConfig, split: Split, device: torch.device) -> OneNegativeBCE:
        return cls()

    def __call__(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        return bce_one_negative(*_real_rows(model, inputs, targets))


@dataclass(frozen=True)
class GeneralisedBCE:
    """``gbce``: BCE against ``n_negatives`` shared uniform negatives, calibrated by ``t``."""

    n_negatives: int
    t: float

    @classmethod
    def from_config(cls, cfg: SASRecConfig, split: Split, device: torch.device) -> GeneralisedBCE:
        return cls(cfg.n_negatives, cfg.gbce_t)

    def __call__(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        return gbce(*_real_rows(model, inputs, targets), self.n_negatives, self.t)


@dataclass(frozen=True, eq=False)
class SampledSoftmax:
    """``sampled_softmax``: softmax over the target and ``n_negatives`` shared negatives
    drawn from ``exp(log_q)`` (V,), logQ-corrected; with ``log_frequency`` (V,), the
    training targets' log shares, the batch's targets join them (in-batch negatives)."""

    n_negatives: int
    log_q: torch.Tensor
    log_frequency: torch.Tensor | None = None
    logq_correction: bool = True

    @classmethod
    def from_config(cls, cfg: SASRecConfig, split: Split, device: torch.device) -> SampledSoftmax:
        """The proposal: popularity ** 0.5 over ``split.train``'s items, or uniform
        (``cfg.negative_proposal``); with ``cfg.in_batch_negatives``, each item's share of
        the training targets too."""
        counts = torch.as_tensor(item_popularity(split.train, split.n_items))
        power = PROPOSAL_POWERS[cfg.negative_proposal]
        log_q = log_popularity_proposal(counts, power).to(device)
        log_frequency = None
        if cfg.in_batch_negatives:
            log_frequency = log_popularity_proposal(counts, power=1.0).to(device)
        return cls(cfg.n_negatives, log_q, log_frequency, cfg.logq_correction)

    def __call__(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        hidden, targets, items = _real_rows(model, inputs, targets)
        return sampled_softmax(
            hidden,
            targets,
            items,
            self.n_negatives,
            self.log_q,
            log_frequency=self.log_frequency,
            logq_correction=self.logq_correction,
        )


LOSS_CLASSES = {
    "ce": FullCrossEntropy,
    "bce": OneNegativeBCE,
    "sampled_softmax": SampledSoftmax,
    "gbce": GeneralisedBCE,
}


def build_loss(cfg: SASRecConfig, split: Split, device: torch.device) -> Loss:
    """The loss ``cfg.loss`` names, its state built from ``split.train`` on ``device``;
    with ``cfg.contrastive_weight > 0`` plus the contrastive term (``contrastive``)."""
    loss = LOSS_CLASSES[cfg.loss].from_config(cfg, split, device)
    if cfg.contrastive_weight > 0:
        loss = WithContrastive(loss, cfg.contrastive_weight, cfg.contrastive_temperature)
    return loss
