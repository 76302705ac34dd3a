"""What a request may hold and what an answer looks like: argument checks, refusal of
broken scores, and the result tables (``item_id, score, rank`` + metadata, ``source``).

Internal ids are ``1..n_items`` (``0`` is padding); tables hold external ids, through the
``Catalogue``. Column names are ``columns.Columns``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from .catalogue import Catalogue
from .columns import Columns

Ranked = tuple[np.ndarray, np.ndarray, str]  # (internal ids, scores, source) of one query


def check_positive(name: str, value: Any) -> None:
    """``ValueError`` unless ``value`` is an integer >= 1."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def check_finite_scores(scores: torch.Tensor, what: str) -> None:
    """``RuntimeError`` naming ``what`` when ``scores`` (any shape) hold NaN or inf.

    A NaN compares false with everything, so its ranking would be arbitrary (``topk`` even
    puts NaN first): a broken model is refused rather than served. One sum checks finite
    scores (a NaN or inf makes it non-finite); the exact count runs only when it is not.
    """
    if bool(torch.isfinite(scores.sum())):
        return
    bad = int((~torch.isfinite(scores)).sum())
    if bad:
        raise RuntimeError(
            f"{what}: {bad} of {scores.numel()} scores are NaN or inf, so nothing can be "
            "ranked: the model's weights are damaged or its training diverged. Load a "
            "checkpoint saved before that (fit never saves a diverged model), or retrain "
            "with a lower lr"
        )


def ranked_frame(
    catalogue: Catalogue,
    internal: np.ndarray,
    scores: np.ndarray,
    source: str | np.ndarray | None = None,
    ranks: np.ndarray | None = None,
) -> pd.DataFrame:
    """``item_id, score, rank`` (+ metadata) and ``source`` for ranked internal ids.

    ``ranks`` defaults to ``1..n`` (one ranked list); ``source`` is one value or one per row.
    """
    columns = {
        Columns.ITEM: catalogue.to_external(internal),
        Columns.SCORE: np.asarray(scores, dtype=np.float64),
        Columns.RANK: np.arange(1, len(internal) + 1) if ranks is None else ranks,
        **catalogue.metadata(internal),
    }
    if source is not None:
        columns[Columns.SOURCE] = source
    return pd.DataFrame(columns)


def batch_frame(catalogue: Catalogue, keys: list[Any], ranked: list[Ranked]) -> pd.DataFrame:
    """One table of every query's ranked rows, the query's key first (``query``).

    One DataFrame for the whole batch: building one per query costs more than the model.
    """
    lengths = np.array([len(items) for items, _, _ in ranked], dtype=np.int64)
    frame = ranked_frame(
        catalogue,
        np.concatenate([np.zeros(0, dtype=np.int64), *(items for items, _, _ in ranked)]),
        np.concatenate([np.zeros(0), *(scores for _, scores, _ in ranked)]),
        np.repeat(np.array([source for _, _, source in ranked], dtype=str), lengths),
        np.concatenate([np.zeros(0, dtype=np.int64), *(np.arange(1, n + 1) for n in lengths)]),
    )
    frame.insert(0, Columns.QUERY, pd.Series(keys).repeat(lengths).to_numpy())
    return frame


def with_probability(ranked: pd.DataFrame) -> pd.DataFrame:
    """``ranked`` plus ``probability``: a softmax of ``score`` over all its rows.

    Given every candidate item (``recommend(history, k=n_items)``), this is the model's
    next-item distribution, which full cross-entropy training fits directly.
    """
    scores = ranked[Columns.SCORE].to_numpy(dtype=np.float64)
    weights = np.exp(scores - scores.max())
    out = ranked.copy()
    out[Columns.PROBABILITY] = weights / weights.sum()
    return out


def shares(frame: pd.DataFrame) -> np.ndarray:
    """(n,) each row's share among the rows of one answer (sums to 1; empty for none).

    The model's rows: a softmax of their scores; the popularity fallback's: each item's
    share of the listed interaction counts (equal shares when all counts are 0).
    """
    scores = frame[Columns.SCORE].to_numpy(dtype=np.float64)
    if frame.empty:
        return scores
    if frame[Columns.SOURCE].iloc[0] == "model":
        shifted = np.exp(scores - scores.max())
        return shifted / shifted.sum()
    total = scores.sum()
    return scores / total if total > 0 else np.full(len(scores), 1 / len(scores))
