"""Figures for the notebooks: each function takes plain arrays or DataFrames and returns a
``matplotlib`` ``Figure`` (titled, labelled axes with units, modest dpi for small reports).

Figures are built with ``pyplot`` and closed before they are returned, so a notebook shows
each exactly once (as the cell's value) and scripts never pile up open figures. Save one
with ``fig.savefig(path)``; the dpi set here (``DPI``) keeps PNGs small.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .io import atomic_write

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


def _new(n_cols: int = 1, width: float = 7.5, height: float = 3.6) -> tuple[Figure, np.ndarray]:
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
    fig, (ax,) = _new(width=4.6, height=4.0)
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


def attention_figure(
    weights: np.ndarray,
    key_labels: Sequence[object],
    query_labels: Sequence[object] | None = None,
    title: str = "Attention weights",
) -> Figure:
    """Heatmap of ``weights`` (Lq, Lk): row = query position, column = key position.

    Labels (e.g. titles) are shortened to ``LABEL_CHARS`` characters.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[1] != len(key_labels):
        raise ValueError(
            f"weights must be (queries, keys) with one key label per column; got shape "
            f"{weights.shape} and {len(key_labels)} key labels"
        )
    query_labels = key_labels[-weights.shape[0] :] if query_labels is None else query_labels
    size = max(4.5, 0.32 * weights.shape[1] + 3.5)
    fig, (ax,) = _new(width=size + 1.5, height=size)
    image = ax.imshow(weights, cmap="viridis", vmin=0.0)
    ax.set_xticks(range(weights.shape[1]), [short_label(x) for x in key_labels], rotation=90)
    ax.set_yticks(range(weights.shape[0]), [short_label(x) for x in query_labels])
    ax.set_xlabel("key: history item attended to (older → newer)")
    ax.set_ylabel("query: position whose next item is predicted")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.04, label="attention weight (0–1)")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- data


def sequence_length_figure(lengths: np.ndarray, max_len: int | None = None) -> Figure:
    """Histogram of events per user on a log axis, with the model's ``max_len`` marked."""
    lengths = np.asarray(lengths)
    fig, (ax,) = _new()
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
    fig, (left, right) = _new(2, width=9.5)
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
    fig, (ax,) = _new()
    ax.bar(counts.index, counts.to_numpy(), width=6 if rule == "W" else 0.8, color="#1f77b4")
    ax.set_xlabel(unit)
    ax.set_ylabel(f"events per {unit}")
    ax.set_title(f"Events over time: {moments.min():%Y-%m-%d} to {moments.max():%Y-%m-%d}")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- training


def training_curves_figure(
    histories: pd.DataFrame | Mapping[int, pd.DataFrame],
    best_epochs: int | Mapping[int, int] | None = None,
) -> Figure:
    """Training loss and validation NDCG@10 per epoch, one line per seed.

    ``histories``: ``fit``'s history, or ``{seed: history}``; ``best_epochs`` the kept
    epoch (or ``{seed: epoch}``), marked with a dot on each validation curve.
    """
    if isinstance(histories, pd.DataFrame):
        histories, best_epochs = {0: histories}, {0: best_epochs}
    best_epochs = best_epochs or {}
    fig, (left, right) = _new(2, width=9.5)
    for seed, history in histories.items():
        label = f"seed {seed}" if len(histories) > 1 else None
        (line,) = left.plot(history["epoch"], history["train_loss"], linewidth=1.2, label=label)
        if "valid_ndcg@10" not in history:
            continue
        rows = history["valid_ndcg@10"].notna()
        epochs, values = history.loc[rows, "epoch"], history.loc[rows, "valid_ndcg@10"]
        right.plot(epochs, values, color=line.get_color(), linewidth=1.2, label=label)
        best = best_epochs.get(seed)
        if best in set(epochs):
            kept = values[epochs == best].iloc[0]
            right.plot([best], [kept], "o", color=line.get_color(), markersize=6)
            right.annotate(
                f"kept: epoch {best}",
                (best, kept),
                xytext=(4, 6),
                textcoords="offset points",
                fontsize=8,
                color=line.get_color(),
            )
    for ax in (left, right):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
    left.set_ylabel("training loss (nats per position)")
    left.set_title("Training loss")
    right.set_ylabel("validation NDCG@10 (0–1)")
    right.set_title("Validation NDCG@10, full ranking (dot: epoch kept)")
    if len(histories) > 1:
        left.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- evaluation


def comparison_figure(table: pd.DataFrame, metrics: Sequence[str] = ("ndcg@10", "hr@10")) -> Figure:
    """Horizontal bars per system for each metric, best at the top, with the sd over seeds.

    ``table`` is ``metrics.comparison_table``'s: rows are systems, an ``ndcg@10 sd`` column
    gives the NDCG@10 error bars (drawn for systems trained over several seeds).
    """
    order = table.sort_values(metrics[0]).index
    fig, axes = _new(len(metrics), width=4.6 * len(metrics), height=0.42 * len(order) + 1.6)
    for ax, metric in zip(axes, metrics, strict=True):
        values = table.loc[order, metric].astype(float)
        spread = table.loc[order, f"{metric} sd"] if f"{metric} sd" in table else None
        colors = [SYSTEM_COLORS.get(str(name).split(" ")[0], "#9aa5b1") for name in order]
        y = np.arange(len(order))
        ax.barh(y, values, color=colors, xerr=spread, capsize=3, error_kw={"linewidth": 1})
        for row, value in zip(y, values, strict=True):
            ax.text(value, row, f" {value:.4f}", va="center", fontsize=8)
        ax.set_yticks(y, [str(name) for name in order])
        ax.set_ylabel("system")
        ax.set_xlim(0, float(values.max()) * 1.3 or 1.0)
        ax.set_xlabel(f"test {metric.upper()} (0–1, higher is better)")
        ax.set_title(f"{metric.upper()}, full ranking over all items")
    fig.suptitle("Test set: SASRec against the baselines (bars: mean; lines: sd over seeds)")
    fig.tight_layout()
    return fig


def session_figure(table: pd.DataFrame, metric: str = "ndcg@10") -> Figure:
    """``metric`` against how many recent items are known, one line per system.

    ``table`` is ``evaluation.session_metrics``'s long format (``items_seen``, ``system``).
    """
    pivot = table.pivot(index="items_seen", columns="system", values=metric)
    pivot = pivot.loc[list(dict.fromkeys(table["items_seen"]))]
    fig, (ax,) = _new(width=7.0, height=3.8)
    x = np.arange(len(pivot))
    for system in dict.fromkeys(table["system"]):
        ax.plot(x, pivot[system], marker="o", label=system, color=SYSTEM_COLORS.get(system))
    ax.set_xticks(x, [f"last {v}" if v != "all" else "whole history" for v in pivot.index])
    ax.set_xlabel("items of the session the system may see")
    ax.set_ylabel(f"test {metric.upper()} (0–1)")
    ax.set_title(f"Short sessions: {metric.upper()} after the last n clicks")
    ax.set_ylim(0, float(np.nanmax(pivot.to_numpy())) * 1.2 or 1.0)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def bucket_figure(frame: pd.DataFrame, metric: str = "ndcg@10") -> Figure:
    """``metric`` per history-length bucket and system (from ``metrics_by_history_length``)."""
    pivot = frame.pivot(index="bucket", columns="system", values=metric)
    order = list(dict.fromkeys(frame["bucket"]))
    pivot = pivot.loc[order, list(dict.fromkeys(frame["system"]))]
    users = frame.drop_duplicates("bucket").set_index("bucket")["users"]
    fig, (ax,) = _new(width=8.0)
    width = 0.8 / pivot.shape[1]
    x = np.arange(len(pivot))
    for offset, system in enumerate(pivot.columns):
        ax.bar(
            x + offset * width,
            pivot[system],
            width,
            label=system,
            color=SYSTEM_COLORS.get(str(system)),
        )
    labels = [f"{bucket}\n({users[bucket]} users)" for bucket in pivot.index]
    ax.set_xticks(x + width * (pivot.shape[1] - 1) / 2, labels)
    ax.set_xlabel("history length before the test item (events)")
    ax.set_ylabel(f"test {metric.upper()} (0–1)")
    ax.set_title(f"{metric.upper()} by history length")
    ax.set_ylim(0, float(np.nanmax(pivot.to_numpy())) * 1.3 or 1.0)
    ax.legend(ncols=pivot.shape[1], loc="upper center")
    fig.tight_layout()
    return fig


def sampled_vs_full_figure(frame: pd.DataFrame, metric: str = "hr@10") -> Figure:
    """Per system: ``metric`` with full ranking next to the sampled (100 negatives) value.

    ``frame`` is indexed by system with columns ``metric`` and ``sampled_<metric>``.
    """
    sampled = f"sampled_{metric}"
    fig, (ax,) = _new(width=7.0)
    x = np.arange(len(frame))
    for offset, (column, label, color) in enumerate(
        (
            (metric, "full ranking (all items)", "#1f77b4"),
            (sampled, "sampled (target + 100 negatives)", "#ff7f0e"),
        )
    ):
        bars = ax.bar(x + offset * 0.4, frame[column], 0.4, label=label, color=color)
        ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=1)
    ax.set_xticks(x + 0.2, list(frame.index))
    ax.set_ylabel(f"test {metric.upper()} (0–1)")
    ax.set_xlabel("system")
    ax.set_title(f"{metric.upper()}: the same models, two protocols")
    ax.legend(loc="upper right")
    ax.set_ylim(0, 1.08)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- serving


def explanation_figure(frame: pd.DataFrame, title: str = "What drove the recommendation") -> Figure:
    """Two bar charts over history items: attention ``weight`` and ``score_drop``.

    ``frame`` is ``Recommender.explain``'s output (oldest item first); bars are labelled
    by ``title`` when present, else by ``item_id``.
    """
    names = frame["title"] if "title" in frame else frame["item_id"]
    labels = [short_label(name) for name in names]
    height = max(3.0, 0.3 * len(frame) + 1.5)
    fig, (left, right) = _new(2, width=10.0, height=height)
    y = np.arange(len(frame))
    left.barh(y, frame["weight"], color="#1f77b4")
    left.set_yticks(y, labels)
    left.invert_yaxis()
    left.set_xlabel("last-layer attention weight (sums to 1)")
    left.set_ylabel("history item (oldest at top)")
    left.set_title("Where the model looked")
    right.barh(y, frame["score_drop"], color="#2ca02c")
    right.axvline(0, color="black", linewidth=0.8)
    right.set_yticks(y, [])
    right.invert_yaxis()
    right.set_xlabel("score drop when this item is removed (logit)")
    right.set_ylabel("same items, same order")
    right.set_title("What it changed")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def latency_figure(milliseconds: np.ndarray) -> Figure:
    """Histogram of per-request latency with the median and 95th percentile marked."""
    values = np.asarray(milliseconds, dtype=float)
    fig, (ax,) = _new(width=7.0, height=3.4)
    ax.hist(values, bins=40, color="#1f77b4", edgecolor="white")
    for q, color in ((50, "#2ca02c"), (95, "#d62728")):
        value = np.percentile(values, q)
        ax.axvline(value, color=color, linestyle="--", label=f"p{q} = {value:.2f} ms")
    ax.set_xlabel("latency per request (ms)")
    ax.set_ylabel("requests")
    ax.set_title(f"Single-request latency on CPU ({len(values)} requests)")
    ax.legend()
    fig.tight_layout()
    return fig
