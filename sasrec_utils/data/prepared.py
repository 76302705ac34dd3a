"""From a config to ready-to-train data: load, build sequences, split; save/load the result.

The prepared sequences are stored as one ``.npz`` of plain arrays (no pickle), so the
notebooks can hand data from one to the next.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import atomic_write
from ..config import SASRecConfig
from .event_files import load_item_embeddings
from .loading import load_events, load_item_metadata
from .sequences import SequenceData, Sequences, build_sequences
from .splits import Split, leave_one_out_split, user_split


@dataclass
class PreparedData:
    """Sequences, their split, item metadata (titles) and optional pretrained vectors."""

    sequences: SequenceData
    split: Split
    items: pd.DataFrame | None = None
    pretrained: np.ndarray | None = None  # (n_items + 1, d) aligned to internal ids


def split_for(cfg: SASRecConfig, data: SequenceData) -> Split:
    """The split ``cfg.split`` names (deterministic given ``cfg.seed``).

    ``ValueError`` when it leaves no validation or no test query: nothing could choose
    the epochs or measure the model.
    """
    if cfg.split == "leave_one_out":
        split = leave_one_out_split(data)
        needed = "at least 3 events each (history, validation item, test item)"
    else:
        split = user_split(data, seed=cfg.seed)
        needed = "enough users for a validation and a test group, each with 2+ events"
    if len(split.valid) == 0 or len(split.test) == 0:
        longest = int(data.sequences.lengths.max(initial=0))
        raise ValueError(
            f"no user has enough history to validate and test: split={cfg.split!r} needs "
            f"{needed}; the {data.n_users:,} users have at most {longest} event(s)"
        )
    return split


def prepare_data(cfg: SASRecConfig) -> PreparedData:
    """Load the dataset ``cfg`` names, build sequences and split them."""
    log = load_events(cfg)
    sequences = build_sequences(log.events, log.item_ids)
    pretrained = None
    if cfg.embeddings_path:
        pretrained = load_item_embeddings(cfg.embeddings_path, sequences.item_ids)
    return PreparedData(sequences, split_for(cfg, sequences), load_item_metadata(cfg), pretrained)


def _id_arrays(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """Ids as arrays ``np.load`` reads without pickle: mixed ``int``/``str`` ids (object
    dtype) as their strings plus a mask of which were ints, so both come back as they were."""
    values = np.asarray(values)
    if values.dtype != object:
        return {name: values}
    ints = np.array([isinstance(v, (int, np.integer)) for v in values], dtype=bool)
    return {name: values.astype(str), f"{name}_int_mask": ints}


def _ids(arrays: Any, name: str) -> np.ndarray:
    """The ids ``_id_arrays`` stored under ``name``, each with its type back."""
    values = arrays[name]
    if f"{name}_int_mask" not in arrays:
        return values
    mask = arrays[f"{name}_int_mask"]
    restored = values.astype(object)
    restored[mask] = [int(value) for value in values[mask]]
    return restored


def save_sequences(path: str | os.PathLike, data: SequenceData) -> Path:
    """Store ``data`` as an ``.npz`` of plain arrays, atomically."""
    arrays = {
        "items": data.sequences.items,
        "offsets": data.sequences.offsets,
        **_id_arrays("user_ids", data.user_ids),
        **_id_arrays("item_ids", data.item_ids),
        "dropped_users": np.array(data.dropped_users),
    }
    return atomic_write(path, lambda stream: np.savez_compressed(stream, **arrays))


def load_sequences(path: str | os.PathLike) -> SequenceData:
    """Read what ``save_sequences`` wrote (no pickle allowed)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: prepared data not found; run the first notebook "
            "(or sasrec_utils.data.prepared.save_sequences) first"
        )
    with np.load(path, allow_pickle=False) as arrays:
        return SequenceData(
            Sequences(arrays["items"], arrays["offsets"]),
            _ids(arrays, "user_ids"),
            _ids(arrays, "item_ids"),
            int(arrays["dropped_users"]),
        )


def data_fingerprint(data: SequenceData) -> str:
    """sha256 of the sequence arrays: identifies exactly which data a result came from."""
    digest = hashlib.sha256()
    for array in (data.sequences.items, data.sequences.offsets):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
