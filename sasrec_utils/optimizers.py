"""What trains a model: the optimiser, learning-rate schedule, gradient scaler, proposal.

``build`` makes a fresh model and everything ``train.train_epoch`` steps with. AdamW runs
fused (one kernel over all parameters), which matters when the item table holds millions
of weights (``benchmarks/README.md``, "Scale").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import distributed, losses
from .config import SASRecConfig
from .model import SASRec
from .sequences import item_popularity
from .splits import Split


@dataclass
class TrainingParts:
    """What one run trains with: the model (and its DDP wrapper) and the optimiser's kin."""

    model: SASRec
    train_model: torch.nn.Module  # ``model``, or DDP around it under torchrun
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    use_amp: bool
    amp_dtype: torch.dtype
    log_q: torch.Tensor | None  # (V,) sampling proposal of ``sampled_softmax``, else None


def build(
    cfg: SASRecConfig,
    split: Split,
    device: torch.device,
    ctx: distributed.Context,
    pretrained: np.ndarray | None = None,
) -> TrainingParts:
    """A fresh model (on ``device``, from ``pretrained`` item vectors if given) and its
    optimiser, learning-rate schedule, gradient scaler and sampling proposal."""
    model = SASRec(split.n_items, cfg)
    if pretrained is not None:
        model.init_item_embeddings(pretrained)
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        fused=device.type in ("cpu", "cuda"),
    )
    if cfg.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    log_q = None
    if cfg.loss == "sampled_softmax":
        counts = torch.as_tensor(item_popularity(split.train, split.n_items))
        log_q = losses.log_popularity_proposal(counts).to(device)
    train_model = distributed.wrap(model, ctx, device)  # DDP under torchrun, else model
    return TrainingParts(
        model, train_model, optimizer, scheduler, scaler, use_amp, amp_dtype, log_q
    )
