"""Batch boundaries over examples sorted by length, bounded in rows and in cells."""

from __future__ import annotations

import numpy as np


def batch_bounds(windows: np.ndarray, batch_size: int, max_tokens: int) -> list[tuple[int, int]]:
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
