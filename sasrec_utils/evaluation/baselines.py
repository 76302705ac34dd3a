"""Strong simple baselines as ``Scorer``s: Markov transitions, windowed co-occurrence, EASE.

Each is fitted on training sequences only (``split.train``) and scores every item for a
query from its history, so the same evaluator ranks them exactly like SASRec (all items,
history masked, pessimistic ties). Their few hyperparameters are chosen on the
validation queries by a grid, widened where the best value sits on its edge
(``tuning.tune``); the test queries are scored once.

Shapes: B queries, V = n_items + 1 (id 0 is padding and never scored). The item-item
tables are sparse (``scipy.sparse``), so Markov and co-occurrence fit retail-size
catalogues; EASE inverts a dense (V, V) matrix and is refused above ``EASE_MAX_ITEMS``.

Zero scores are common (an item never followed the history's items). A tiny popularity
term (``TIE_BREAK`` times the item's share of the most popular item's count) orders those
items by popularity without ever outranking a real transition or co-occurrence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ..data.sequences import Sequences, item_popularity, pair_counts, ranges
from .scorers import Scorer

TIE_BREAK = 1e-9
EASE_MAX_ITEMS = 30_000  # a dense float64 (V, V) inverse of 30k items is 7 GB


def _recent_weights(histories: Sequences, last_n: int, decay: float, vocab: int) -> sp.csr_matrix:
    """(B, V) weights of each query's last ``last_n`` items: ``decay ** j`` for the item
    ``j`` places before the most recent (repeats add up)."""
    lengths = np.minimum(histories.lengths, last_n)
    rows = np.repeat(np.arange(len(histories)), lengths)
    inside = ranges(np.zeros(len(lengths)), lengths)  # 0 .. n - 1 within each query
    back = np.repeat(lengths, lengths) - 1 - inside  # 0 = the most recent item
    columns = histories.items[np.repeat(histories.offsets[1:] - lengths, lengths) + inside]
    return sp.csr_matrix((decay**back, (rows, columns)), shape=(len(histories), vocab))


class _HistoryScorer:
    """Scores from an item-item ``table`` (V, V): a query's score row is its recent items'
    weights (``_recent_weights``) times the table, plus the popularity tie-break."""

    def __init__(
        self, table: sp.csr_matrix, train: Sequences, n_items: int, last_n: int, decay: float
    ) -> None:
        self.table = table.tocsr()
        self.tie_break = _tie_break(train, n_items)  # (V,) float64
        self.last_n, self.decay, self.vocab = last_n, decay, n_items + 1

    def prepare(self, histories: Sequences, rows: np.ndarray) -> sp.csr_matrix:
        weights = _recent_weights(histories, self.last_n, self.decay, self.vocab)
        return (weights @ self.table).tocsr()  # (B, V)

    def chunk(self, state: sp.csr_matrix, start: int, stop: int) -> torch.Tensor:
        scores = state[:, start:stop].toarray() + self.tie_break[start:stop]
        return torch.from_numpy(scores)  # (B, C) float64

    def gather(self, state: sp.csr_matrix, items: torch.Tensor) -> torch.Tensor:
        columns = items.cpu().numpy()
        rows = np.broadcast_to(np.arange(len(columns))[:, None], columns.shape)
        picked = np.asarray(state[rows.ravel(), columns.ravel()]).reshape(columns.shape)
        return torch.from_numpy(picked + self.tie_break[columns])  # (B, K) float64


def _tie_break(train: Sequences, n_items: int) -> np.ndarray:
    counts = item_popularity(train, n_items).astype(np.float64)
    return TIE_BREAK * counts / max(counts.max(), 1.0)


class MarkovScorer(_HistoryScorer):
    """First-order Markov chain: counts of ``a -> b`` (b right after a) in training rows.

    ``P(b | a)`` is the row-normalised count. A history scores item b as
    ``sum_j decay**j * P(b | h[-1-j])`` over its last ``last_n`` items (``last_n=1``: the
    plain last-item Markov chain).
    """

    def __init__(self, train: Sequences, n_items: int, last_n: int = 1, decay: float = 1.0):
        counts = pair_counts(train, n_items, 1)
        totals = np.asarray(counts.sum(axis=1)).ravel()
        transitions = sp.diags(1.0 / np.maximum(totals, 1.0)) @ counts  # (V, V) P(b | a)
        super().__init__(transitions, train, n_items, last_n, decay)


class CooccurrenceScorer(_HistoryScorer):
    """Item-to-item co-occurrence: b within ``window`` events after a in a training row.

    ``C[a, b]`` counts such pairs; the similarity is an asymmetric cosine
    ``C[a, b] / (pop(a) ** alpha * pop(b) ** (1 - alpha))`` (``alpha = 0.5``: cosine;
    ``alpha = 1``: ``P(b soon after a)``, which favours popular b). A history scores b as
    the decayed sum over its last ``last_n`` items, like ``MarkovScorer``.
    """

    def __init__(
        self,
        train: Sequences,
        n_items: int,
        window: int = 5,
        alpha: float = 0.5,
        last_n: int = 3,
        decay: float = 0.8,
    ):
        counts = pair_counts(train, n_items, window)
        popularity = np.maximum(item_popularity(train, n_items).astype(np.float64), 1.0)
        left = sp.diags(popularity**-alpha)
        right = sp.diags(popularity ** (alpha - 1.0))
        super().__init__(left @ counts @ right, train, n_items, last_n, decay)


class EASEScorer:
    """EASE (Steck, WWW 2019): a closed-form item-item linear model on the user x item matrix.

    With X the binary (users, V) training matrix, ``P = (X^T X + l2 I)^-1`` and
    ``B = -P / diag(P)`` with a zero diagonal; a query's scores are ``x B`` for its history
    as a binary (V,) vector. It ignores order: a strong bag-of-items reference.
    """

    def __init__(self, train: Sequences, n_items: int, l2: float = 500.0):
        if n_items > EASE_MAX_ITEMS:
            raise ValueError(
                f"EASE inverts a dense ({n_items} x {n_items}) matrix; {n_items} items are "
                f"more than EASE_MAX_ITEMS={EASE_MAX_ITEMS}: use MarkovScorer or "
                "CooccurrenceScorer for a catalogue this size"
            )
        vocab = n_items + 1
        x = _binary_rows(train, vocab)
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices(vocab)] += l2
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)[None, :]
        weights[np.diag_indices(vocab)] = 0.0
        weights[0] = weights[:, 0] = 0.0  # padding neither gives nor gets a score
        self.weights = torch.from_numpy(weights)  # (V, V) float64
        self.tie_break = torch.from_numpy(_tie_break(train, n_items))
        self.vocab = vocab

    def prepare(self, histories: Sequences, rows: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(_binary_rows(histories, self.vocab).toarray())  # (B, V)
        return x @ self.weights + self.tie_break  # (B, V)

    def chunk(self, state: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        return state[:, start:stop].clone()  # the caller masks it in place

    def gather(self, state: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return state.gather(1, items.to(state.device))


def _binary_rows(seqs: Sequences, vocab: int) -> sp.csr_matrix:
    """(rows, V) 0/1 matrix: does row r hold item i (repeats count once)."""
    rows = np.repeat(np.arange(len(seqs)), seqs.lengths)
    ones = np.ones(len(rows))
    matrix = sp.csr_matrix((ones, (rows, seqs.items)), shape=(len(seqs), vocab))
    matrix.data[:] = 1.0  # duplicates were summed
    return matrix


# ---------------------------------------------------------------- tuning on validation


# Each grid lists its values in ascending order. ``GRID_EXTENSIONS`` are the values tried,
# nearest first, below the lowest and above the highest when the best point sits there
# (``tuning.tune``); ``NATURAL_EDGES`` are ends of a value's range that no wider grid can
# pass, with the reason a row gives when its best value sits there.
BASELINE_GRIDS: dict[str, dict[str, list[Any]]] = {
    "markov": {"last_n": [1, 2, 3, 5, 10], "decay": [0.5, 0.8, 1.0]},
    "cooccurrence": {
        "window": [2, 5, 10, 20],
        "alpha": [0.25, 0.5, 0.75, 1.0],
        "last_n": [1, 3, 10],
        "decay": [0.8],
    },
    "ease": {"l2": [10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0]},
}
GRID_EXTENSIONS: dict[str, dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]]] = {
    "markov": {"last_n": ((), (20, 50, 200)), "decay": ((0.35, 0.2, 0.1, 0.05), ())},
    "cooccurrence": {
        "window": ((1,), (50, 100)),
        "alpha": ((0.1, 0.0), ()),
        "last_n": ((), (20, 50, 200)),
        "decay": ((0.5, 0.35, 0.2), (1.0,)),
    },
    "ease": {"l2": ((5.0, 2.0, 1.0), (5000.0, 10000.0, 20000.0))},
}
NATURAL_EDGES: dict[tuple[str, str, Any], str] = {
    ("markov", "last_n", 1): "last_n=1 is the smallest history a query has",
    ("markov", "decay", 1.0): "decay=1.0 weighs every recent item alike: its largest value",
    ("cooccurrence", "window", 1): "window=1 counts only adjacent pairs: its smallest value",
    ("cooccurrence", "last_n", 1): "last_n=1 is the smallest history a query has",
    ("cooccurrence", "alpha", 1.0): "alpha=1.0 is P(b soon after a): the end of its range",
    ("cooccurrence", "alpha", 0.0): "alpha=0.0 is the end of its range",
    ("cooccurrence", "decay", 1.0): "decay=1.0 weighs every recent item alike: its largest value",
}
BASELINES: dict[str, Callable[..., Scorer]] = {
    "markov": MarkovScorer,
    "cooccurrence": CooccurrenceScorer,
    "ease": EASEScorer,
}
