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
from ..training.checkpoint import weights_sha256

# where a run happened and how it was seeded, not what was trained: left out
NOT_FINGERPRINTED = ("seed", "device")


def config_sha256(cfg: SASRecConfig) -> str:
    """sha256 of the config's fields but ``NOT_FINGERPRINTED``, as sorted JSON."""
    fields = {k: v for k, v in cfg.to_dict().items() if k not in NOT_FINGERPRINTED}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def describes(
    data_sha256: str, cfg: SASRecConfig, checkpoints: Iterable[str | os.PathLike] = ()
) -> dict[str, Any]:
    """The fingerprint a file stores: its data (``data_fingerprint``), config and the
    checkpoints it measured (``weights_sha256``: identical weights, identical digest)."""
    return {
        "data_sha256": data_sha256,
        "config_sha256": config_sha256(cfg),
        "checkpoints_sha256": [weights_sha256(path) for path in checkpoints],
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
    if weights_sha256(checkpoint) not in stored.get("checkpoints_sha256", []):
        return f"it did not measure {Path(checkpoint).name} (another training run)"
    return None
