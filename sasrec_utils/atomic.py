"""Atomic file writes: a crash mid-write never leaves a truncated file behind.

Each writer writes to a temporary file in the destination's folder, flushes it to disk,
then renames it over the destination (``os.replace`` is atomic on POSIX and Windows). The
temporary file is created like any new file (mode 0666 less the umask), so the result
has a normal file's permissions.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

NULL_REASONS = "null_values"  # written beside values JSON cannot hold: {key path: "NaN"}


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that needs a file name.

    When the block succeeds the file is flushed to disk and renamed over ``path``; when
    it raises, the temporary file is deleted and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        handle = os.open(tmp, os.O_RDWR)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after a successful rename


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(stream)`` on a temp file beside ``path``, then rename it to ``path``."""
    with atomic_path(path) as tmp, open(tmp, "xb") as stream:
        write(stream)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically."""
    return atomic_write(path, lambda stream: stream.write(payload))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, value: Any) -> Path:
    """Write ``value`` as indented, strict JSON (RFC 8259) to ``path`` atomically.

    NumPy scalars and arrays become plain numbers and lists, paths their strings. NaN and
    infinities, which JSON cannot hold (``json.dumps`` would write a bare ``NaN`` that
    JavaScript and jq reject), become ``null``; when ``value`` is a dict, its key
    ``NULL_REASONS`` then says which values were not finite and what they were, and a
    ``RuntimeWarning`` names them.
    """
    plain, nonfinite = plain_json(value)
    if nonfinite:
        warnings.warn(
            f"{path}: {len(nonfinite)} value(s) not finite, written as null: "
            + ", ".join(f"{where} ({what})" for where, what in list(nonfinite.items())[:5]),
            RuntimeWarning,
            stacklevel=2,
        )
        if isinstance(plain, dict):
            plain[NULL_REASONS] = nonfinite
    text = json.dumps(plain, indent=2, sort_keys=True, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def plain_json(value: Any, where: str = "") -> tuple[Any, dict[str, str]]:
    """``value`` as plain JSON values, and ``{key path: "NaN" | "inf" | "-inf"}`` of the
    non-finite floats it held, each replaced by ``None`` (paths like ``test.mrr``,
    ``history.loss[3]``)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value), {}
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy scalars and arrays
    if isinstance(value, float) and not math.isfinite(value):
        return None, {where or "value": repr(value).replace("nan", "NaN")}
    if isinstance(value, dict):
        items = [
            (str(key), plain_json(item, f"{where}.{key}" if where else str(key)))
            for key, item in value.items()
        ]
        return {key: item for key, (item, _) in items}, _merged(bad for _, (_, bad) in items)
    if isinstance(value, (list, tuple)):
        items = [plain_json(item, f"{where}[{number}]") for number, item in enumerate(value)]
        return [item for item, _ in items], _merged(bad for _, bad in items)
    return value, {}


def as_read_back(value: Any) -> Any:
    """``value`` as a JSON file gives it back: tuples as lists, keys as strings (to compare
    a config with one read from a file)."""
    return json.loads(json.dumps(value))


def _merged(parts: Iterable[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in parts:
        merged.update(part)
    return merged


def atomic_torch_save(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """``torch.save(state)`` to ``path`` atomically."""
    import torch

    return atomic_write(path, lambda stream: torch.save(state, stream))
