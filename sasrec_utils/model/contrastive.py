"""A contrastive auxiliary loss: an extension of SASRec, not part of it.

CL4SRec (Xie et al., ICDE 2022) and DuoRec (Qiu et al., WSDM 2022) add to the next-item
loss a term that pulls two views of the same history together and pushes the other
histories of the batch away. Here the two views are the model's own dropout (DuoRec's
"model-level augmentation"): the same (B, L) inputs encoded twice in training mode give
two (B, D) user vectors, and each must pick its twin among the 2B - 2 others (InfoNCE,
temperature ``tau``). Histories with identical inputs are not counted as negatives of
each other (a batch of one-item prefixes holds many). The term is weighted by
``cfg.contrastive_weight`` and added to the configured loss (``with_contrastive``).

Shapes: B histories of a batch, L window, D hidden size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def info_nce(
    first: torch.Tensor, second: torch.Tensor, same: torch.Tensor, tau: float
) -> torch.Tensor:
    """Mean InfoNCE of (B, D) ``first`` and ``second``, rows ``i`` positives of each other.

    ``same`` (B, B) bool marks pairs of identical histories, left out as negatives; a view
    is never its own negative.
    """
    views = torch.cat([first, second]).float()  # (2B, D)
    logits = views @ views.T / tau  # (2B, 2B)
    size = len(first)
    twin = torch.arange(2 * size, device=views.device).roll(size)  # i <-> i + B
    excluded = same.repeat(2, 2) | torch.eye(2 * size, dtype=torch.bool, device=views.device)
    excluded[torch.arange(2 * size), twin] = False  # each view's twin stays, as its target
    return F.cross_entropy(logits.masked_fill(excluded, float("-inf")), twin)


@dataclass(frozen=True, eq=False)
class WithContrastive:
    """The configured loss plus ``weight`` times InfoNCE of two dropout views."""

    base: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]  # losses.Loss
    weight: float
    tau: float

    def __call__(
        self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        same = (inputs[:, None, :] == inputs[None, :, :]).all(dim=-1)  # (B, B)
        views = model.user_vectors(inputs), model.user_vectors(inputs)  # (B, D) twice
        return self.base(model, inputs, targets) + self.weight * info_nce(*views, same, self.tau)
