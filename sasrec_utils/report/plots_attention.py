"""Figures of attention and of the model itself (``plots`` conventions; seaborn heatmaps)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import PowerNorm
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..config import SASRecConfig
from .plots import DPI, new_figure, short_label

OLDER = "older items"


def attention_figure(
    weights: np.ndarray,
    key_labels: Sequence[object],
    query_labels: Sequence[object] | None = None,
    title: str = "Attention weights",
    vmax: float | None = None,
) -> Figure:
    """Heatmap of ``weights`` (Lq, Lk): row = query position, column = key position.

    Labels (e.g. titles) are shortened to ``LABEL_CHARS`` characters; ``vmax`` fixes the
    top of the colour scale (to compare several maps), else the largest weight.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[1] != len(key_labels):
        raise ValueError(
            f"weights must be (queries, keys) with one key label per column; got shape "
            f"{weights.shape} and {len(key_labels)} key labels"
        )
    query_labels = key_labels[-weights.shape[0] :] if query_labels is None else query_labels
    size = max(4.5, 0.32 * weights.shape[1] + 3.5)
    fig, (ax,) = new_figure(width=size + 1.5, height=size)
    _heatmap(ax, weights, key_labels, query_labels, vmax or float(weights.max()), colorbar=True)
    ax.set_title(title)
    fig.tight_layout()
    return fig


# tick labels of the attention maps, in points: readable when a two-panel grid is shown at
# a report's width (about 14 inches at ``DPI``, so 9 points are about 11 pixels)
TICK_POINTS = 9
CELL_INCHES = 0.28  # one item's square in a grid panel
LABEL_INCHES = 2.4  # room for a shortened title beside (and below) the squares


def _heatmap(ax, weights, key_labels, query_labels, vmax, colorbar: bool) -> None:
    """One map; keys a query may not see (the future) are blank, the scale square-root."""
    rows, cols = weights.shape
    offset = cols - rows  # query r is the key at column r + offset
    future = np.arange(cols)[None, :] > np.arange(rows)[:, None] + offset
    sns.heatmap(
        np.where(future, np.nan, weights),
        ax=ax,
        norm=PowerNorm(0.5, vmin=0.0, vmax=vmax),
        cmap="viridis",
        cbar=colorbar,
        cbar_kws={"label": "attention weight (square-root scale)"} if colorbar else None,
        xticklabels=[short_label(x) for x in key_labels],
        yticklabels=[short_label(x) for x in query_labels],
        square=True,
        linewidths=0.2,
        linecolor="#222",
    )
    ax.set_facecolor("#f2f2f2")  # the blank future
    ax.tick_params(axis="x", labelrotation=90, labelsize=TICK_POINTS)
    ax.tick_params(axis="y", labelrotation=0, labelsize=TICK_POINTS)
    ax.set_xlabel("key: item attended to (older → newer)")
    ax.set_ylabel("query: position predicting next")


def attention_grid_figure(
    panels: Sequence[tuple[np.ndarray, Sequence[object], str]], columns: int = 2
) -> Figure:
    """Several (W, W + 1) window maps (``attention.window_weights``) on one colour scale.

    Each panel is ``(weights, window_labels, title)``: the W labels of the window's items;
    the first column is the weight on all older items, so every row sums to 1. Panels of
    one row that show the same items share the left panel's item names; axis labels sit
    on the outer panels only, and the layout keeps titles clear of the tick labels.
    """
    vmax = max(float(np.max(weights)) for weights, _, _ in panels)
    rows = int(np.ceil(len(panels) / columns))
    squares = (max(len(labels) for _, labels, _ in panels) + 1) * CELL_INCHES
    width = squares + LABEL_INCHES
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(width * columns + 1.0, (width + 0.9) * rows + 0.5),
        dpi=DPI,
        squeeze=False,
        layout="constrained",
    )
    plt.close(fig)
    for index, (ax, (weights, labels, title)) in enumerate(zip(axes.flat, panels, strict=False)):
        row, column = divmod(index, columns)
        _heatmap(ax, weights, [OLDER, *labels], labels, vmax, colorbar=False)
        ax.set_title(textwrap.fill(title, 52), fontsize=TICK_POINTS + 0.5)
        if column > 0:
            left = panels[row * columns][1]
            ax.set_ylabel("")
            if list(left) == list(labels):
                ax.set_yticklabels([])
        if row < rows - 1 and index + columns < len(panels):
            ax.set_xlabel("")
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    mappable = plt.cm.ScalarMappable(cmap="viridis", norm=PowerNorm(0.5, vmin=0.0, vmax=vmax))
    fig.colorbar(mappable, ax=axes, fraction=0.03, label="attention weight (one square-root scale)")
    fig.suptitle(
        "Last layer's attention (mean over heads). Each row sums to 1: the first column is "
        "the weight on all older items; grey: the future, never seen",
        fontsize=9.5,
    )
    return fig


def attention_distance_figure(frame: pd.DataFrame) -> Figure:
    """Mean attention of the recommending position on the item ``d`` steps back, against
    what equal attention would give (``attention.weight_by_distance``'s table)."""
    fig, (ax,) = new_figure(width=7.5, height=3.8)
    ax.plot(
        frame["distance"], frame["mean_weight"], marker="o", markersize=3, label="trained model"
    )
    ax.plot(
        frame["distance"],
        frame["uniform"],
        linestyle="--",
        color="#7f7f7f",
        label="equal attention to every item (1 / length)",
    )
    ax.set_yscale("log")
    ax.set_xlabel("distance from the most recent item (0 = the most recent)")
    ax.set_ylabel("mean attention weight (log scale)")
    ax.set_title(f"Recency: where the last position looks, over {frame['users'].max():,} users")
    ax.legend()
    fig.tight_layout()
    return fig


def model_diagram_figure(cfg: SASRecConfig) -> Figure:
    """A block diagram of SASRec with ``cfg``'s sizes: embeddings, blocks, tied scores.

    Shapes are symbolic (B, L, D, V) with their sizes named once in the title; the frame
    marked ``n_layers ×`` holds both sub-layers of a block, which repeat together.
    """
    fig, (ax,) = new_figure(width=7.8, height=5.6)
    boxes = _diagram_rows(cfg)
    block_rows = (2, 3)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, len(boxes) * 1.2)
    tops = [(len(boxes) - 1 - row) * 1.2 + 0.15 for row in range(len(boxes))]
    low, high = tops[block_rows[1]] - 0.12, tops[block_rows[0]] + 0.92
    _block_frame(ax, low, high, cfg.n_layers)
    for row, (text, shape, colour) in enumerate(boxes):
        y = tops[row]
        left = 1.0 if row in block_rows else 0.3
        ax.add_patch(
            FancyBboxPatch(
                (left, y),
                7.5 - left,
                0.8,
                boxstyle="round,pad=0.05",
                facecolor=colour,
                edgecolor="#333",
            )
        )
        ax.text(left + 0.2, y + 0.4, text, va="center", fontsize=8.5)
        ax.text(9.8, y + 0.4, shape, va="center", ha="right", fontsize=8.5, family="monospace")
        if row:
            ax.add_patch(
                FancyArrowPatch(
                    (4.2, y + 1.35),
                    (4.2, y + 0.85),
                    arrowstyle="-|>",
                    mutation_scale=10,
                    color="#333",
                )
            )
    ax.text(9.8, len(boxes) * 1.2 - 0.05, "shape", ha="right", va="top", fontsize=8, color="#555")
    ax.axis("off")
    ax.set_title(
        "SASRec, top to bottom: a causal Transformer over the history\n"
        f"B sequences, L ≤ {cfg.max_len} positions, D = {cfg.hidden_dim}, "
        "V = number of items + 1",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def _diagram_rows(cfg: SASRecConfig) -> list[tuple[str, str, str]]:
    """The diagram's boxes, top to bottom: (text, symbolic shape, colour)."""
    return [
        ("item ids s₁ … s_L (left-padded, 0 = padding)", "(B, L)", "#e8eef7"),
        ("√D · item embedding E[s] + position embedding P", "(B, L, D)", "#d6e4f5"),
        (
            f"x + causal self-attention(LN x), {cfg.n_heads} heads of D/{cfg.n_heads}",
            "(B, L, D)",
            "#c7dcef",
        ),
        (
            f"x + feed-forward(LN x): {cfg.ffn_activation.upper()}, dropout {cfg.dropout:g}",
            "(B, L, D)",
            "#c7dcef",
        ),
        ("final LayerNorm: one vector hₜ per position", "(B, L, D)", "#b8d3ea"),
        ("scores hₜ · Eᵢ for every item i (the same table E: tied)", "(B, L, V)", "#f7e3c7"),
    ]


def _block_frame(ax, low: float, high: float, n_layers: int) -> None:
    """A dashed frame from ``low`` to ``high`` around a block's sub-layers, marked ``n ×``."""
    ax.add_patch(  # the repeated block: both sub-layers inside one frame
        FancyBboxPatch(
            (0.15, low),
            7.55,
            high - low,
            boxstyle="round,pad=0.05",
            facecolor="none",
            edgecolor="#1f4e79",
            linewidth=1.6,
            linestyle="--",
        )
    )
    ax.text(
        0.55,
        (low + high) / 2,
        f"{n_layers} ×",
        va="center",
        ha="center",
        fontsize=11,
        fontweight="bold",
        color="#1f4e79",
    )
