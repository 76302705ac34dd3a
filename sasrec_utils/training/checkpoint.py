"""Checkpoints: model weights + config + item-id mapping (+ training state), safely.

Written atomically (temp file, then rename) and read with ``torch.load(weights_only=True)``
so loading never executes pickled code. A missing, truncated, foreign or damaged file
raises ``CheckpointError`` saying which.

Each file holds the sha256 of every tensor in it (``tensors_sha256``: dtype, shape and
bytes, by path) and of every other field (``fields_sha256``: item ids and their dtype,
titles, config, history, ..., by name), checked at load, so bytes changed in place (a
disk or copy error that keeps the length, so the file still unpickles) are named, not
served: a changed stored id would otherwise serve an item that does not exist. Checking
costs about 0.15 s per 40M float32 values. Files written before the checksums (or before
the field checksums) still load, checking what they hold, with an
``UnverifiedCheckpointWarning``; re-save one to add them. Weights holding NaN or inf are
refused both ways: a diverged model is never written over a file, nor loaded.

Item ids are stored as a plain list with their numpy dtype (``item_id_dtype``), so a
``uint64`` hash or a mix of ``int`` and ``str`` ids comes back exactly (``data.ids``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_torch_save
from ..config import SASRecConfig
from ..data.ids import IdMap
from ..model.sasrec import SASRec
from ..runtime import warn_caller

FORMAT = "sasrec_utils.training.checkpoint/1"
CHECKSUMS = "tensors_sha256"  # {tensor path: sha256 hex digest}, written by save_checkpoint
FIELDS = {"config": dict, "n_items": int, "item_ids": list, "model_state": dict}
SERVED = ("config", "n_items", "item_ids", "item_id_dtype")  # what weights_sha256 covers
FIELD_CHECKSUMS = "fields_sha256"  # {field: sha256 hex digest of what is not a tensor}
UNCHECKED = ("format", CHECKSUMS, FIELD_CHECKSUMS)
MAX_LISTED = 5
RESAVE = (
    "load and save it with this version to add them (a bundle: Recommender.load(path).save(path))"
)


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, truncated, damaged or not one of ours."""


class UnverifiedCheckpointWarning(UserWarning):
    """A checkpoint without tensor checksums (written before them): damage goes unseen."""


def save_checkpoint(
    path: str | os.PathLike,
    model: SASRec,
    cfg: SASRecConfig,
    item_ids: np.ndarray,
    **extra: Any,
) -> Path:
    """Write ``model`` weights, ``cfg``, the item-id mapping and ``extra`` atomically.

    The file also holds the checksum of each of its tensors and other fields.
    ``ValueError`` when the weights hold NaN or inf (the file at ``path``, if any, is left
    as it was).
    """
    model_state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    broken = nonfinite_tensors(model_state)
    if broken:
        raise ValueError(
            f"refusing to write {path}: the model's weights hold NaN or inf in "
            f"{_listed(broken)}, so its training diverged; {path} was left as it was. "
            "Retrain with a lower lr"
        )
    ids, dtype = IdMap(item_ids).to_plain()
    state = {
        "format": FORMAT,
        "config": cfg.to_dict(),
        "n_items": model.n_items,
        "item_ids": ids,
        "item_id_dtype": dtype,
        "model_state": model_state,
        **extra,
    }
    return atomic_torch_save(path, with_checksums(state))


def with_checksums(state: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` with the checksums of its tensors and of its other fields added."""
    state = {k: v for k, v in state.items() if k not in (CHECKSUMS, FIELD_CHECKSUMS)}
    return {**state, CHECKSUMS: tensor_digests(state), FIELD_CHECKSUMS: field_digests(state)}


def stored_item_ids(state: Mapping[str, Any], path: str | os.PathLike) -> IdMap:
    """The item ids a loaded checkpoint holds, with their dtype when it was stored."""
    dtype = state.get("item_id_dtype")
    try:
        return IdMap.from_plain(state["item_ids"], dtype)
    except (TypeError, ValueError, OverflowError) as error:
        raise CheckpointError(
            f"{path}: damaged checkpoint: item ids do not fit their dtype {dtype!r} "
            f"or repeat ({error})"
        ) from error


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
    problems = _field_problems(state)
    if problems:
        raise CheckpointError(
            f"{path}: damaged checkpoint: {'; '.join(problems)}; the file was edited or "
            "damaged: use another copy, or retrain"
        )
    _verify_fields(path, state)
    _verify_tensors(path, state)
    return state


def weights_sha256(path: str | os.PathLike) -> str:
    """sha256 of what a checkpoint serves (its weights, item ids, config), not of its bytes.

    The file also holds training times (``history``), so two trainings to identical
    weights write different bytes; they get the same ``weights_sha256``. The file is
    checked as ``load_checkpoint`` checks it.
    """
    state = load_checkpoint(path)
    digest = hashlib.sha256(_canonical({name: state.get(name) for name in SERVED}).encode())
    for name, value in sorted(tensor_digests({"model_state": state["model_state"]}).items()):
        digest.update(f"{name} {value}\n".encode())
    return digest.hexdigest()


def field_digests(state: Mapping[str, Any]) -> dict[str, str]:
    """sha256 (hex) of every top-level field but the format tag and the checksums.

    Each digest covers the field's exact value (types included: ``1`` and ``"1"``
    differ); tensors inside it count by position only, their bytes being covered by
    ``tensor_digests``.
    """
    return {
        name: hashlib.sha256(_canonical(value).encode()).hexdigest()
        for name, value in state.items()
        if name not in UNCHECKED
    }


def _canonical(value: Any) -> str:
    """A text that changes with any value or type in ``value`` (tensors: a placeholder).

    ``repr`` of plain data is exact (floats round-trip) and a loaded file keeps the
    order of its dicts; a flat list of ids is one ``repr`` call, not one per id.
    """
    if isinstance(value, torch.Tensor):
        return "<tensor>"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {_canonical(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and any(
        isinstance(v, (torch.Tensor, Mapping, list, tuple)) for v in value
    ):
        return f"{type(value).__name__}[" + ", ".join(_canonical(v) for v in value) + "]"
    return repr(value)


def tensor_digests(state: Mapping[str, Any]) -> dict[str, str]:
    """sha256 (hex) of every tensor in ``state`` and its nested dicts, by path.

    A path joins the keys with ``/`` (``model_state/item_emb.weight``); each digest
    covers the tensor's dtype, shape and bytes. The ``tensors_sha256`` entry is skipped.
    """
    digests = {}
    for path, tensor in _tensors({k: v for k, v in state.items() if k != CHECKSUMS}, ""):
        digest = hashlib.sha256(f"{tensor.dtype} {tuple(tensor.shape)}".encode())
        flat = tensor.detach().cpu().reshape(-1).contiguous()
        digest.update(memoryview(flat.view(torch.uint8).numpy()))  # no copy of the bytes
        digests[path] = digest.hexdigest()
    return digests


def nonfinite_tensors(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding NaN or inf, in order.

    One cheap pass each (a NaN or inf makes the sum non-finite); the exact check runs
    only when the sum is not finite, which an overflow alone could also cause.
    """
    return [
        name
        for name, tensor in tensors.items()
        if tensor.is_floating_point()
        and not bool(torch.isfinite(tensor.sum()))
        and not bool(torch.isfinite(tensor).all())
    ]


def _tensors(value: Any, path: str) -> Iterator[tuple[str, torch.Tensor]]:
    """``(path, tensor)`` for every tensor in ``value`` and its nested dicts, keys sorted.

    Lists are not searched: ours hold ids, titles and history rows, never tensors, and
    walking 316k item ids one by one would cost more than hashing the weights.
    """
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, Mapping):
        for key in sorted(value, key=str):
            yield from _tensors(value[key], f"{path}/{key}" if path else str(key))


def _field_problems(state: dict[str, Any]) -> list[str]:
    """What is wrong with the required fields (missing, of the wrong type), if anything."""
    problems = []
    for name, kind in FIELDS.items():
        value = state.get(name)
        if name not in state:
            problems.append(f"field {name!r} is missing")
        elif not isinstance(value, kind) or isinstance(value, bool):
            problems.append(f"field {name!r} should be a {kind.__name__}, found {value!r:.60}")
    weights = state.get("model_state")
    if isinstance(weights, dict):
        wrong = [k for k, v in weights.items() if not isinstance(v, torch.Tensor)]
        if wrong:
            problems.append(f"field 'model_state' has entries that are not tensors: {wrong}")
    return problems


def _verify_fields(path: Path, state: dict[str, Any]) -> None:
    """``CheckpointError`` naming the fields that differ from their checksums."""
    expected = state.get(FIELD_CHECKSUMS)
    if expected is None:
        if CHECKSUMS in state:  # the previous format: tensors checked, the rest cannot be
            warn_caller(
                f"{path} has checksums for its tensors but not for its other fields (written "
                "before sasrec_utils stored them): a change to its item ids, titles, "
                f"popularity or config cannot be detected; {RESAVE}",
                UnverifiedCheckpointWarning,
            )
        return
    if not isinstance(expected, dict):
        raise CheckpointError(
            f"{path}: damaged checkpoint: field {FIELD_CHECKSUMS!r} should be a dict, found "
            f"{type(expected).__name__}; use another copy, or retrain"
        )
    found = field_digests(state)
    damaged = [k for k in sorted(expected.keys() | found.keys()) if expected.get(k) != found.get(k)]
    if damaged:
        raise CheckpointError(
            f"{path}: damaged checkpoint: field(s) {_listed([repr(k) for k in damaged])} differ "
            "from the checksums written with them; the file was changed after it was saved "
            "(an edit, a disk, copy or transfer error): use another copy, or retrain"
        )


def _verify_tensors(path: Path, state: dict[str, Any]) -> None:
    """``CheckpointError`` unless every tensor matches its checksum and the weights are finite."""
    expected = state.get(CHECKSUMS)
    if expected is None:
        warn_caller(
            f"{path} has no tensor checksums (written before sasrec_utils stored them): "
            f"damage to its weights, ids or config cannot be detected; {RESAVE}",
            UnverifiedCheckpointWarning,
        )
    elif not isinstance(expected, dict):
        raise CheckpointError(
            f"{path}: damaged checkpoint: field {CHECKSUMS!r} should be a dict, found "
            f"{type(expected).__name__}; use another copy, or retrain"
        )
    else:
        found = tensor_digests(state)
        damaged = [
            k for k in sorted(expected.keys() | found.keys()) if expected.get(k) != found.get(k)
        ]
        if damaged:
            raise CheckpointError(
                f"{path}: damaged checkpoint: the bytes of {len(damaged)} tensor(s) differ from "
                f"the checksums written with them ({_listed(damaged)}); the file was changed "
                "after it was saved (a disk, copy or transfer error): use another copy, or retrain"
            )
    broken = nonfinite_tensors(state["model_state"])
    if broken:
        raise CheckpointError(
            f"{path}: the weights hold NaN or inf in {_listed(broken)}: the model had "
            "diverged when it was saved, or the file is damaged; use an earlier checkpoint, "
            "or retrain with a lower lr"
        )


def _listed(names: list[str]) -> str:
    """The first ``MAX_LISTED`` names, and how many more."""
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return ", ".join(names[:MAX_LISTED]) + more


def model_from_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[SASRec, SASRecConfig, dict[str, Any]]:
    """Rebuild the model (eval mode) and config; returns ``(model, cfg, state)``."""
    state = load_checkpoint(path)
    try:
        cfg = SASRecConfig.from_dict(state["config"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: damaged checkpoint: field 'config' is invalid ({error})"
        ) from error
    if len(stored_item_ids(state, path)) != state["n_items"]:
        raise CheckpointError(
            f"{path}: {len(state['item_ids'])} item ids for {state['n_items']} items"
        )
    model = SASRec(state["n_items"], cfg)
    try:
        model.load_state_dict(state["model_state"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit the stored config ({error})") from error
    return model.to(device).eval(), cfg, state
