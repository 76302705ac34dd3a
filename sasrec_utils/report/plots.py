"""Figures for the notebooks: each function takes plain arrays or DataFrames and returns a
``matplotlib`` ``Figure`` (titled, labelled axes with units, modest dpi for small reports).

This module holds the shared helpers and the theory and data figures; ``plots_results``
the training, evaluation and serving ones; ``plots_attention`` what attention looks at.

Figures are built with ``pyplot`` and closed before they are returned, so a notebook shows
each exactly once (as the cell's value) and scripts never pile up open figures. Save one
with ``fig.savefig(path)``; the dpi set here (``DPI``) keeps PNGs small.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..atomic import atomic_write

DPI = 90
LABEL_CHARS = 30
SYSTEM_COLORS = {
    "SASRec": "#1f77b4",
    "ensemble": "#17becf",
    "markov": "#2ca02c",
    "cooccurrence": "#9467bd",
    "ease": "#8c564b",
    "most-popular": "#ff7f0e",
    "random": "#7f7f7f",
}


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as a PNG at ``DPI`` atomically (a failed write keeps the old file)."""
    path = atomic_write(path, lambda stream: fig.savefig(stream, format="png", dpi=DPI))
    path.chmod(0o644)  # a figure for readers of the reports, not a private file
    return path


def new_figure(
    n_cols: int = 1, width: float = 7.5, height: float = 3.6
) -> tuple[Figure, np.ndarray]:
    """A figure of ``n_cols`` axes side by side, closed so it is shown once (its value)."""
    fig, axes = plt.subplots(1, n_cols, figsize=(width, height), dpi=DPI, squeeze=False)
    plt.close(fig)  # shown once, as the value returned to the notebook
    return fig, axes[0]


def short_label(text: object, limit: int = LABEL_CHARS) -> str:
    """``text`` as a string of at most ``limit`` characters (cut with an ellipsis)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- theory


def causal_mask_figure(length: int = 6) -> Figure:
    """The (L, L) causal mask: query ``i`` may attend to key ``j`` only when ``j <= i``."""
    mask = np.tril(np.ones((length, length), dtype=int))
    fig, (ax,) = new_figure(width=4.6, height=4.0)
    ax.imshow(mask, cmap="Greens", vmin=-0.3, vmax=1.3)
    for i in range(length):
        for j in range(length):
            ax.text(j, i, str(mask[i, j]), ha="center", va="center", fontsize=10)
    ticks = range(length)
    ax.set_xticks(ticks, [f"{j}" for j in ticks])
    ax.set_yticks(ticks, [f"{i}" for i in ticks])
    ax.set_xlabel("key position j (the item looked at)")
    ax.set_ylabel("query position i (predicting item i+1)")
    ax.set_title(f"Causal mask, L = {length}: 1 = allowed, 0 = blocked")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- data


def sequence_length_figure(lengths: np.ndarray, max_len: int | None = None) -> Figure:
    """Histogram of events per user on a log axis, with the model's ``max_len`` marked."""
    lengths = np.asarray(lengths)
    fig, (ax,) = new_figure()
    bins = np.unique(np.geomspace(max(lengths.min(), 1), lengths.max() + 1, 40).astype(int))
    ax.hist(lengths, bins=bins, color="#1f77b4", edgecolor="white")
    ax.set_xscale("log")
    ticks = [
        t
        for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000)
        if bins[0] <= t <= bins[-1]
    ]
    ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if max_len is not None:
        ax.axvline(max_len, color="#d62728", linestyle="--")
        longer = float((lengths > max_len).mean())
        ax.annotate(
            f"max_len = {max_len}\n({longer:.0%} of users are cut)",
            (max_len, ax.get_ylim()[1] * 0.9),
            xytext=(6, 0),
            textcoords="offset points",
            color="#d62728",
            va="top",
        )
    ax.set_xlabel("events per user (log scale)")
    ax.set_ylabel("users")
    ax.set_title(f"History length: median {np.median(lengths):.0f}, max {lengths.max()}")
    fig.tight_layout()
    return fig


def popularity_figure(counts: np.ndarray) -> Figure:
    """Long tail: events per item by popularity rank (log–log) and the cumulative share.

    ``counts`` holds one interaction count per item (padding excluded).
    """
    counts = np.sort(np.asarray(counts, dtype=float))[::-1]
    counts = counts[counts > 0]
    ranks = np.arange(1, len(counts) + 1)
    share_items = ranks / len(counts)
    share_events = np.cumsum(counts) / counts.sum()
    fig, (left, right) = new_figure(2, width=9.5)
    left.loglog(ranks, counts, color="#1f77b4")
    left.set_xlabel("item popularity rank (log scale)")
    left.set_ylabel("events per item (log scale)")
    left.set_title("Events per item, most popular first")
    right.plot(share_items * 100, share_events * 100, color="#1f77b4")
    right.plot([0, 100], [0, 100], color="#7f7f7f", linestyle=":", label="equal popularity")
    top = max(1, round(0.1 * len(counts)))
    right.scatter([10], [share_events[top - 1] * 100], color="#d62728", zorder=3)
    right.annotate(
        f"top 10% of items = {share_events[top - 1]:.0%} of events",
        (10, share_events[top - 1] * 100),
        xytext=(12, -18),
        textcoords="offset points",
        color="#d62728",
    )
    right.set_xlabel("most popular items (% of catalogue)")
    right.set_ylabel("events covered (%)")
    right.set_title("Cumulative share of events")
    right.legend(loc="lower right")
    fig.tight_layout()
    return fig


def to_datetime(timestamps: np.ndarray) -> pd.DatetimeIndex:
    """Numeric timestamps as datetimes, guessing the unit from their size (s, ms, us, ns)."""
    values = np.asarray(timestamps)
    if np.issubdtype(values.dtype, np.datetime64):
        return pd.DatetimeIndex(values)
    magnitude = float(np.nanmedian(np.abs(values))) if len(values) else 0.0
    unit = (
        "s"
        if magnitude < 1e11
        else "ms"
        if magnitude < 1e14
        else "us"
        if magnitude < 1e17
        else "ns"
    )
    return pd.DatetimeIndex(pd.to_datetime(values, unit=unit))


def events_over_time_figure(timestamps: np.ndarray) -> Figure:
    """Events per week (or per day for logs shorter than ten weeks)."""
    moments = to_datetime(timestamps)
    span_days = (moments.max() - moments.min()).days
    rule, unit = ("W", "week") if span_days > 70 else ("D", "day")
    counts = pd.Series(1, index=moments).resample(rule).sum()
    fig, (ax,) = new_figure()
    ax.bar(counts.index, counts.to_numpy(), width=6 if rule == "W" else 0.8, color="#1f77b4")
    ax.set_xlabel(unit)
    ax.set_ylabel(f"events per {unit}")
    ax.set_title(f"Events over time: {moments.min():%Y-%m-%d} to {moments.max():%Y-%m-%d}")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
