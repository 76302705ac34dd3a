"""External item ids <-> internal indices ``1..n`` (``0`` is padding), in one object.

Ids keep their value and their type: a ``uint64`` hash above 2^53 stays exact (never a
float64), and a catalogue of mixed ``int`` and ``str`` ids stays mixed. ``to_plain`` /
``from_plain`` give the plain list and dtype name a checkpoint (``weights_only``) or a
JSON file can hold, and back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np


@dataclass(frozen=True)
class IdMap:
    """``external[i - 1]`` is the original id of internal index ``i`` (read-only, (n,))."""

    external: np.ndarray

    def __post_init__(self) -> None:
        values = np.array(self.external)  # a copy: the caller's array stays writable
        mixed = not isinstance(self.external, np.ndarray) and values.dtype.kind in "US"
        if mixed and any(not isinstance(item, str) for item in self.external):  # [7003, "a"]
            values = np.array(list(self.external), dtype=object)
        if values.ndim != 1:
            raise ValueError(f"item ids must be one-dimensional, got shape {values.shape}")
        _refuse_missing(values)
        _refuse_duplicates(values)
        values.setflags(write=False)
        object.__setattr__(self, "external", values)

    @classmethod
    def from_plain(cls, values: list, dtype: str | None) -> IdMap:
        """The map ``to_plain`` described (``dtype`` ``None``: guessed, as files before it)."""
        if dtype is None:
            return cls(np.asarray(values))
        return cls(np.array(values, dtype=np.dtype(dtype)))

    def to_plain(self) -> tuple[list, str]:
        """The ids as a list of plain Python ints/strs (no numpy scalars) and the dtype's name."""
        values = [v.item() if isinstance(v, np.generic) else v for v in self.external.tolist()]
        return values, str(self.external.dtype)

    def __len__(self) -> int:
        return len(self.external)

    def __contains__(self, item_id: Any) -> bool:
        return item_id in self._index

    @cached_property
    def _index(self) -> dict[Any, int]:
        return {item: position + 1 for position, item in enumerate(self.external.tolist())}

    def get(self, item_id: Any) -> int:
        """The internal index of one external id (``0`` when unknown)."""
        return self._index.get(item_id, 0)

    def to_internal(self, item_ids: Iterable, name: str = "item_ids") -> np.ndarray:
        """(n,) int64 internal indices of external ``item_ids``; unknown ids map to ``0``.

        ``name`` is the caller's parameter, named when one id comes instead of a list.
        """
        index = self._index
        return np.array([index.get(item, 0) for item in as_id_list(item_ids, name)], np.int64)

    def to_external(self, internal: Iterable[int] | np.ndarray) -> np.ndarray:
        """External ids of internal indices; ``ValueError`` naming any outside ``1..n``
        (``0`` is padding, no item: numpy would answer it with the last id)."""
        given = np.asarray(internal)
        if given.dtype.kind not in "iu" and given.size:  # 1.9 would be cut to item 1
            raise ValueError(
                f"internal item indices must be integers, got {given.dtype} "
                f"(e.g. {given.ravel()[0].item()!r})"
            )
        indices = given.astype(np.int64)
        outside = indices[(indices < 1) | (indices > len(self))]
        if outside.size:
            raise ValueError(
                f"internal item index(es) {sorted(set(outside.tolist()))[:5]} are not items: "
                f"items are 1..{len(self)} (0 is padding)"
            )
        return self.external[indices - 1]


def as_id_list(ids: Iterable, name: str) -> list:
    """Any collection of ids (list, tuple, set, numpy array, pandas Series) as a list.

    ``TypeError`` naming ``name`` for one id (a number or a string) where a collection
    belongs.
    """
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(
            f"{name} must be a collection of item ids, got the single value {ids!r}; "
            f"pass a list, e.g. [{ids!r}]"
        )
    return ids.tolist() if hasattr(ids, "tolist") else list(ids)


def _refuse_missing(values: np.ndarray) -> None:
    """``ValueError`` for a missing id (NaN, None): no two of them could be told apart."""
    missing = [
        position for position, item in enumerate(values.tolist()) if item is None or item != item
    ]
    if missing:
        raise ValueError(
            f"item ids must not be missing (NaN or None); {len(missing)} are, at positions "
            f"{missing[:5]}"
        )


def _refuse_duplicates(values: np.ndarray) -> None:
    """``ValueError`` naming the ids listed twice (two indices for one item would let a
    seen item come back as the other)."""
    seen: dict[Any, int] = {}
    repeated = []
    for position, item in enumerate(values.tolist()):
        if item in seen:
            repeated.append(f"{item!r} at positions {seen[item]} and {position}")
        seen.setdefault(item, position)
    if repeated:
        raise ValueError(
            f"item ids must be unique; {len(repeated)} repeated: {'; '.join(repeated[:5])}"
        )
