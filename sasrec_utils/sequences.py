"""Compact per-user sequences, leave-one-out / user splits, and training windows.

All sequences live in one ``int32`` array plus ``int64`` offsets (CSR layout), so memory
is O(events), never a Python list per user. Internal item ids are ``1..n_items``; ``0`` is
padding. Training uses one window of at most ``max_len`` inputs per user with the next
item as target at *every* position: no per-prefix copies.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

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

    @classmethod
    def from_lists(cls, rows: list[list[int]]) -> Sequences:
        """Build from Python lists (for tests and small demos)."""
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        items = np.array([i for r in rows for i in r], dtype=np.int32)
        return cls(items, offsets)

    def select(self, rows: np.ndarray) -> Sequences:
        """The sequences of ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        take = _ranges(self.offsets[rows], lengths)
        return Sequences(self.items[take], offsets)

    def drop_last(self, n: int) -> Sequences:
        """Every sequence without its last ``n`` items (rows shorter than ``n`` become empty)."""
        lengths = np.maximum(self.lengths - n, 0)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Sequences(self.items[_ranges(self.offsets[:-1], lengths)], offsets)

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
        cols = width - np.repeat(kept, kept) + _ranges(np.zeros(len(self)), kept)
        out[rows, cols] = self.items[_ranges(self.offsets[1:] - kept, kept)]
        return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
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

    def to_internal(self, item_ids: list | np.ndarray) -> np.ndarray:
        """Internal ids of original ``item_ids``; unknown ids map to ``0``."""
        return (
            pd.Index(self.item_ids).get_indexer(np.asarray(item_ids, dtype=self.item_ids.dtype)) + 1
        )

    def to_original(self, internal: np.ndarray) -> np.ndarray:
        """Original item ids of internal ids (all must be ``>= 1``)."""
        return self.item_ids[np.asarray(internal) - 1]


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
    sorted_users = user_codes[order]
    kept = keep_user[sorted_users]
    items = internal[order][kept].astype(np.int32)
    lengths = counts[keep_user].astype(np.int64)
    if len(lengths) == 0:
        raise ValueError(f"no user has {min_events} or more events")
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return SequenceData(
        Sequences(items, offsets), np.asarray(user_ids)[keep_user], item_ids, dropped
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


@dataclass(frozen=True)
class EvalSet:
    """Queries for evaluation: each row's history and the single held-out target.

    ``users`` are row indices into the ``SequenceData`` the split came from.
    """

    histories: Sequences
    targets: np.ndarray  # (n,) int64 internal ids
    users: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.targets)

    def head(self, n: int) -> EvalSet:
        """The first ``n`` queries (a quick estimate on a subset)."""
        rows = np.arange(min(n, len(self)))
        return EvalSet(self.histories.select(rows), self.targets[rows], self.users[rows])


@dataclass(frozen=True)
class Split:
    """Training sequences plus validation and test queries."""

    train: Sequences
    valid: EvalSet
    test: EvalSet
    n_items: int
    unevaluated_users: int = 0


def leave_one_out_split(data: SequenceData) -> Split:
    """Last item = test, second-to-last = validation, the rest = training.

    Validation queries see the training part; test queries see training + validation
    item. Users with fewer than 3 items cannot give both held-out items: they stay in
    training whole and are counted in ``unevaluated_users``.
    """
    seqs = data.sequences
    evaluable = seqs.lengths >= 3
    users = np.flatnonzero(evaluable)
    held_out = np.where(evaluable, 2, 0)
    lengths = seqs.lengths - held_out
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    train = Sequences(seqs.items[_ranges(seqs.offsets[:-1], lengths)], offsets)
    chosen = seqs.select(users)
    valid = EvalSet(chosen.drop_last(2), chosen.last(2), users)
    test = EvalSet(chosen.drop_last(1), chosen.last(1), users)
    return Split(train, valid, test, data.n_items, int((~evaluable).sum()))


def user_split(
    data: SequenceData, frac: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0
) -> Split:
    """Split *users* into train/validation/test groups.

    Training uses the training users' full sequences; a validation or test user's query
    is their sequence without the last item, which is the target.
    """
    if len(frac) != 3 or abs(sum(frac) - 1) > 1e-6 or min(frac) < 0:
        raise ValueError(f"frac must be three non-negative fractions summing to 1, got {frac}")
    order = np.random.default_rng(seed).permutation(data.n_users)
    n_train = round(frac[0] * data.n_users)
    n_valid = round(frac[1] * data.n_users)
    groups = np.split(order, [n_train, n_train + n_valid])
    seqs = data.sequences

    def queries(rows: np.ndarray) -> EvalSet:
        rows = np.sort(rows)
        chosen = seqs.select(rows)
        return EvalSet(chosen.drop_last(1), chosen.last(1), rows)

    return Split(
        seqs.select(np.sort(groups[0])), queries(groups[1]), queries(groups[2]), data.n_items
    )


def item_popularity(seqs: Sequences, n_items: int) -> np.ndarray:
    """(n_items + 1,) int64 interaction counts per internal id (index 0 = padding = 0)."""
    counts = np.bincount(seqs.items, minlength=n_items + 1).astype(np.int64)
    counts[0] = 0
    return counts


def users_per_item(seqs: Sequences, n_items: int) -> np.ndarray:
    """(n_items + 1,) int64 number of distinct rows (users) containing each item."""
    rows = np.repeat(np.arange(len(seqs), dtype=np.int64), seqs.lengths)
    # sort, then keep first occurrences: numpy >= 2.3's hashing np.unique is ~50x slower
    # on the 9M (row, item) pairs of a retail log
    pairs = np.sort(rows * (n_items + 1) + seqs.items)
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    return np.bincount(pairs[first] % (n_items + 1), minlength=n_items + 1).astype(np.int64)


def training_batches(
    seqs: Sequences,
    max_len: int,
    batch_size: int,
    rng: np.random.Generator,
    window: str = "recent",
    max_tokens: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(inputs, targets)``, both ``(B, L)`` int64, left-padded with 0.

    Each row is one user: inputs ``s[t-m : t-1]``, targets ``s[t-m+1 : t]`` (the next item
    at every position), with ``m = min(len - 1, max_len)``. ``window='recent'`` takes the
    last items; ``'random'`` a random window of long histories. Users of similar length
    are batched together (batch order shuffled), so ``L`` is the batch's longest window,
    not ``max_len``: far less padding to compute. A batch holds at most ``batch_size``
    users and, with ``max_tokens > 0``, at most ``max_tokens`` cells ``B * L`` (at least
    one user): batches of long histories get fewer users, which bounds a step's memory.
    """
    lengths = seqs.lengths
    rows = np.flatnonzero(lengths >= 2)
    order = rng.permutation(rows)
    windows = np.minimum(lengths[order] - 1, max_len)
    by_window = np.argsort(windows, kind="stable")
    order, windows = order[by_window], windows[by_window]
    bounds = _batch_bounds(windows, batch_size, max_tokens)
    for b in rng.permutation(len(bounds)):
        rows = slice(*bounds[b])
        batch, sizes = order[rows], windows[rows]
        ends = seqs.offsets[batch + 1]
        if window == "random":
            slack = lengths[batch] - 1 - sizes  # how far the window may move back
            ends = ends - (rng.random(len(batch)) * (slack + 1)).astype(np.int64)
        width = int(sizes.max())
        inputs = np.zeros((len(batch), width), dtype=np.int64)
        targets = np.zeros((len(batch), width), dtype=np.int64)
        for r, (end, size) in enumerate(zip(ends, sizes, strict=False)):
            inputs[r, width - size :] = seqs.items[end - size - 1 : end - 1]
            targets[r, width - size :] = seqs.items[end - size : end]
        yield inputs, targets


def _batch_bounds(windows: np.ndarray, batch_size: int, max_tokens: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive batches over ascending ``windows``.

    Each batch has at most ``batch_size`` rows and, with ``max_tokens > 0``, rows times its
    longest (last) window at most ``max_tokens``, but always at least one row.
    """
    bounds, start = [], 0
    while start < len(windows):
        stop = min(start + batch_size, len(windows))
        if max_tokens:
            cells = np.arange(1, stop - start + 1) * windows[start:stop]  # ascending
            stop = start + max(1, int(np.searchsorted(cells, max_tokens, side="right")))
        bounds.append((start, stop))
        start = stop
    return bounds
