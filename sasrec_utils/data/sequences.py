"""Compact per-user sequences built from events, and counts over them.

All sequences live in one ``int32`` array plus ``int64`` offsets (CSR layout), so memory
is O(events), never a Python list per user. Internal item ids are ``1..n_items``; ``0`` is
padding. ``splits`` cuts these sequences into training and held-out queries; ``batches``
turns training sequences into windows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .ids import IdMap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sequences:
    """Ragged int32 sequences: row ``u`` is ``items[offsets[u]:offsets[u + 1]]``."""

    items: np.ndarray  # (n_events,) int32 internal item ids
    offsets: np.ndarray  # (n_rows + 1,) int64

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, row: int) -> np.ndarray:
        return self.items[self.offsets[row] : self.offsets[row + 1]]

    @property
    def lengths(self) -> np.ndarray:
        """(n_rows,) int64 sequence lengths."""
        return np.diff(self.offsets)

    def select(self, rows: np.ndarray) -> Sequences:
        """The sequences of ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        take = ranges(self.offsets[rows], lengths)
        return Sequences(self.items[take], offsets_from_lengths(lengths))

    def drop_last(self, n: int) -> Sequences:
        """Every sequence without its last ``n`` items (rows shorter than ``n`` become empty)."""
        return self.keep_first(np.maximum(self.lengths - n, 0))

    def keep_first(self, lengths: np.ndarray) -> Sequences:
        """Every row cut to its first ``lengths[row]`` items (each at most the row's length)."""
        lengths = np.asarray(lengths, dtype=np.int64)
        take = ranges(self.offsets[:-1], lengths)
        return Sequences(self.items[take], offsets_from_lengths(lengths))

    def keep_last(self, n: int) -> Sequences:
        """Every row cut to its last ``n`` items (shorter rows stay whole)."""
        lengths = np.minimum(self.lengths, n)
        take = ranges(self.offsets[1:] - lengths, lengths)
        return Sequences(self.items[take], offsets_from_lengths(lengths))

    def last(self, n: int = 1) -> np.ndarray:
        """(n_rows,) the item ``n`` places from the end of each row (rows must be long enough)."""
        return self.items[self.offsets[1:] - n].astype(np.int64)

    def to_padded(self, max_len: int) -> np.ndarray:
        """(n_rows, L) int64 left-padded matrix of each row's last ``max_len`` items.

        L is the longest kept row (at most ``max_len``), at least 1.
        """
        kept = np.minimum(self.lengths, max_len)
        width = max(int(kept.max(initial=0)), 1)
        out = np.zeros((len(self), width), dtype=np.int64)
        rows = np.repeat(np.arange(len(self)), kept)
        cols = width - np.repeat(kept, kept) + ranges(np.zeros(len(self)), kept)
        out[rows, cols] = self.items[ranges(self.offsets[1:] - kept, kept)]
        return out


def offsets_from_lengths(lengths: np.ndarray) -> np.ndarray:
    """(n + 1,) int64 CSR offsets ``[0, l0, l0 + l1, ...]`` of (n,) row lengths."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + n)`` for each (s, n), vectorised."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    row_start = np.repeat(
        np.asarray(starts, dtype=np.int64) - np.cumsum(lengths) + lengths, lengths
    )
    return row_start + np.arange(total, dtype=np.int64)


@dataclass(frozen=True)
class SequenceData:
    """All users' chronological sequences plus the id mappings.

    ``user_ids[u]`` is the original id of row ``u``; ``item_ids[i - 1]`` is the original id
    of internal item ``i`` (``0`` is padding and has no original id).
    """

    sequences: Sequences
    user_ids: np.ndarray
    item_ids: np.ndarray
    dropped_users: int = 0

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    @property
    def lengths(self) -> np.ndarray:
        """(n_users,) int64 events per user."""
        return self.sequences.lengths

    @property
    def two_event_users(self) -> int:
        """Users with exactly 2 events: a leave-one-out split trains on them but cannot
        evaluate them (validation and test need an item each after some history)."""
        return int((self.lengths == 2).sum())

    @cached_property
    def item_map(self) -> IdMap:
        """The item ids as an ``IdMap`` (original ids <-> internal ids)."""
        return IdMap(self.item_ids)

    def to_original(self, internal: np.ndarray) -> np.ndarray:
        """Original item ids of internal ids (all must be ``>= 1``)."""
        return self.item_map.to_external(internal)


def build_sequences(
    events: pd.DataFrame, item_ids: np.ndarray | None = None, min_events: int = 2
) -> SequenceData:
    """Group ``user_id, item_id, timestamp`` events into chronological per-user sequences.

    Sorting is stable by (user, timestamp, row order), so equal timestamps keep file
    order. ``item_ids`` fixes the item universe and its order (e.g. a vocabulary); by
    default it is the sorted distinct items of ``events``. Rows follow the sorted user ids.
    Categorical id columns (``load_event_parquets`` returns them) are read through their
    codes, never one string per event, and keep their categories' order. Users with fewer than
    ``min_events`` events are dropped (a single event has no next item to learn from);
    how many is logged and kept in ``dropped_users``.
    """
    missing = [c for c in ("user_id", "item_id", "timestamp") if c not in events.columns]
    if missing:
        raise ValueError(f"events miss column(s) {missing}; found {list(events.columns)}")
    if events.empty:
        raise ValueError("events are empty: nothing to build sequences from")
    user_codes, user_ids = _codes(events["user_id"])
    if (user_codes < 0).any():
        raise ValueError(f"{int((user_codes < 0).sum())} events have no user_id")
    if item_ids is None:
        internal, item_ids = _codes(events["item_id"])
        internal = internal + 1
    else:
        item_ids = np.asarray(item_ids)
        internal = _positions(events["item_id"], item_ids) + 1
    if (internal <= 0).any():
        raise ValueError(f"{int((internal <= 0).sum())} events have item_ids outside item_ids")
    timestamps = events["timestamp"].to_numpy()
    order = np.lexsort((np.arange(len(events)), timestamps, user_codes))
    counts = np.bincount(user_codes, minlength=len(user_ids))
    keep_user = counts >= min_events
    dropped = int((~keep_user & (counts > 0)).sum())  # unused categories are not users
    if dropped:
        log.warning(
            "dropped %d users with fewer than %d events (nothing to predict)", dropped, min_events
        )
    two_events = int((counts[keep_user] == 2).sum())
    if two_events:
        log.warning(
            "%d users have exactly 2 events: a leave-one-out split trains on them but never "
            "evaluates them (it needs 3: training, validation and test items)",
            two_events,
        )
    sorted_users = user_codes[order]
    kept = keep_user[sorted_users]
    items = internal[order][kept].astype(np.int32)
    lengths = counts[keep_user].astype(np.int64)
    if len(lengths) == 0:
        raise ValueError(f"no user has {min_events} or more events")
    return SequenceData(
        Sequences(items, offsets_from_lengths(lengths)),
        np.asarray(user_ids)[keep_user],
        item_ids,
        dropped,
    )


def _codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(n,) int codes of ``ids`` (-1: missing) and the (k,) distinct ids they index.

    A categorical's own codes and categories; otherwise the sorted distinct values.
    """
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return ids.cat.codes.to_numpy(), ids.cat.categories.to_numpy()
    codes, uniques = pd.factorize(ids, sort=True)
    return codes, np.asarray(uniques)


def _positions(ids: pd.Series, universe: np.ndarray) -> np.ndarray:
    """(n,) position of each id in ``universe`` (-1: absent), looked up once per category."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        codes = ids.cat.codes.to_numpy()
        found = pd.Index(universe).get_indexer(ids.cat.categories)
        return np.where(codes >= 0, found[codes], -1)
    return pd.Index(universe).get_indexer(ids)


def item_popularity(seqs: Sequences, n_items: int) -> np.ndarray:
    """(n_items + 1,) int64 interaction counts per internal id (index 0 = padding = 0)."""
    counts = np.bincount(seqs.items, minlength=n_items + 1).astype(np.int64)
    counts[0] = 0
    return counts


def users_per_item(seqs: Sequences, n_items: int) -> np.ndarray:
    """(n_items + 1,) int64 number of distinct rows (users) containing each item."""
    rows = np.repeat(np.arange(len(seqs), dtype=np.int64), seqs.lengths)
    # sort, then keep first occurrences: numpy >= 2.3's hashing np.unique is far slower
    # on the 9M (row, item) pairs of a retail log (benchmarks/README.md, "Scale")
    pairs = np.sort(rows * (n_items + 1) + seqs.items)
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    return np.bincount(pairs[first] % (n_items + 1), minlength=n_items + 1).astype(np.int64)


def pair_counts(seqs: Sequences, n_items: int, window: int) -> sp.csr_matrix:
    """(V, V) float64 counts ``C[a, b]`` of b coming 1..``window`` events after a in a row.

    ``window=1``: the transitions a -> b of a first-order Markov chain. V = n_items + 1;
    row and column 0 (padding) stay empty.
    """
    rows = np.repeat(np.arange(len(seqs)), seqs.lengths)
    earlier, later = [], []
    for offset in range(1, window + 1):
        if offset >= len(rows):
            break
        first = np.flatnonzero(rows[:-offset] == rows[offset:])  # pairs within one row
        earlier.append(seqs.items[first].astype(np.int64))
        later.append(seqs.items[first + offset].astype(np.int64))
    vocab = n_items + 1
    if not earlier:
        return sp.csr_matrix((vocab, vocab))
    earlier_ids, later_ids = np.concatenate(earlier), np.concatenate(later)
    ones = np.ones(len(earlier_ids))
    return sp.csr_matrix((ones, (earlier_ids, later_ids)), shape=(vocab, vocab))
