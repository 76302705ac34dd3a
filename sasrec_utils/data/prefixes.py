"""Training prefixes: every (user, end) of a history as its own example, predicting one item.

The classic SASRec batch (``batches.training_batches``) feeds one window per user and
trains every position on its next item. Its right-anchored positions then differ between
training and serving: inside a window of ``n`` items, position ``t`` predicts from the
position embedding ``max_len - n + t``, while a served query always ends at ``max_len - 1``.
BSARec, FMLP-Rec and the S3-Rec family build their training data the other way: each
prefix ``s[:e]`` of a history is one example whose last position predicts ``s[e]``, so
training and serving see the same positions. Examples are ``(user, end)`` index pairs,
never copies of the prefixes; a batch's rows are cut from the item array when it is built.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .bounds import batch_bounds
from .sequences import Sequences


def prefix_ends(seqs: Sequences, empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(P,) int64 absolute indices into ``seqs.items`` of every target, and (P,) prefix lengths.

    Row ``u`` of length ``n`` gives ``n - 1`` prefixes: ``s[:1] -> s[1]``, ..., ``s[:n-1] ->
    s[n-1]``; rows shorter than 2 give none. With ``empty=True`` each non-empty row also
    gives the empty prefix ``s[:0] -> s[0]`` (length 0), ``n`` prefixes in all.
    """
    skipped = 0 if empty else 1  # leading items that are never a target
    per_row = np.maximum(seqs.lengths - skipped, 0)
    first_target = np.repeat(seqs.offsets[:-1] + skipped, per_row)  # (P,)
    before = np.repeat(np.cumsum(per_row) - per_row, per_row)  # prefixes of earlier rows
    within = np.arange(int(per_row.sum()), dtype=np.int64) - before  # 0 .. n - 1 - skipped
    return first_target + within, within + skipped


def prefix_batches(
    seqs: Sequences,
    max_len: int,
    batch_size: int,
    rng: np.random.Generator,
    max_tokens: int = 0,
    empty: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(inputs, targets)``, both ``(B, L)`` int64, left-padded with 0.

    Row ``r`` is one prefix: inputs its last ``m = min(e, max_len)`` items, targets zero
    but for the last column, the item that followed. Prefixes of similar length share a
    batch (batch order shuffled), so ``L`` is the batch's longest prefix (at least 1: a
    batch of empty prefixes, ``empty=True``, is one padding column); ``batch_size`` and
    ``max_tokens`` bound a batch as in ``batches.training_batches``.
    """
    targets_at, lengths = prefix_ends(seqs, empty)
    order = rng.permutation(len(targets_at))
    sizes = np.minimum(lengths[order], max_len)
    by_size = np.argsort(sizes, kind="stable")
    order, sizes = order[by_size], sizes[by_size]
    bounds = batch_bounds(sizes, batch_size, max_tokens)
    for b in rng.permutation(len(bounds)):
        rows = slice(*bounds[b])
        ends, size = targets_at[order[rows]], sizes[rows]
        width = max(int(size.max()), 1)
        columns = np.arange(width)
        index = ends[:, None] - width + columns  # (B, L) item indices, left part invalid
        real = columns >= width - size[:, None]
        inputs = np.where(real, seqs.items[np.where(real, index, 0)], 0).astype(np.int64)
        targets = np.zeros_like(inputs)
        targets[:, -1] = seqs.items[ends]
        yield inputs, targets
