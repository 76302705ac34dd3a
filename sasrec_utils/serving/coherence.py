"""How coherent a session is, by the model's item vectors, against sessions of equally
popular items, with labels whose thresholds are measured rather than guessed.

A session's raw score is the mean cosine over all pairs of its distinct items. Popular
items tend to sit close together in the table (they co-occur with everything), so a raw
score also measures popularity. ``session_quality`` therefore subtracts a *baseline*:
the mean score of random sessions whose items have the same popularity (each item swapped
for a random one of its popularity decile). The *lift* is what the items' relation adds
beyond their popularity; ``calibrate`` sets the labels' thresholds from lifts measured on
real sessions and on random ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .answers import check_finite_scores
from .recommend import Recommender

DECILES = 10


@dataclass(frozen=True)
class CoherenceThresholds:
    """``MEDIUM`` above ``medium``, ``HIGH`` above ``high`` (lifts); ``reason`` says how."""

    high: float
    medium: float
    reason: str


@dataclass(frozen=True)
class SessionQuality:
    """A session's coherence: ``score`` (mean pairwise cosine), ``baseline`` (the same for
    popularity-matched random sessions), ``lift = score - baseline``, the ``label`` from
    the thresholds (``None`` without them) and the number of distinct known items."""

    score: float
    baseline: float
    lift: float
    label: str | None
    n_items: int


def pair_coherence(unit: torch.Tensor, items: np.ndarray) -> float:
    """Mean cosine over all pairs of ``items`` (distinct internal ids) in a (V, D) table
    of unit vectors; ``sum_{i<j} u_i . u_j = (|sum u|^2 - sum |u_i|^2) / 2``, O(n D)."""
    vectors = unit[torch.from_numpy(items).to(unit.device)]  # (n, D)
    total = vectors.sum(dim=0)
    pair_sum = (total @ total - (vectors * vectors).sum()) / 2
    check_finite_scores(pair_sum, "session_quality")
    return float(pair_sum) / (len(items) * (len(items) - 1) / 2)


def _deciles(recommender: Recommender) -> np.ndarray:
    """(V,) popularity decile of each internal id (0 = least popular); all one without
    popularity counts, so the baseline is then a uniformly random session."""
    popularity = recommender.catalogue.popularity
    deciles = np.zeros(recommender.n_items + 1, dtype=np.int64)
    if popularity is not None:
        ranks = np.argsort(np.argsort(popularity[1:], kind="stable"), kind="stable")
        deciles[1:] = ranks * DECILES // recommender.n_items
    return deciles


def session_quality(
    recommender: Recommender,
    history: Iterable,
    thresholds: CoherenceThresholds | None = None,
    matches: int = 32,
    seed: int = 0,
) -> SessionQuality:
    """Coherence of a session and its lift over ``matches`` popularity-matched sessions.

    Repeats count once. With 0 or 1 known items there is no pair, so no evidence of a
    theme: score, baseline and lift are 0 and the label ``LOW``, so that code acting on
    ``HIGH``/``MEDIUM`` never acts on a one-click session (``n_items`` tells "no
    evidence" apart from "incoherent").
    """
    known = np.unique(recommender.catalogue.known(history))
    if len(known) < 2:
        return SessionQuality(0.0, 0.0, 0.0, "LOW" if thresholds else None, len(known))
    with torch.no_grad():
        unit = recommender.unit_items()
        score = pair_coherence(unit, known)
        deciles = _deciles(recommender)
        pools = {d: np.flatnonzero(deciles == d) for d in np.unique(deciles[known])}
        pools = {d: pool[pool > 0] for d, pool in pools.items()}
        rng = np.random.default_rng(seed)
        baselines = []
        for _ in range(matches):
            swapped = np.array([rng.choice(pools[deciles[item]]) for item in known])
            swapped = np.unique(swapped)
            if len(swapped) > 1:
                baselines.append(pair_coherence(unit, swapped))
    baseline = float(np.mean(baselines)) if baselines else 0.0
    lift = score - baseline
    return SessionQuality(score, baseline, lift, _label(lift, thresholds), len(known))


def _label(lift: float, thresholds: CoherenceThresholds | None) -> str | None:
    if thresholds is None:
        return None
    return "HIGH" if lift > thresholds.high else "MEDIUM" if lift > thresholds.medium else "LOW"


def calibrate(
    recommender: Recommender,
    real_sessions: Sequence[Iterable],
    random_sessions: Sequence[Iterable],
    high_percentile: float = 75.0,
    medium_percentile: float = 95.0,
) -> CoherenceThresholds:
    """Thresholds from measured lifts: ``MEDIUM`` is more coherent than
    ``medium_percentile``% of random sessions, ``HIGH`` also beats ``high_percentile``% of
    the real sessions (e.g. users' last-10 windows)."""
    for name, sessions in (("real", real_sessions), ("random", random_sessions)):
        if len(sessions) == 0:
            raise ValueError(
                f"calibrate needs at least one {name} session; got 0 {name}_sessions: pass "
                "lists of item ids (e.g. users' last 10 items, and random draws of items)"
            )
    real = [session_quality(recommender, s).lift for s in real_sessions]
    noise = [session_quality(recommender, s).lift for s in random_sessions]
    medium = float(np.percentile(noise, medium_percentile))
    high = max(float(np.percentile(real, high_percentile)), medium)
    reason = (
        f"MEDIUM: lift above {medium:.3f}, the {medium_percentile:g}th percentile of "
        f"{len(noise)} random sessions; HIGH: above {high:.3f}, the "
        f"{high_percentile:g}th percentile of {len(real)} real sessions"
    )
    return CoherenceThresholds(high, medium, reason)
