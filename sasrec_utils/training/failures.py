"""What training says when it cannot go on: divergence, an interrupt, out of memory.

Each message names what happened and what to change; none of them loses the checkpoints
already written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..config import SASRecConfig

if TYPE_CHECKING:
    from .state import TrainingState

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss, the weights or the validation scores became NaN or infinite."""


def diverged(cfg: SASRecConfig, what: str) -> TrainingDiverged:
    """The error that stops a diverged run: what happened, where, and what to change."""
    clip = "" if cfg.grad_clip > 0 else " or set grad_clip (e.g. 1.0)"
    return TrainingDiverged(
        f"training stopped: {what}; the weights diverged: lower lr (now {cfg.lr:g}; try "
        f"{cfg.lr / 10:g}){clip}"
    )


@contextmanager
def clear_errors(
    cfg: SASRecConfig, device: torch.device, out: Path | None, state: TrainingState
) -> Iterator[None]:
    """Say what to do when training is interrupted, diverges or runs out of memory."""
    try:
        yield
    except TrainingDiverged as error:  # nothing was saved after the last good epoch
        kept = [f"best.pt (epoch {state.best_epoch})"] if state.best_epoch else []
        kept += [f"last.pt (epoch {state.epoch})"] if state.epoch else []
        if out is None or not kept:
            raise TrainingDiverged(f"{error}; no checkpoint was written") from None
        raise TrainingDiverged(
            f"{error}; {' and '.join(kept)} in {out} were left as they were"
        ) from None
    except KeyboardInterrupt:
        where = f" in {out}" if out is not None else ""
        log.warning(
            "training interrupted; best checkpoint (epoch %d)%s is intact; "
            "call fit(..., resume=True) to continue",
            state.best_epoch,
            where,
        )
        raise
    except RuntimeError as error:
        out_of_memory = isinstance(error, torch.OutOfMemoryError)
        if out_of_memory or "out of memory" in str(error).lower():
            raise RuntimeError(
                f"out of memory on {device} with batch_size={cfg.batch_size}, "
                f"max_len={cfg.max_len}: lower batch_size or max_len, or set loss_chunk_rows "
                "(e.g. 4096) to bound the logits"
            ) from error
        raise
