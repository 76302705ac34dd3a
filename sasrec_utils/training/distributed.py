"""Training on several processes with PyTorch's own engine: torchrun + DDP.

``fit`` calls these helpers. Without an initialised process group they change nothing
(one process, world size 1). Under ``torchrun --nproc_per_node=N`` every process builds
the same batches from the same seed and takes every N-th row of each batch, so each does
1/N of the epoch's work; DistributedDataParallel averages the gradients, which the loss
weights (``shard``) turn into exactly the one-process gradient of the whole batch. So the
training run, its hyperparameters included, is the one-process run, computed N times
faster at best. Rank 0 alone evaluates and writes checkpoints; the early-stopping state
and the best model are broadcast from it.

This module depends on torch only; the command that starts such a run is ``sasrec train``
(``sasrec_utils.cli``), launched by ``torchrun --no-python``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """This process's place among the training processes."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that evaluates, logs and writes files."""
        return self.rank == 0


def context() -> Context:
    """The running process group's rank and size, or a single process without one."""
    if dist.is_available() and dist.is_initialized():
        return Context(dist.get_rank(), dist.get_world_size())
    return Context()


class DistributedSASRec(DistributedDataParallel):
    """DDP around ``SASRec`` that still offers ``item_matrix()`` (the tied output layer).

    The item table is used by the forward pass (embeddings) and by the loss (scores); its
    gradient from both is summed before DDP's all-reduce, like any parameter's.
    """

    def item_matrix(self) -> torch.Tensor:
        """(V, D) the wrapped model's item table."""
        return self.module.item_matrix()


def wrap(model: nn.Module, ctx: Context, device: torch.device) -> nn.Module:
    """``model`` inside DDP when several processes train, else ``model`` itself."""
    if ctx.world_size == 1:
        return model
    if device.type != "cuda":
        return DistributedSASRec(model)
    index = device.index if device.index is not None else torch.cuda.current_device()
    return DistributedSASRec(model, device_ids=[index])


def shard(
    batches: Iterable[tuple[np.ndarray, np.ndarray]], ctx: Context
) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """This process's rows of each ``(inputs, targets)`` (B, L) batch, with a loss weight.

    Rank ``r`` takes rows ``r, r + N, ...``. Each loss is a mean over its real (non-zero)
    targets, so the weight ``N * n_r / n`` (``n_r`` this share's targets, ``n`` the
    batch's) makes DDP's average of the N gradients equal the gradient of the mean over
    the whole batch. A process dealt no row (a batch smaller than N) steps on row 0 with
    weight 0, so that every process joins every all-reduce.
    """
    for inputs, targets in batches:
        if ctx.world_size == 1:
            yield inputs, targets, 1.0
            continue
        rows = slice(ctx.rank, None, ctx.world_size)
        mine = int(np.count_nonzero(targets[rows]))
        if mine == 0:
            yield inputs[:1], targets[:1], 0.0
        else:
            yield inputs[rows], targets[rows], ctx.world_size * mine / np.count_nonzero(targets)


def mean(value: float, ctx: Context) -> float:
    """The mean of ``value`` over all processes (itself for one process)."""
    if ctx.world_size == 1:
        return value
    total = torch.tensor([value], dtype=torch.float64, device=_collective_device())
    dist.all_reduce(total)
    return float(total.item()) / ctx.world_size


def from_main(value: T, ctx: Context) -> T:
    """Rank 0's ``value`` (any picklable object of ours), on every process."""
    if ctx.world_size == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def copy_from_main(model: nn.Module, ctx: Context) -> None:
    """Overwrite every process's weights with rank 0's, in place."""
    if ctx.world_size == 1:
        return
    for tensor in model.state_dict().values():
        dist.broadcast(tensor, src=0)


def _collective_device() -> torch.device:
    return torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")
