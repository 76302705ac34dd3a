"""What trains a model: the optimisers, learning-rate schedules, gradient scaler.

``build_training`` makes a fresh model and everything ``loop.train_epoch`` steps it with
(the loss is ``model.losses``'s own object). AdamW runs
fused (one kernel over all parameters), which matters when the item table holds millions
of weights (``benchmarks/README.md``, "Scale"). With ``cfg.sparse_item_grad`` the item
table gets sparse gradients (only the rows a batch touched: its inputs, targets and
negatives) and its own ``torch.optim.SparseAdam``, a lazy Adam that updates only those
rows, so a step's optimiser work no longer grows with the catalogue; AdamW trains the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..config import SASRecConfig
from ..data.splits import Split
from ..model.item_init import ppmi_item_vectors
from ..model.sasrec import SASRec
from . import distributed


@dataclass
class TrainingParts:
    """What one run trains with: the model (and its DDP wrapper) and the optimiser's kin."""

    model: SASRec
    train_model: torch.nn.Module  # ``model``, or DDP around it under torchrun
    optimizer: torch.optim.Optimizer  # AdamW: every parameter, or all but a sparse item table
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    use_amp: bool
    amp_dtype: torch.dtype
    item_optimizer: torch.optim.SparseAdam | None = None  # the item table's, when sparse
    item_scheduler: torch.optim.lr_scheduler.LRScheduler | None = None

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.optimizer, *([self.item_optimizer] if self.item_optimizer else [])]

    def schedulers(self) -> list[torch.optim.lr_scheduler.LRScheduler]:
        return [self.scheduler, *([self.item_scheduler] if self.item_scheduler else [])]

    def zero_grad(self) -> None:
        for optimizer in self.optimizers():
            optimizer.zero_grad(set_to_none=True)

    def step(self, grad_clip: float) -> None:
        """Clip the gradients' total norm to ``grad_clip`` (0: no clipping), then step."""
        if grad_clip > 0:
            for optimizer in self.optimizers():
                self.scaler.unscale_(optimizer)
            clip_gradients(list(self.model.parameters()), grad_clip)
        for optimizer in self.optimizers():
            self.scaler.step(optimizer)
        self.scaler.update()

    def state(self) -> dict[str, Any]:
        """The optimisers' and schedules' state, for ``last.pt``."""
        state = {
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_state": self.scheduler.state_dict(),
        }
        if self.item_optimizer is not None:
            state["item_optimizer_state"] = self.item_optimizer.state_dict()
            state["item_scheduler_state"] = self.item_scheduler.state_dict()
        return state

    def load_state(self, saved: dict[str, Any]) -> None:
        """What ``state`` wrote, back into the optimisers and schedules."""
        self.optimizer.load_state_dict(saved["optimizer_state"])
        self.scheduler.load_state_dict(saved["scheduler_state"])
        if self.item_optimizer is not None:
            self.item_optimizer.load_state_dict(saved["item_optimizer_state"])
            self.item_scheduler.load_state_dict(saved["item_scheduler_state"])


def clip_gradients(parameters: list[torch.Tensor], max_norm: float) -> float:
    """Scale all gradients so their total L2 norm is at most ``max_norm``; the norm before.

    Dense gradients only: exactly ``torch.nn.utils.clip_grad_norm_``. Sparse ones (the
    item table's) count by their values, which that function cannot read.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    sparse = [g for g in grads if g.is_sparse]
    if not sparse:
        return float(torch.nn.utils.clip_grad_norm_(parameters, max_norm))
    coalesced = [g.coalesce() for g in sparse]
    squares = sum(float(g.pow(2).sum()) for g in grads if not g.is_sparse)
    squares += sum(float(g.values().pow(2).sum()) for g in coalesced)
    norm = squares**0.5
    scale = max_norm / (norm + 1e-6)
    if scale < 1.0:
        for g in grads:
            if g.is_sparse:
                g._values().mul_(scale)
            else:
                g.mul_(scale)
    return norm


def _schedule(cfg: SASRecConfig, optimizer: torch.optim.Optimizer):
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)


def build_training(
    cfg: SASRecConfig,
    split: Split,
    device: torch.device,
    ctx: distributed.Context,
    pretrained: np.ndarray | None = None,
) -> TrainingParts:
    """A fresh model (on ``device``, from ``pretrained`` item vectors if given, or from the
    training items' co-occurrence with ``cfg.ppmi_init_window``) and its optimiser,
    learning-rate schedule and gradient scaler."""
    model = SASRec(split.n_items, cfg)
    if pretrained is None and cfg.ppmi_init_window:
        pretrained = ppmi_item_vectors(
            split.train, split.n_items, cfg.hidden_dim, cfg.ppmi_init_window
        )
    if pretrained is not None:
        model.init_item_embeddings(pretrained)
    model.to(device)
    table = model.item_emb.weight
    if cfg.sparse_item_grad and ctx.world_size > 1:
        raise ValueError(
            "sparse_item_grad=True trains on one process only; under torchrun set "
            "sparse_item_grad=False"
        )
    dense = [p for p in model.parameters() if p is not table or not cfg.sparse_item_grad]
    optimizer = torch.optim.AdamW(
        dense, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=device.type in ("cpu", "cuda")
    )
    scheduler = _schedule(cfg, optimizer)
    item_optimizer = item_scheduler = None
    if cfg.sparse_item_grad:  # a lazy Adam on the rows each step touched
        item_optimizer = torch.optim.SparseAdam([table], lr=cfg.lr)
        item_scheduler = _schedule(cfg, item_optimizer)
    use_amp = cfg.amp_on(device.type)
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
    train_model = distributed.wrap(model, ctx, device)  # DDP under torchrun, else model
    return TrainingParts(
        model,
        train_model,
        optimizer,
        scheduler,
        scaler,
        use_amp,
        amp_dtype,
        item_optimizer,
        item_scheduler,
    )
