"""Recommender bundles: one file holding weights, config, item ids, titles and popularity.

A bundle is a ``sasrec_utils.training.checkpoint`` file with a ``bundle`` tag and the catalogue's
titles, genres and popularity; a plain training checkpoint (``best.pt``) loads the same
way, without them. Read with ``weights_only=True``; written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import SASRecConfig
from ..model.sasrec import SASRec
from ..training.checkpoint import (
    CheckpointError,
    model_from_checkpoint,
    save_checkpoint,
    stored_item_ids,
)
from .catalogue import Catalogue, check_popularity

BUNDLE_FORMAT = "sasrec_utils.serving.recommend/1"


def save_bundle(
    path: str | os.PathLike, model: SASRec, cfg: SASRecConfig, catalogue: Catalogue
) -> Path:
    """Write weights, config, item ids, titles/genres and popularity atomically.

    The file loads with ``torch.load(weights_only=True)``; if writing fails, an existing
    file at ``path`` is left untouched.
    """
    popularity = catalogue.popularity
    return save_checkpoint(
        path,
        model,
        cfg,
        catalogue.item_ids,
        bundle=BUNDLE_FORMAT,
        titles=_strings_for_file(catalogue.titles),
        genres=_strings_for_file(catalogue.genres),
        popularity=None if popularity is None else torch.from_numpy(popularity.copy()),
    )


def load_bundle(
    path: str | os.PathLike,
    device: str | torch.device = "cpu",
    items: pd.DataFrame | None = None,
    popularity: np.ndarray | None = None,
) -> tuple[SASRec, SASRecConfig, Catalogue]:
    """The model (eval mode, on ``device``), config and catalogue stored in ``path``.

    ``items`` / ``popularity`` override what the file holds (a training checkpoint has
    neither). Raises ``CheckpointError`` for a missing, truncated, foreign or
    inconsistent file.
    """
    model, cfg, state = model_from_checkpoint(path, device)
    found = state.get("bundle")
    if found is not None and found != BUNDLE_FORMAT:
        raise CheckpointError(
            f"{path}: recommender bundle format {found!r}, expected {BUNDLE_FORMAT!r}; "
            "re-save it with this version of sasrec_utils"
        )
    n_items = model.n_items
    item_ids = stored_item_ids(state, path).external
    titles = _stored_strings(state.get("titles"), n_items, "titles", path)
    genres = _stored_strings(state.get("genres"), n_items, "genres", path)
    if items is not None:
        aligned = Catalogue.from_metadata(item_ids, items)
        titles, genres = aligned.titles, aligned.genres
    if popularity is None and state.get("popularity") is not None:
        stored = state["popularity"]
        if not isinstance(stored, torch.Tensor) or stored.shape != (n_items + 1,):
            raise CheckpointError(
                f"{path}: popularity should be a tensor of shape ({n_items + 1},), found "
                f"{getattr(stored, 'shape', type(stored).__name__)}; the file is damaged"
            )
        popularity = stored.numpy()
    catalogue = Catalogue(item_ids, titles, genres, check_popularity(popularity, n_items))
    return model, cfg, catalogue


def _strings_for_file(values: np.ndarray | None) -> list[str | None] | None:
    return None if values is None else list(values[1:])


def _stored_strings(
    values: Any, n_items: int, name: str, path: str | os.PathLike
) -> np.ndarray | None:
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != n_items:
        found = len(values) if isinstance(values, list) else type(values).__name__
        raise CheckpointError(
            f"{path}: {name} should be a list of {n_items} entries (one per item), found "
            f"{found}; the file is damaged or was edited"
        )
    return np.array([None, *values], dtype=object)
