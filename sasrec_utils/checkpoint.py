"""Checkpoints: model weights + config + item-id mapping (+ training state), safely.

Written atomically (temp file, then rename) and read with ``torch.load(weights_only=True)``
so loading never executes pickled code. A missing, truncated or foreign file raises
``CheckpointError`` saying which.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import SASRecConfig
from .io import atomic_torch_save
from .model import SASRec

FORMAT = "sasrec_utils.checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, truncated or not one of ours."""


def save_checkpoint(
    path: str | os.PathLike,
    model: SASRec,
    cfg: SASRecConfig,
    item_ids: np.ndarray,
    **extra: Any,
) -> Path:
    """Write ``model`` weights, ``cfg``, the item-id mapping and ``extra`` atomically."""
    state = {
        "format": FORMAT,
        "config": cfg.to_dict(),
        "n_items": model.n_items,
        "item_ids": np.asarray(item_ids).tolist(),
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **extra,
    }
    return atomic_torch_save(path, state)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's dict, after checking it is complete and of this format."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for damaged files
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(error).__name__}: {error}); the file "
            "may be truncated or written by another program"
        ) from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{path}: not a sasrec_utils checkpoint (format {found!r}, expected {FORMAT!r})"
        )
    missing = [k for k in ("config", "n_items", "item_ids", "model_state") if k not in state]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {missing}")
    return state


def model_from_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[SASRec, SASRecConfig, dict[str, Any]]:
    """Rebuild the model (eval mode) and config; returns ``(model, cfg, state)``."""
    state = load_checkpoint(path)
    cfg = SASRecConfig.from_dict(state["config"])
    if len(state["item_ids"]) != state["n_items"]:
        raise CheckpointError(
            f"{path}: {len(state['item_ids'])} item ids for {state['n_items']} items"
        )
    model = SASRec(state["n_items"], cfg)
    try:
        model.load_state_dict(state["model_state"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit the stored config ({error})") from error
    return model.to(device).eval(), cfg, state
