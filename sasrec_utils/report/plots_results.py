"""Figures of results: training curves, the comparison of systems, sessions, history
lengths, sampled against full ranking, explanations and latency (``plots`` conventions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..evaluation.metrics import BootstrapPair
from ..training.early_stopping import VALID_COLUMN, VALID_LABEL
from .plots import SYSTEM_COLORS, new_figure, short_label

# ---------------------------------------------------------------- training


def training_curves_figure(
    histories: pd.DataFrame | Mapping[int, pd.DataFrame],
    best_epochs: int | Mapping[int, int] | None = None,
) -> Figure:
    """Training loss and the validation metric (``VALID_LABEL``) per epoch, one line per seed.

    ``histories``: ``fit``'s history, or ``{seed: history}``; ``best_epochs`` the kept
    epoch (or ``{seed: epoch}``), marked with a dot on each validation curve and named in
    the panel's lower right corner, one line per seed.
    """
    if isinstance(histories, pd.DataFrame):
        histories, best_epochs = {0: histories}, {0: best_epochs}
    best_epochs = best_epochs or {}
    fig, (left, right) = new_figure(2, width=9.5)
    for index, (seed, history) in enumerate(histories.items()):
        label = f"seed {seed}" if len(histories) > 1 else None
        (line,) = left.plot(history["epoch"], history["train_loss"], linewidth=1.2, label=label)
        if VALID_COLUMN not in history:
            continue
        rows = history[VALID_COLUMN].notna()
        epochs, values = history.loc[rows, "epoch"], history.loc[rows, VALID_COLUMN]
        right.plot(epochs, values, color=line.get_color(), linewidth=1.2, label=label)
        best = best_epochs.get(seed)
        if best in set(epochs):
            kept = values[epochs == best].iloc[0]
            right.plot([best], [kept], "o", color=line.get_color(), markersize=6)
            right.text(  # one line per seed in the lower right corner: labels never overlap
                0.98,
                0.04 + 0.07 * index,
                f"kept: epoch {best}" + (f" (seed {seed})" if len(histories) > 1 else ""),
                transform=right.transAxes,
                ha="right",
                fontsize=8,
                color=line.get_color(),
            )
    for ax in (left, right):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
    left.set_ylabel("training loss (nats per position)")
    left.set_title("Training loss")
    right.set_ylabel(f"validation {VALID_LABEL} (0–1)")
    right.set_title(f"Validation {VALID_LABEL}, full ranking (dot: epoch kept)")
    if len(histories) > 1:
        left.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- evaluation


def comparison_figure(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("ndcg@10", "hr@10"),
    pairs: Sequence[BootstrapPair] = (),
) -> Figure:
    """Horizontal bars per system for each metric, best at the top; then, with ``pairs``,
    each pair's difference of mean NDCG@10 with its paired bootstrap 95% interval.

    ``table`` is ``metrics.comparison_table``'s (rows are systems; SASRec's row is the mean
    over its seeds). The seeds' sd is not drawn: whether a gap is real is the bootstrap's
    question, over the same test users, and its interval is the last panel.
    """
    order = table.sort_values(metrics[0]).index
    panels = len(metrics) + bool(pairs)
    fig, axes = new_figure(panels, width=4.3 * panels, height=0.42 * len(order) + 1.8)
    for ax, metric in zip(axes, metrics, strict=False):
        values = table.loc[order, metric].astype(float)
        colors = [SYSTEM_COLORS.get(str(name).split(" ")[0], "#9aa5b1") for name in order]
        y = np.arange(len(order))
        ax.barh(y, values, color=colors)
        for row, value in zip(y, values, strict=True):
            ax.text(value, row, f" {value:.4f}", va="center", fontsize=8)
        ax.set_yticks(y, [str(name) for name in order])
        ax.set_ylabel("system")
        ax.set_xlim(0, float(values.max()) * 1.3 or 1.0)
        ax.set_xlabel(f"test {metric.upper()} (0–1, higher is better)")
        ax.set_title(f"{metric.upper()}, full ranking over all items")
    if pairs:
        _difference_panel(axes[-1], pairs)
    title = "Test set: SASRec (mean over seeds) against the baselines"
    fig.suptitle(title + ("; right: is the gap real?" if pairs else ""))
    fig.tight_layout()
    return fig


def _difference_panel(ax, pairs: Sequence[BootstrapPair]) -> None:
    """Each pair's NDCG@10 difference as a dot with its 95% interval, zero marked."""
    y = np.arange(len(pairs))[::-1]
    for row, pair in zip(y, pairs, strict=True):
        low, high = pair.difference - pair.difference_low, pair.difference_high - pair.difference
        color = (
            "#2ca02c"
            if pair.difference_low > 0
            else "#d62728"
            if pair.difference_high < 0
            else "#555555"
        )
        ax.errorbar(pair.difference, row, xerr=[[low], [high]], fmt="o", color=color, capsize=4)
        ax.annotate(  # centred in the panel above its row: never over the tick labels
            f"{pair.difference:+.4f} [{pair.difference_low:+.4f}, {pair.difference_high:+.4f}]",
            (0.5, row),
            xycoords=("axes fraction", "data"),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(y, [f"{pair.system}\n− {pair.baseline}" for pair in pairs])
    ax.margins(x=0.25)
    ax.set_ylim(-0.7, len(pairs) - 0.3)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    ax.set_xlabel("NDCG@10 difference (95% interval)")
    ax.set_ylabel("system − baseline")
    ax.set_title("Difference over the same users")


def session_figure(table: pd.DataFrame, metric: str = "ndcg@10") -> Figure:
    """``metric`` against how many recent items are known, one line per system.

    ``table`` is ``evaluation.session_metrics``'s long format (``items_seen``, ``system``).
    The last-n points are joined by a line; the whole history (``"all"``) stands apart,
    past a dotted line, because it also removes the whole history from the ranking, where
    a last-n point removes only the n items seen. The legend sits outside the axes, so it
    hides no point.
    """
    pivot = table.pivot(index="items_seen", columns="system", values=metric)
    pivot = pivot.loc[list(dict.fromkeys(table["items_seen"]))]
    recent = [seen for seen in pivot.index if seen != "all"]
    fig, (ax,) = new_figure(width=8.2, height=3.8)
    x = np.arange(len(recent))
    systems = list(dict.fromkeys(table["system"]))
    for index, system in enumerate(systems):
        color = SYSTEM_COLORS.get(system)
        (line,) = ax.plot(x, pivot.loc[recent, system], marker="o", label=system, color=color)
        if "all" in pivot.index:  # side by side, so that close values do not hide each other
            spread = 0.12 * (index - (len(systems) - 1) / 2)
            ax.plot(
                [len(recent) + 0.5 + spread],
                [pivot.loc["all", system]],
                marker="s",
                color=line.get_color(),
            )
    labels = [f"last {seen}" for seen in recent]
    if "all" in pivot.index:
        ax.axvline(len(recent) - 0.25, color="#888888", linestyle=":", linewidth=1)
        ax.set_xticks([*x, len(recent) + 0.5], [*labels, "whole history\n(all of it masked)"])
    else:
        ax.set_xticks(x, labels)
    ax.set_xlabel("items of the session the system may see (and that are masked)")
    ax.set_ylabel(f"test {metric.upper()} (0–1)")
    ax.set_title(f"Short sessions: {metric.upper()} after the last n clicks")
    ax.set_ylim(0, float(np.nanmax(pivot.to_numpy())) * 1.15 or 1.0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="system")
    fig.tight_layout()
    return fig


def bucket_figure(frame: pd.DataFrame, metric: str = "ndcg@10") -> Figure:
    """``metric`` per history-length bucket and system (from ``metrics_by_history_length``)."""
    pivot = frame.pivot(index="bucket", columns="system", values=metric)
    order = list(dict.fromkeys(frame["bucket"]))
    pivot = pivot.loc[order, list(dict.fromkeys(frame["system"]))]
    users = frame.drop_duplicates("bucket").set_index("bucket")["users"]
    fig, (ax,) = new_figure(width=8.0)
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
    fig, (ax,) = new_figure(width=7.0)
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
    fig, (left, right) = new_figure(2, width=10.0, height=height)
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
    fig, (ax,) = new_figure(width=7.0, height=3.4)
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


def coherence_figure(frame: pd.DataFrame, medium: float, high: float) -> Figure:
    """Distributions of session coherence by kind of session: raw score and lift.

    ``frame`` has ``sessions`` (the kind, e.g. "real last 10"), ``score`` and ``lift``
    (``coherence.SessionQuality``); the lift panel marks the two thresholds.
    """
    fig, (left, right) = new_figure(2, width=10.0, height=3.8)
    for ax, column in ((left, "score"), (right, "lift")):
        sns.histplot(
            frame,
            x=column,
            hue="sessions",
            ax=ax,
            stat="density",
            common_norm=False,
            element="step",
            fill=False,
            bins=30,
        )
        ax.set_ylabel("density of sessions")
    left.set_xlabel("raw coherence: mean pairwise cosine")
    left.set_title("Raw score: also high for popular items")
    right.set_xlabel("lift over popularity-matched random sessions")
    right.set_title("Lift: what the relation adds")
    for value, name in ((medium, "MEDIUM"), (high, "HIGH")):
        right.axvline(value, color="#d62728", linestyle="--", linewidth=1)
        right.annotate(
            name,
            (value, right.get_ylim()[1] * 0.95),
            xytext=(3, 0),
            textcoords="offset points",
            color="#d62728",
            fontsize=8,
            va="top",
        )
    fig.tight_layout()
    return fig
