"""Training windows: one window per user, the next item as target at every position.

Each user contributes one window of at most ``max_len`` inputs per epoch, and every
position of it predicts its next item: no per-prefix copies. Users of similar length are
batched together, so a batch is padded only to its own longest window.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..config import SASRecConfig
from .bounds import batch_bounds
from .prefixes import prefix_batches
from .sequences import Sequences


def epoch_batches(
    cfg: SASRecConfig, train: Sequences, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(inputs, targets)`` (B, L) batches shaped by ``cfg``'s batch settings:
    one window per user (``train_examples="windows"``) or one example per prefix
    (``"prefixes"``, ``prefixes.prefix_batches``)."""
    if cfg.train_examples == "prefixes":
        return prefix_batches(
            train, cfg.max_len, cfg.batch_size, rng, cfg.batch_tokens, cfg.empty_prefix
        )
    return training_batches(
        train, cfg.max_len, cfg.batch_size, rng, cfg.window, max_tokens=cfg.batch_tokens
    )


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
    bounds = batch_bounds(windows, batch_size, max_tokens)
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
