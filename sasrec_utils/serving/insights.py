"""What drove a recommendation, and how often a cart's buyers really took an add-on.

``explain`` takes a ``Recommender`` and a history of external item ids, like its methods;
``cart_follow_ups`` counts, in the training sequences, what users who had a whole cart did
next; ``common_cart`` finds a pair of items many of them held together, an example cart
with follow-ups to count where items have no titles. (Session coherence is in
``coherence``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..data.sequences import Sequences
from .answers import check_finite_scores
from .columns import Columns
from .recommend import Recommender


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


def cart_follow_ups(
    recommender: Recommender, train: Sequences, cart: Iterable, candidates: Iterable
) -> pd.DataFrame:
    """For each candidate: how many training users had every cart item, and how many of
    them chose the candidate afterwards (a real share, unlike a softmax over candidates).

    ``train`` is the training sequences (internal ids, as ``split.train``); "afterwards"
    means after the position where the user's history first held the whole cart.
    Columns ``item_id, users_with_cart, chose_it_later, share`` (share NaN without users).
    """
    catalogue = recommender.catalogue
    cart_ids = np.unique(catalogue.known(cart))
    wanted = catalogue.to_internal(candidates)
    rows = np.repeat(np.arange(len(train)), train.lengths)
    position = np.arange(len(train.items)) - train.offsets[rows]
    complete = np.zeros(len(train))  # when each row first held the whole cart (inf: never)
    for item in cart_ids:
        first = np.full(len(train), np.inf)
        hit = train.items == item
        np.minimum.at(first, rows[hit], position[hit])
        complete = np.maximum(complete, first)
    with_cart = np.isfinite(complete) & (len(cart_ids) > 0)
    later = []
    for item in wanted:
        last = np.full(len(train), -1.0)
        hit = train.items == item
        np.maximum.at(last, rows[hit], position[hit])
        later.append(int((with_cart & (last > complete)).sum()) if item else 0)
    users = int(with_cart.sum())
    return pd.DataFrame(
        {
            Columns.ITEM: list(candidates),
            "users_with_cart": users,
            "chose_it_later": later,
            "share": [count / users if users else float("nan") for count in later],
        }
    )


def common_cart(train: Sequences, recent: int = 10) -> np.ndarray:
    """The two items (internal ids, ``(2,)``) that the most training users held together
    among their ``recent`` items before their last one, so the cart has follow-ups.

    Each user counts a pair once; ties go to the smaller pair of ids. Raises ``ValueError``
    when no user has two distinct items there.
    """
    rows = np.repeat(np.arange(len(train)), train.lengths)
    from_end = train.offsets[rows] + train.lengths[rows] - np.arange(len(train.items))
    window = np.flatnonzero((from_end >= 2) & (from_end <= recent + 1))  # not the last item
    keys = []
    for gap in range(1, recent):
        first, second = window[:-gap], window[gap:]
        same_user = rows[first] == rows[second]
        a, b = train.items[first[same_user]], train.items[second[same_user]]
        distinct = a != b
        low, high = np.minimum(a, b)[distinct], np.maximum(a, b)[distinct]
        pair = low.astype(np.int64) * (int(train.items.max()) + 1) + high
        keys.append(np.stack([rows[first[same_user]][distinct], pair], axis=1))
    held = np.unique(np.concatenate(keys), axis=0) if keys else np.empty((0, 2), np.int64)
    if not len(held):
        raise ValueError("no training user holds two distinct items before their last one")
    pairs, users = np.unique(held[:, 1], return_counts=True)
    best = int(pairs[np.argmax(users)])
    return np.array(divmod(best, int(train.items.max()) + 1))
