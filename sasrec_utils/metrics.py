"""Full-ranking evaluation: HR@k, NDCG@k, MRR, coverage, novelty, and baselines.

Protocol: every query ranks *all* items; the padding id and the items already in the
query's history are removed (the target itself is never removed); ties are ranked
pessimistically (an item scoring equal to the target counts as ranked above it). Users are
processed in batches and items in chunks, so memory is O(batch * chunk), never a full
users x items matrix; the top-N lists are merged chunk by chunk with ``torch.topk``.

A *sampled* variant (target vs 100 random negatives) is provided only to show how it
inflates numbers; its keys start with ``sampled_`` and it is never mixed with full ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from .sequences import EvalSet, Sequences

DEFAULT_KS = (5, 10, 20)
SCORE_BLOCK = 2**24  # scores computed at once by rank_all_items: 64 MB of float32


class Scorer(Protocol):
    """Scores items for a batch of histories. ``state`` is whatever ``prepare`` returns."""

    def prepare(self, histories: Sequences, rows: np.ndarray) -> object: ...
    def chunk(self, state: object, start: int, stop: int) -> torch.Tensor: ...  # (B, C)
    def gather(self, state: object, items: torch.Tensor) -> torch.Tensor: ...  # (B, K)


class ModelScorer:
    """Scores from a SASRec model: user vector (B, D) times item table (V, D)."""

    def __init__(self, model: torch.nn.Module, max_len: int, device: str | torch.device = "cpu"):
        self.model, self.max_len, self.device = model, max_len, torch.device(device)

    @torch.no_grad()
    def prepare(self, histories: Sequences, rows: np.ndarray) -> torch.Tensor:
        self.model.eval()
        seq = torch.from_numpy(histories.to_padded(self.max_len)).to(self.device)
        return self.model.user_vectors(seq).float()  # (B, D)

    @torch.no_grad()
    def chunk(self, state: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        return state @ self.model.item_matrix()[start:stop].float().T  # (B, C)

    @torch.no_grad()
    def gather(self, state: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        vectors = self.model.item_matrix()[items].float()  # (B, K, D)
        return torch.einsum("bd,bkd->bk", state, vectors)


class PopularityScorer:
    """Most-popular baseline: every user gets the training interaction counts."""

    def __init__(self, counts: np.ndarray):
        self.counts = torch.as_tensor(counts, dtype=torch.float64)

    def prepare(self, histories: Sequences, rows: np.ndarray) -> int:
        return len(histories)

    def chunk(self, state: int, start: int, stop: int) -> torch.Tensor:
        return self.counts[start:stop].expand(state, -1)

    def gather(self, state: int, items: torch.Tensor) -> torch.Tensor:
        return self.counts[items]


class RandomScorer:
    """Random baseline: a fixed pseudo-random score per (query, item), from a hash.

    Hash-based rather than drawn, so chunked and gathered scores agree exactly.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed

    def prepare(self, histories: Sequences, rows: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(rows, dtype=torch.int64)[:, None]  # (B, 1)

    def _hash(self, rows: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        mask = 0xFFFFFFFF
        x = (rows * 0x9E3779B1 + items * 0x85EBCA77 + self.seed) & mask
        x = ((x ^ (x >> 15)) * 0x2C1B3C6D) & mask
        return (x ^ (x >> 12)).double() / 2**32

    def chunk(self, state: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        return self._hash(state, torch.arange(start, stop)[None, :])

    def gather(self, state: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self._hash(state, items)


@dataclass
class Ranking:
    """Per-query results: 1-based target ranks and the top-N recommended items.

    ``top_items`` holds 0 where fewer than N items were left to recommend.
    """

    ranks: np.ndarray  # (n,) int64
    top_items: np.ndarray  # (n, top_n) int64 internal ids


def rank_all_items(
    scorer: Scorer,
    queries: EvalSet,
    n_items: int,
    batch_size: int = 256,
    item_chunk: int | None = None,
    exclude_history: bool = True,
    top_n: int = 20,
    device: str | torch.device = "cpu",
) -> Ranking:
    """Rank every item for every query, in user batches and item chunks.

    ``item_chunk`` bounds the (B, chunk) score block; by default it holds at most
    ``SCORE_BLOCK`` scores (all items at once for small catalogues), so memory stays
    bounded for any catalogue: 316k items x 256 users take 5 chunks of 64 MB.
    """
    vocab = n_items + 1
    chunk = item_chunk or min(vocab, max(top_n, SCORE_BLOCK // batch_size))
    ranks, tops = [], []
    for lo in range(0, len(queries), batch_size):
        rows = np.arange(lo, min(lo + batch_size, len(queries)))
        histories = queries.histories.select(rows)
        state = scorer.prepare(histories, queries.users[rows])
        targets = torch.as_tensor(queries.targets[rows], device=device)
        target_score = scorer.gather(state, targets[:, None])[:, 0]  # (B,)
        hist_rows = torch.as_tensor(
            np.repeat(np.arange(len(rows)), histories.lengths), device=device
        )
        hist_items = torch.as_tensor(histories.items.astype(np.int64), device=device)
        if exclude_history:  # the target is never excluded, even if it was seen before
            keep = hist_items != targets[hist_rows]
            hist_rows, hist_items = hist_rows[keep], hist_items[keep]
        above = torch.zeros(len(rows), dtype=torch.int64, device=device)
        top_val = top_idx = None
        for start in range(0, vocab, chunk):
            stop = min(start + chunk, vocab)
            scores = scorer.chunk(state, start, stop).clone()  # (B, C)
            if start == 0:
                scores[:, 0] = float("-inf")  # padding
            if exclude_history:
                inside = (hist_items >= start) & (hist_items < stop)
                scores[hist_rows[inside], hist_items[inside] - start] = float("-inf")
            in_chunk = (targets >= start) & (targets < stop)
            recommended = scores
            scores = scores.clone()
            scores[in_chunk.nonzero()[:, 0], targets[in_chunk] - start] = float("-inf")
            above += (scores >= target_score[:, None]).sum(dim=1)
            k = min(top_n, stop - start)
            val, idx = recommended.topk(k, dim=1)
            idx = idx + start
            if top_val is not None:
                val, pick = torch.cat([top_val, val], 1).topk(
                    min(top_n, top_val.shape[1] + k), dim=1
                )
                idx = torch.cat([top_idx, idx], 1).gather(1, pick)
            top_val, top_idx = val, idx
        ranks.append((above + 1).cpu().numpy())
        tops.append(top_idx.masked_fill(top_val == float("-inf"), 0).cpu().numpy())
    return Ranking(np.concatenate(ranks), np.concatenate(tops))


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
    (``sequences.users_per_item``).
    """
    ranks = ranking.ranks.astype(np.float64)
    out: dict[str, float] = {"n_queries": float(len(ranks))}
    for k in ks:
        hit = ranks <= k
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 1), 0.0).mean())
    out["mrr"] = float((1.0 / ranks).mean())
    top = ranking.top_items[:, :list_k]
    top = top[top > 0]
    distinct = np.count_nonzero(np.bincount(top, minlength=n_items + 1))  # not np.unique: slow
    out[f"coverage@{list_k}"] = float(distinct / n_items)
    if users_per_item is not None and n_train_users:
        p = np.maximum(users_per_item[top], 1) / n_train_users
        out[f"novelty@{list_k}"] = float((-np.log2(p)).mean())
    return out


def evaluate(
    scorer: Scorer,
    queries: EvalSet,
    n_items: int,
    users_per_item: np.ndarray | None = None,
    n_train_users: int | None = None,
    batch_size: int = 256,
    item_chunk: int | None = None,
    exclude_history: bool = True,
    max_users: int | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """Full-ranking metrics of ``scorer`` on ``queries``.

    ``max_users`` evaluates only the first queries (a quick estimate: the result has
    ``estimate_on_users`` set so it cannot be mistaken for the full figure).
    """
    if max_users is not None and max_users < len(queries):
        queries = queries.head(max_users)
    ranking = rank_all_items(
        scorer, queries, n_items, batch_size, item_chunk, exclude_history, device=device
    )
    metrics = ranking_metrics(ranking, n_items, users_per_item, n_train_users)
    if max_users is not None and max_users <= len(queries):
        metrics["estimate_on_users"] = float(len(queries))
    return metrics


def evaluate_sampled(
    scorer: Scorer,
    queries: EvalSet,
    n_items: int,
    n_negatives: int = 100,
    seed: int = 0,
    batch_size: int = 256,
    ks: tuple[int, ...] = (1, 5, 10),
) -> dict[str, float]:
    """SAMPLED metrics: target vs ``n_negatives`` uniform items not in history.

    Shown only to explain why papers' sampled numbers look higher (Krichene & Rendle,
    2020). Keys start with ``sampled_``.
    """
    rng = np.random.default_rng(seed)
    ranks = []
    for lo in range(0, len(queries), batch_size):
        rows = np.arange(lo, min(lo + batch_size, len(queries)))
        histories = queries.histories.select(rows)
        candidates = np.empty((len(rows), n_negatives + 1), dtype=np.int64)
        for r, row in enumerate(rows):
            seen = set(histories[r].tolist()) | {int(queries.targets[row])}
            pool = rng.integers(1, n_items + 1, size=n_negatives * 3 + len(seen))
            pool = pool[~np.isin(pool, list(seen))]
            while len(pool) < n_negatives:  # tiny catalogues: draw until enough
                extra = rng.integers(1, n_items + 1, size=n_negatives)
                pool = np.concatenate([pool, extra[~np.isin(extra, list(seen))]])
            candidates[r] = np.concatenate([[queries.targets[row]], pool[:n_negatives]])
        state = scorer.prepare(histories, queries.users[rows])
        scores = scorer.gather(state, torch.as_tensor(candidates))
        ranks.append((scores[:, 1:] >= scores[:, :1]).sum(1).numpy() + 1)
    ranks = np.concatenate(ranks).astype(np.float64)
    out = {f"sampled_hr@{k}": float((ranks <= k).mean()) for k in ks}
    out["sampled_ndcg@10"] = float(np.where(ranks <= 10, 1 / np.log2(ranks + 1), 0).mean())
    out["sampled_mrr"] = float((1 / ranks).mean())
    return out


def comparison_table(
    results: dict[str, dict[str, float]], reference: str = "most-popular", key: str = "ndcg@10"
) -> pd.DataFrame:
    """One row per system with its metrics and ``lift`` = key / reference's key."""
    table = pd.DataFrame(results).T
    if reference in table.index and table.loc[reference, key] > 0:
        table[f"lift_{key}"] = table[key] / table.loc[reference, key]
    return table
