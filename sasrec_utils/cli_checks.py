"""The ``sasrec`` command's argument checks, run before any work: each bad argument is one
``ValueError`` naming it, and nothing has been read, trained or written yet."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def at_least(option: str, value: int | None, low: int) -> None:
    """``ValueError`` naming ``option`` unless ``value`` is ``None`` or an integer >= ``low``."""
    if value is not None and value < low:
        raise ValueError(f"{option} must be an integer >= {low}, got {value}")


def output_folder(option: str, path: str, writes: tuple[str, ...]) -> Path:
    """``path`` as a folder the command may create and write ``writes`` into.

    ``ValueError`` naming ``option`` when ``path`` (or a folder above it) is a file, when
    the nearest existing folder is not writable, or when ``path`` already holds one of
    ``writes`` (an earlier run's files are never replaced).
    """
    folder = Path(path)
    for above in [folder, *folder.parents]:
        if above.is_symlink() and not above.exists():
            raise ValueError(f"{option} {path}: {above} is a link to nothing; pass a folder")
        if above.exists() and not above.is_dir():
            where = "is a file" if above == folder else f"is inside {above}, which is a file"
            raise ValueError(f"{option} {path}: {where}; pass a folder")
        if above.is_dir():
            if not os.access(above, os.W_OK | os.X_OK):
                raise ValueError(f"{option} {path}: {above} is not writable")
            break
    present = [name for name in writes if (folder / name).exists()]
    if present:
        raise ValueError(
            f"{option} {path}: already holds {', '.join(present)} of an earlier run, which "
            "would be replaced; pass a new folder or move them away"
        )
    return folder


def read_config_file(path: str) -> dict[str, Any]:
    """The ``SASRecConfig`` fields a ``--config`` JSON file holds; ``ValueError`` naming the
    file when it is missing, a folder, unreadable, not JSON, or not one JSON object."""
    if Path(path).is_dir():
        raise ValueError(f"--config {path}: is a folder; pass a JSON file of SASRecConfig fields")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"--config {path}: file not found; pass a JSON file of SASRecConfig fields"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"--config {path}: cannot be read ({error})") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--config {path} is not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise ValueError(
            f"--config {path} must hold a JSON object of SASRecConfig fields, e.g. "
            f'{{"epochs": 5}}, found a {type(values).__name__}'
        )
    return values
