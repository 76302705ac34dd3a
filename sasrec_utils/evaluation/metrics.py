"""Ranking metrics from target ranks: HR@k, NDCG@k, MRR, coverage, novelty; tables.

Every figure here is computed from 1-based ranks of each query's target among all items
(``evaluation.rank_all_items``) and, for coverage and novelty, the recommended top lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..runtime import warn_caller

DEFAULT_KS = (5, 10, 20)


@dataclass
class Ranking:
    """Per-query results: 1-based target ranks and the top-N recommended items.

    ``top_items`` holds 0 where fewer than N items were left to recommend. ``nonfinite``
    marks the queries with a NaN or infinite score (ranked below every finite score;
    ``None``: not recorded).
    """

    ranks: np.ndarray  # (n,) int64
    top_items: np.ndarray  # (n, top_n) int64 internal ids
    nonfinite: np.ndarray | None = None  # (n,) bool


def hit_metrics(ranks: np.ndarray, ks: tuple[int, ...] = DEFAULT_KS) -> dict[str, float]:
    """HR@k and NDCG@k for ``ks`` and MRR, from (n,) 1-based target ranks.

    NDCG@k counts a hit at rank r as ``1 / log2(r + 1)`` (one relevant item per query, so
    the ideal DCG is 1).
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks <= k
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 1), 0.0).mean())
    out["mrr"] = float((1.0 / ranks).mean())
    return out


def ranking_metrics(
    ranking: Ranking,
    n_items: int,
    users_per_item: np.ndarray | None = None,
    n_train_users: int | None = None,
    ks: tuple[int, ...] = DEFAULT_KS,
    list_k: int = 10,
) -> dict[str, float]:
    """HR@k and NDCG@k for ``ks``, MRR, and (top-``list_k``) coverage and novelty.

    coverage = distinct recommended items / n_items. novelty = mean self-information
    ``-log2(p_i)`` of recommended items, with ``p_i = max(users_i, 1) / n_train_users`` and
    ``users_i`` the number of training users who interacted with item ``i``
    (``sequences.users_per_item``); NaN when nothing was recommended.

    ``nonfinite_queries`` (present only when some are, with a ``RuntimeWarning``) counts
    the queries whose scores held NaN or inf: a broken model, whose metrics mean nothing.
    """
    out = {"n_queries": float(len(ranking.ranks)), **hit_metrics(ranking.ranks, ks)}
    if ranking.nonfinite is not None and ranking.nonfinite.any():
        out["nonfinite_queries"] = float(ranking.nonfinite.sum())
        warn_caller(
            f"{out['nonfinite_queries']:.0f} of {len(ranking.ranks)} queries had NaN or "
            "infinite scores (ranked below every finite score); the model's weights are "
            "damaged or its training diverged, so these metrics do not measure it",
            RuntimeWarning,
        )
    top = ranking.top_items[:, :list_k]
    top = top[top > 0]
    distinct = np.count_nonzero(np.bincount(top, minlength=n_items + 1))  # not np.unique: slow
    out[f"coverage@{list_k}"] = float(distinct / n_items)
    if users_per_item is not None and n_train_users:
        p = np.maximum(users_per_item[top], 1) / n_train_users
        out[f"novelty@{list_k}"] = float((-np.log2(p)).mean()) if top.size else float("nan")
    return out


def metrics_by_history_length(
    ranks: dict[str, np.ndarray], history_lengths: np.ndarray, n_buckets: int = 4, k: int = 10
) -> pd.DataFrame:
    """HR@k and NDCG@k per history-length bucket, for each system's per-query ranks.

    Buckets are quantiles of ``history_lengths`` (about equal numbers of users each);
    labels give the range of lengths inside. Long format: ``bucket, users, system,
    hr@k, ndcg@k``.
    """
    lengths = np.asarray(history_lengths)
    codes = pd.qcut(lengths, q=n_buckets, labels=False, duplicates="drop")
    rows = []
    for code in np.unique(codes):
        inside = codes == code
        label = f"{lengths[inside].min()}–{lengths[inside].max()}"
        for system, system_ranks in ranks.items():
            figures = hit_metrics(np.asarray(system_ranks)[inside], ks=(k,))
            rows.append(
                {
                    "bucket": label,
                    "users": int(inside.sum()),
                    "system": system,
                    f"hr@{k}": figures[f"hr@{k}"],
                    f"ndcg@{k}": figures[f"ndcg@{k}"],
                }
            )
    return pd.DataFrame(rows)


def seed_summary(per_seed: Mapping[Any, Mapping[str, float]]) -> dict[str, Any]:
    """Mean and sd (ddof 1; 0 for one seed) of each metric over seeds, and the per-seed values.

    ``per_seed`` maps a seed (``None`` for a deterministic system) to its metrics dict.
    """
    frame = pd.DataFrame(per_seed).T.astype(float)  # (seeds, metrics)
    spread = frame.std(ddof=1) if len(frame) > 1 else frame.iloc[0] * 0.0
    return {
        "n_seeds": len(frame),
        "mean": frame.mean().to_dict(),
        "sd": spread.to_dict(),
        "per_seed": {str(seed): dict(values) for seed, values in per_seed.items()},
    }


def comparison_table(
    systems: Mapping[str, Mapping[str, Any]],
    keys: tuple[str, ...] = ("hr@5", "hr@10", "hr@20", "ndcg@10", "mrr", "coverage@10"),
    reference: str = "most-popular",
) -> pd.DataFrame:
    """One row per system (from ``seed_summary``s): mean metrics, NDCG@10 sd, seeds, and
    ``lift_ndcg@10`` = its NDCG@10 over the reference system's."""
    rows = {}
    for name, summary in systems.items():
        row = {key: summary["mean"][key] for key in keys if key in summary["mean"]}
        row["ndcg@10 sd"] = summary["sd"]["ndcg@10"]
        row["seeds"] = summary["n_seeds"]
        rows[name] = row
    table = pd.DataFrame(rows).T
    if reference in table.index and table.loc[reference, "ndcg@10"] > 0:
        table["lift_ndcg@10"] = table["ndcg@10"] / table.loc[reference, "ndcg@10"]
    return table


def per_query_ndcg(ranks: np.ndarray, k: int = 10) -> np.ndarray:
    """(n,) NDCG@k of each query from its 1-based target rank (0 beyond k)."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.where(ranks <= k, 1.0 / np.log2(ranks + 1), 0.0)


def paired_bootstrap(
    ours: np.ndarray, theirs: np.ndarray, n_resamples: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """Paired bootstrap over queries of ``mean(ours) - mean(theirs)`` (per-query values).

    The same resampled queries score both systems, so what varies between the users
    cancels. Returns the observed difference and relative lift (``ours / theirs - 1``),
    each with its 2.5% and 97.5% percentiles over ``n_resamples`` resamples.
    """
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape or ours.ndim != 1 or len(ours) == 0:
        raise ValueError(
            f"paired values must be two 1-d arrays of the same length, got {ours.shape} "
            f"and {theirs.shape}"
        )
    rng = np.random.default_rng(seed)
    block = max(1, 2**24 // len(ours))  # resamples drawn at once: memory stays bounded
    means = []
    for start in range(0, n_resamples, block):
        picks = rng.integers(0, len(ours), size=(min(block, n_resamples - start), len(ours)))
        means.append((ours[picks].mean(axis=1), theirs[picks].mean(axis=1)))
    mean_ours = np.concatenate([m[0] for m in means])
    mean_theirs = np.concatenate([m[1] for m in means])
    difference = mean_ours - mean_theirs
    lift = mean_ours / np.maximum(mean_theirs, 1e-12) - 1.0
    return {
        "difference": float(ours.mean() - theirs.mean()),
        "difference_low": float(np.percentile(difference, 2.5)),
        "difference_high": float(np.percentile(difference, 97.5)),
        "lift": float(ours.mean() / max(theirs.mean(), 1e-12) - 1.0),
        "lift_low": float(np.percentile(lift, 2.5)),
        "lift_high": float(np.percentile(lift, 97.5)),
        "n_resamples": float(n_resamples),
        "n_queries": float(len(ours)),
    }


VERDICTS = {
    "better": "{system} is better",
    "worse": "{system} is worse",
    "tie": "the interval includes zero: no difference this test set can show",
}


@dataclass(frozen=True)
class BootstrapPair:
    """A ``paired_bootstrap`` of ``system`` against ``baseline``: NDCG@10 difference
    (``system - baseline``) and relative lift, each with its 95% interval."""

    system: str
    baseline: str
    difference: float
    difference_low: float
    difference_high: float
    lift: float
    lift_low: float
    lift_high: float
    n_resamples: int
    n_queries: int

    @classmethod
    def measure(
        cls,
        system: str,
        baseline: str,
        ours: np.ndarray,
        theirs: np.ndarray,
        n_resamples: int = 10_000,
        seed: int = 0,
    ) -> BootstrapPair:
        """Bootstrap the (n,) per-query values ``ours`` (of ``system``) against ``theirs``."""
        entry = paired_bootstrap(ours, theirs, n_resamples, seed)
        return cls.from_dict({"system": system, "baseline": baseline, **entry})

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> BootstrapPair:
        """From ``to_dict``'s form (``n_resamples`` and ``n_queries`` may be floats)."""
        fields = {name: entry[name] for name in cls.__dataclass_fields__}
        counts = {name: int(fields[name]) for name in ("n_resamples", "n_queries")}
        return cls(**{**fields, **counts})

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values."""
        return dict(self.__dict__)

    @property
    def verdict(self) -> str:
        """``"better"`` (interval above zero), ``"worse"`` (below) or ``"tie"`` (spans it)."""
        if self.difference_low > 0:
            return "better"
        if self.difference_high < 0:
            return "worse"
        return "tie"


def find_pair(pairs: list[BootstrapPair], system: str, baseline: str) -> BootstrapPair:
    """The pair of ``system`` against ``baseline`` among ``pairs``."""
    for pair in pairs:
        if (pair.system, pair.baseline) == (system, baseline):
            return pair
    found = [(pair.system, pair.baseline) for pair in pairs]
    raise KeyError(f"no bootstrap of {system!r} against {baseline!r}; found {found}")


def bootstrap_verdict(pair: BootstrapPair, system: str = "", baseline: str = "") -> str:
    """One sentence on ``pair``: the difference and lift with their 95% intervals, and
    what the interval says (``VERDICTS``); ``system``/``baseline`` rename the two sides."""
    system, baseline = system or pair.system, baseline or pair.baseline
    said = VERDICTS[pair.verdict].format(system=system)
    return (
        f"{system} against {baseline}: NDCG@10 {pair.difference:+.4f} "
        f"[{pair.difference_low:+.4f}, {pair.difference_high:+.4f}], "
        f"{pair.lift:+.1%} [{pair.lift_low:+.1%}, {pair.lift_high:+.1%}]; {said}"
    )
