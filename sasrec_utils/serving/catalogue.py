"""The item catalogue of a trained model: external ids <-> internal ids, titles, popularity.

Internal ids are ``1..n_items`` (``0`` is padding); external ids are whatever the data
used (``item_ids[i - 1]`` is internal ``i``'s). A ``Catalogue`` is immutable: its arrays
are read-only, and a changed catalogue is a new object (``dataclasses.replace``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..data.ids import IdMap, as_id_list
from ..runtime import warn_caller
from .columns import Columns

MAX_LISTED_UNKNOWN = 20


class UnknownItemsWarning(UserWarning):
    """Some item ids of a history are not in the model's catalogue and were skipped."""


def _read_only(values: np.ndarray | None) -> np.ndarray | None:
    if values is not None:
        values = np.array(values)  # a copy: the caller's array stays writable
        values.setflags(write=False)
    return values


@dataclass(frozen=True)
class Catalogue:
    """Items by internal id, with optional ``titles``/``genres`` and training ``popularity``.

    ``item_ids`` is (n_items,) external ids (``ids``: the same as an ``IdMap``);
    ``titles``/``genres`` are (n_items + 1,) object arrays by internal id (entry 0 and
    unknown entries ``None``); ``popularity`` is (n_items + 1,) int64 training interaction
    counts (entry 0 is padding and 0).
    """

    item_ids: np.ndarray
    titles: np.ndarray | None = None
    genres: np.ndarray | None = None
    popularity: np.ndarray | None = None
    ids: IdMap = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", IdMap(self.item_ids))
        object.__setattr__(self, "item_ids", self.ids.external)  # one read-only copy
        for name in ("titles", "genres", "popularity"):
            object.__setattr__(self, name, _read_only(getattr(self, name)))
        for name in ("titles", "genres"):
            values = getattr(self, name)
            if values is not None and values.shape != (self.n_items + 1,):
                raise ValueError(
                    f"{name} must have one entry per internal id, shape ({self.n_items + 1},); "
                    f"got {values.shape}"
                )

    @classmethod
    def from_metadata(
        cls,
        item_ids: Sequence | np.ndarray,
        items: pd.DataFrame | None = None,
        popularity: np.ndarray | None = None,
    ) -> Catalogue:
        """A catalogue of ``item_ids`` with titles/genres taken from ``items`` (by id).

        ``items`` has ``item_id, title`` (optional ``genres``); ``popularity`` is counts per
        internal id, ``(n_items + 1,)`` as ``sequences.item_popularity`` returns, or
        ``(n_items,)``.
        """
        item_ids = IdMap(item_ids).external
        titles, genres = _align_metadata(items, item_ids)
        return cls(item_ids, titles, genres, check_popularity(popularity, len(item_ids)))

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    # ------------------------------------------------------------ ids

    def to_internal(self, item_ids: Iterable, name: str = "item_ids") -> np.ndarray:
        """(n,) int64 internal ids of external ``item_ids``; unknown ids map to ``0``.

        ``name``: the caller's parameter, named when one id comes where a list belongs.
        """
        return self.ids.to_internal(item_ids, name)

    def to_external(self, internal: np.ndarray) -> np.ndarray:
        """External ids of internal ids (all must be ``>= 1``)."""
        return self.ids.to_external(internal)

    def require(self, item_id: Any) -> int:
        """The internal id of one external id; ``ValueError`` when it is not in the catalogue."""
        internal = self.ids.get(item_id)
        if internal == 0:
            raise ValueError(
                f"item {item_id!r} is not in the model's catalogue of {self.n_items} items; "
                f"pass an original item id such as {self.item_ids[0]!r}"
            )
        return internal

    def known_positions(
        self, history: Iterable, name: str = "history"
    ) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``history``, internal ids) of its known items, in order.

        Unknown ids are skipped with an ``UnknownItemsWarning`` listing them; ``name`` is
        the caller's parameter, named when one id comes where a list belongs.
        """
        values = as_id_list(history, name)
        internal = self.ids.to_internal(values, name)
        unknown = [item for item, index in zip(values, internal, strict=True) if index == 0]
        if unknown:
            listed = ", ".join(repr(item) for item in unknown[:MAX_LISTED_UNKNOWN])
            extra = len(unknown) - MAX_LISTED_UNKNOWN
            more = f" and {extra} more" if extra > 0 else ""
            warn_caller(
                f"skipped {len(unknown)} item id(s) not in the model's catalogue: "
                f"[{listed}]{more}; check the ids are original ids of this model's data",
                UnknownItemsWarning,
            )
        positions = np.flatnonzero(internal)
        return positions, internal[positions]

    def known(self, history: Iterable, name: str = "history") -> np.ndarray:
        """(n,) internal ids of the known items of ``history``, in order (warns of the rest)."""
        return self.known_positions(history, name)[1]

    # ------------------------------------------------------------ metadata

    def metadata(self, internal: np.ndarray) -> dict[str, np.ndarray]:
        """``title`` / ``genres`` columns for internal ids (only those the catalogue has)."""
        columns = {}
        if self.titles is not None:
            columns[Columns.TITLE] = self.titles[internal]
        if self.genres is not None:
            columns[Columns.GENRES] = self.genres[internal]
        return columns

    def names(self, internal: Iterable[int]) -> list[str]:
        """A readable name per internal id: its title when known, else its external id."""
        internal = np.asarray(list(internal), dtype=np.int64)
        external = self.to_external(internal)
        titles = self.titles[internal] if self.titles is not None else [None] * len(internal)
        return [str(t) if t is not None else str(e) for t, e in zip(titles, external, strict=True)]

    def genre_share(self, session: Iterable[int], listed: Iterable[int]) -> float:
        """Share of ``listed`` internal ids sharing a genre with the ``session``'s items
        (genres are ``|``-joined); NaN without genres or with an empty list."""
        listed = list(listed)
        if self.genres is None or not listed:
            return float("nan")

        def genres(internal: int) -> set[str]:
            value = self.genres[internal]
            return set(value.split("|")) if value else set()

        wanted = set().union(*(genres(int(i)) for i in session))
        return sum(bool(genres(int(i)) & wanted) for i in listed) / len(listed)

    def resolve(self, queries: Iterable[Any]) -> list[Any]:
        """External item ids for what a person typed: ids, exact titles, or parts of titles.

        Matching is: an item id of the catalogue; else a title equal up to case; else the
        only title containing the text. Ambiguous or unknown text raises ``ValueError``
        listing candidates.
        """
        titled = None
        if self.titles is not None:
            known = np.flatnonzero(pd.notna(self.titles[1:])) + 1
            titled = pd.DataFrame(
                {"item_id": self.to_external(known), "title": self.titles[known].astype(str)}
            )
        resolved = []
        for query in queries:
            if query in self.ids:
                resolved.append(query)
                continue
            if titled is None:
                raise ValueError(
                    f"{query!r} is not an item id of this catalogue (ids look like "
                    f"{self.item_ids[:3].tolist()}) and there are no titles to search"
                )
            resolved.append(_match_title(query, titled))
        return resolved

    def allowed(self, candidates: Iterable | Callable[[Any], bool] | None) -> np.ndarray | None:
        """(V,) bool: the internal ids a request may return (``None``: all of them).

        ``candidates`` is an allow-list of external ids (unknown ones ignored) or a
        predicate called once per external id. Refused when it allows no item at all.
        """
        if candidates is None:
            return None
        allowed = np.zeros(self.n_items + 1, dtype=bool)
        if callable(candidates):
            allowed[1:] = np.fromiter(map(candidates, self.item_ids.tolist()), bool, self.n_items)
        else:
            allowed[self.to_internal(candidates, "candidates")] = True
            allowed[0] = False  # unknown ids map to padding
        if not allowed.any():
            raise ValueError(
                "candidates allow no item of this catalogue; check the ids (they look like "
                f"{self.item_ids[:3].tolist()}) or the predicate"
            )
        return allowed

    def popular(
        self, excluded: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` most popular internal ids not in ``excluded`` and ``allowed`` (V,)
        when given (ties: lower id first), with their counts as float64."""
        if self.popularity is None:
            raise ValueError(
                "the history has no known item and this recommender has no popularity counts "
                "for a fallback (a training checkpoint stores none); pass popularity="
                "sequences.item_popularity(split.train, n_items) to from_training/load"
            )
        order = np.argsort(-self.popularity[1:], kind="stable") + 1
        if allowed is not None:
            order = order[allowed[order]]
        chosen = order[~np.isin(order, excluded)][:k]
        return chosen, self.popularity[chosen].astype(np.float64)


def _match_title(query: Any, titled: pd.DataFrame) -> Any:
    """The one item whose title equals (up to case) or contains ``query``."""
    text = str(query).strip().lower()
    lowered = titled["title"].str.lower()
    exact = titled[lowered == text]
    partial = titled[lowered.str.contains(text, regex=False)]
    match = exact if len(exact) else partial
    if len(match) == 1 or len(exact):
        return match["item_id"].iloc[0]
    if len(match) > 1:
        raise ValueError(
            f"{query!r} matches {len(match)} titles, e.g. {match['title'].head(5).tolist()}; "
            "type more of the title"
        )
    close = difflib.get_close_matches(str(query), titled["title"].tolist(), n=3)
    raise ValueError(f"no title matches {query!r}; close titles: {close}")


def _align_metadata(
    items: pd.DataFrame | None, item_ids: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(n_items + 1,)`` title and genres arrays by internal id (from ``item_id, title``)."""
    if items is None:
        return None, None
    missing = [column for column in ("item_id", "title") if column not in items.columns]
    if missing:
        raise ValueError(
            f"item metadata lacks column(s) {missing}; found {list(items.columns)}; "
            "pass a DataFrame with item_id, title (and optionally genres)"
        )
    unique = items.drop_duplicates("item_id").set_index("item_id")
    ids = pd.Index(item_ids)
    aligned = []
    for column in ("title", "genres"):
        if column not in unique.columns:
            aligned.append(None)
            continue
        values = unique[column].reindex(ids)
        strings = [None if pd.isna(value) else str(value) for value in values]
        aligned.append(np.array([None, *strings], dtype=object))
    return aligned[0], aligned[1]


def check_popularity(popularity: np.ndarray | None, n_items: int) -> np.ndarray | None:
    """Counts as ``(n_items + 1,)`` int64 with entry 0 = padding = 0."""
    if popularity is None:
        return None
    counts = np.asarray(popularity)
    if counts.shape == (n_items,):
        counts = np.concatenate([[0], counts])
    if counts.shape != (n_items + 1,) or (counts < 0).any():
        raise ValueError(
            f"popularity must be non-negative counts of shape ({n_items + 1},) (index 0 = "
            f"padding) or ({n_items},), got shape {counts.shape}"
        )
    counts = counts.astype(np.int64)
    counts[0] = 0
    return counts
