"""What a trained model says about a session: coherence, and what drove a recommendation.

Both take a ``Recommender`` and a history of external item ids, like its methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from .columns import Columns
from .recommend import Recommender, check_finite_scores

HIGH_COHERENCE = 0.4
MEDIUM_COHERENCE = 0.2


@dataclass(frozen=True)
class SessionQuality:
    """How coherent a session is: mean pairwise cosine of its items' embeddings.

    ``label`` is ``HIGH`` (score > 0.4), ``MEDIUM`` (> 0.2) or ``LOW``; ``n_items`` is the
    number of distinct known items the score was computed from.
    """

    score: float
    label: str
    n_items: int


def session_quality(recommender: Recommender, history: Iterable) -> SessionQuality:
    """Coherence of a session: mean cosine over all pairs of its distinct known items.

    Uses the model's item table (the input embeddings, tied to the output layer).
    Repeats count once (an item is always similar to itself). For 0 or 1 known items
    there is no pair, so no evidence of a shared theme: the score is ``0.0`` and the
    label ``LOW``. We chose a number over NaN so dashboards and thresholds keep working,
    and ``LOW`` so that code acting on ``HIGH``/``MEDIUM`` sessions never acts on a
    one-click session; ``n_items`` tells "no evidence" (< 2) apart from "incoherent".
    """
    known = np.unique(recommender.catalogue.known(history))
    if len(known) < 2:
        return SessionQuality(0.0, "LOW", len(known))
    with torch.no_grad():
        unit = recommender.unit_items()
        vectors = unit[torch.from_numpy(known).to(recommender.device)]  # (n, D)
        total = vectors.sum(dim=0)
        # sum over pairs i < j of u_i . u_j = (|sum u|^2 - sum |u_i|^2) / 2: O(n D)
        pair_sum = (total @ total - (vectors * vectors).sum()) / 2
        check_finite_scores(pair_sum, "session_quality")
    n = len(known)
    score = float(pair_sum) / (n * (n - 1) / 2)
    label = "HIGH" if score > HIGH_COHERENCE else "MEDIUM" if score > MEDIUM_COHERENCE else "LOW"
    return SessionQuality(score, label, n)


def explain(recommender: Recommender, history: Iterable, item_id: Any) -> pd.DataFrame:
    """How much each history item fed the user vector that scores ``item_id``.

    Columns: ``position`` (index in ``history``), ``item_id``, ``title``/``genres`` when
    known, ``weight`` and ``score_drop``; ``attrs['score']`` is ``item_id``'s score.
    Rows are the known items the model saw (the last ``max_len``), oldest first.

    ``weight`` is the last layer's attention from the last position to each item,
    averaged over heads; it sums to 1. It shows where the final attention step looked,
    and nothing more: it is the same for every candidate ``item_id`` (it does not say
    why *this* item), earlier layers have already mixed the items together, and the
    value vectors, residual path and feed-forward layer also shape the output, so a
    large weight is not a large effect. Attention is not a causal attribution.

    ``score_drop`` is a gradient-free, item-specific check: ``item_id``'s score minus
    its score with that one history item removed (positive: the item pushed the
    recommendation up). It is causal for the model, one item at a time, but ignores
    interactions between items. NaN when the history has a single known item.
    """
    catalogue, model, max_len = recommender.catalogue, recommender.model, recommender.cfg.max_len
    positions, known = catalogue.known_positions(history)
    if len(known) == 0:
        raise ValueError(
            "explain needs at least one known item in history; got none "
            "(empty or all unknown): there is nothing to attribute"
        )
    target = catalogue.require(item_id)
    positions, context = positions[-max_len:], known[-max_len:]
    model.eval()
    with torch.no_grad():
        seq = torch.from_numpy(context)[None].to(recommender.device)  # (1, L)
        hidden, attention = model(seq, return_attention=True)
        weight = attention[-1][0, :, -1, :].mean(dim=0).double()  # (L,)
        weight = (weight / weight.sum()).cpu().numpy()
        target_vector = model.item_matrix()[target]  # (D,)
        target_score = hidden[0, -1] @ target_vector
        check_finite_scores(target_score, "explain")
        score = float(target_score)
        if len(context) > 1:
            without = np.stack([np.delete(context, j) for j in range(len(context))])
            reduced = model.user_vectors(torch.from_numpy(without).to(recommender.device))
            reduced_scores = reduced @ target_vector  # (L,)
            check_finite_scores(reduced_scores, "explain")
            score_drop = score - reduced_scores.double().cpu().numpy()
        else:
            score_drop = np.full(1, np.nan)
    frame = pd.DataFrame(
        {Columns.POSITION: positions, Columns.ITEM: catalogue.to_external(context)}
    )
    for column, values in catalogue.metadata(context).items():
        frame[column] = values
    frame[Columns.WEIGHT] = weight
    frame[Columns.SCORE_DROP] = score_drop
    frame.attrs["score"] = score
    return frame
