"""Fingerprints: which data, config and checkpoints a file written by one notebook
describes, so that a later notebook shows its figures only beside the same ones.

``describes`` is what a writer stores (``metrics.json``'s ``describes``); ``mismatch``
says in one line how a stored fingerprint differs from the reader's, or ``None``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..config import SASRecConfig

# where a run happened and how it was seeded, not what was trained: left out
NOT_FINGERPRINTED = ("seed", "device")


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (a checkpoint: exactly which weights)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_sha256(cfg: SASRecConfig) -> str:
    """sha256 of the config's fields but ``NOT_FINGERPRINTED``, as sorted JSON."""
    fields = {k: v for k, v in cfg.to_dict().items() if k not in NOT_FINGERPRINTED}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def describes(
    data_sha256: str, cfg: SASRecConfig, checkpoints: Iterable[str | os.PathLike] = ()
) -> dict[str, Any]:
    """The fingerprint a file stores: its data (``data_fingerprint``), config and the
    checkpoints it measured."""
    return {
        "data_sha256": data_sha256,
        "config_sha256": config_sha256(cfg),
        "checkpoints_sha256": [file_sha256(path) for path in checkpoints],
    }


def mismatch(
    stored: Mapping[str, Any], data_sha256: str, cfg: SASRecConfig, checkpoint: str | os.PathLike
) -> str | None:
    """Why a file's ``stored`` fingerprint does not describe ``checkpoint`` (trained with
    ``cfg`` on the data of ``data_sha256``), or ``None`` when it does."""
    if stored.get("data_sha256") != data_sha256:
        return "it was measured on other data"
    if stored.get("config_sha256") != config_sha256(cfg):
        return "it was measured with other settings"
    if file_sha256(checkpoint) not in stored.get("checkpoints_sha256", []):
        return f"it did not measure {Path(checkpoint).name} (another training run)"
    return None
