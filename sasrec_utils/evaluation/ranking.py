"""Full-ranking evaluation: every query ranks *all* items.

Protocol: the padding id and the items already in the query's history are removed (the
target itself is never removed); ties are ranked pessimistically (an item scoring equal to
the target counts as ranked above it). A NaN or infinite score counts as -inf, below every
finite one, so a target scoring so ranks last among the candidates, and such queries are
counted (``nonfinite_queries``): a diverged model never looks perfect. Users are processed
in batches and items in chunks, so memory is O(batch * chunk), never a full users x items
matrix; the top-N lists are merged chunk by chunk with ``torch.topk``.

A *sampled* variant (target vs 100 random negatives) is provided only to show how it
inflates numbers; its keys start with ``sampled_`` and it is never mixed with full ranking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..config import SASRecConfig
from ..data.sequences import Sequences, users_per_item
from ..data.splits import EvalSet
from .metrics import Ranking, ranking_metrics
from .scorers import ModelScorer, Scorer

SCORE_BLOCK = 2**21  # scores computed at once by rank_all_items: 8 MB of float32, cache-sized
COUNT_EXACT = 2**24  # widest chunk whose float32 count of items is exact
TOP_GROUP = 32  # columns whose maximum is compared with the running top-N (_merge_top)


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
    bounded for any catalogue and each block's passes run in cache: 316k items x 256 users
    take 39 chunks of 8 MB.
    ``Ranking.nonfinite`` marks the queries that had a NaN or infinite score.
    """
    vocab = n_items + 1
    chunk = min(item_chunk or min(vocab, max(top_n, SCORE_BLOCK // batch_size)), COUNT_EXACT)
    ranks, tops, nonfinite = [], [], []
    for lo in range(0, len(queries), batch_size):
        rows = np.arange(lo, min(lo + batch_size, len(queries)))
        histories = queries.histories.select(rows)
        state = scorer.prepare(histories, queries.users[rows])
        targets = torch.as_tensor(queries.targets[rows], device=device)
        target_score, bad = _rankable(scorer.gather(state, targets[:, None]))
        target_score = target_score[:, 0]  # (B,)
        hist_rows, hist_items = _history_cells(histories, targets, exclude_history)
        above = torch.zeros(len(rows), dtype=torch.int32, device=device)
        top_val = top_idx = None
        for start in range(0, vocab, chunk):
            stop = min(start + chunk, vocab)
            scores, chunk_bad = _rankable(scorer.chunk(state, start, stop), start == 0)
            bad |= chunk_bad
            if start == 0:
                scores[:, 0] = float("-inf")  # padding
            if exclude_history:
                inside = (hist_items >= start) & (hist_items < stop)
                scores[hist_rows[inside], hist_items[inside] - start] = float("-inf")
            top_val, top_idx = _merge_top(top_val, top_idx, scores, start, top_n)
            in_chunk = (targets >= start) & (targets < stop)  # ... but not count above itself
            scores[in_chunk.nonzero()[:, 0], targets[in_chunk] - start] = float("-inf")
            above += stop - start - _count_below(scores, target_score)
        last = target_score == float("-inf")  # it ties every candidate, so it ranks last
        if bool(last.any()):
            candidates = torch.full_like(above, n_items)
            if exclude_history:  # less the distinct history items removed
                seen = torch.unique(hist_rows * vocab + hist_items) // vocab  # their rows
                candidates -= torch.bincount(seen, minlength=len(rows))
            above = torch.where(last, candidates - 1, above)
        ranks.append((above + 1).long().cpu().numpy())
        tops.append(top_idx.masked_fill(top_val == float("-inf"), 0).cpu().numpy())
        nonfinite.append(bad.cpu().numpy())
    return Ranking(np.concatenate(ranks), np.concatenate(tops), np.concatenate(nonfinite))


def _history_cells(
    histories: Sequences, targets: torch.Tensor, exclude_history: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each history item as (P,) batch rows and (P,) item ids, on ``targets``' device.

    With ``exclude_history`` a row's own target is left out: it is never excluded from the
    ranking, even if it was seen before.
    """
    device = targets.device
    rows = torch.as_tensor(np.repeat(np.arange(len(histories)), histories.lengths), device=device)
    items = torch.as_tensor(histories.items.astype(np.int64), device=device)
    if exclude_history:
        keep = items != targets[rows]
        rows, items = rows[keep], items[keep]
    return rows, items


def _merge_top(
    top_val: torch.Tensor | None,
    top_idx: torch.Tensor | None,
    scores: torch.Tensor,
    start: int,
    top_n: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The running top-``top_n`` (B, n) values (descending) and item ids, updated with a
    (B, C) chunk of ``scores`` whose first column is item ``start``.

    Once the lists are full, only groups of ``TOP_GROUP`` columns whose maximum beats a
    row's n-th best can change it; they are few (a row's top-n gains about n / j items in
    the j-th chunk), so they are merged by a sort instead of a ``topk`` over the chunk.
    """
    whole = scores.shape[1] - scores.shape[1] % TOP_GROUP
    if top_val is None or top_val.shape[1] < top_n or whole == 0:
        return _merge_by_topk(top_val, top_idx, scores, start, top_n)
    groups = scores[:, :whole].reshape(len(scores), whole // TOP_GROUP, TOP_GROUP)
    hot_rows, hot_groups = (groups.amax(dim=2) > top_val[:, -1:]).nonzero(as_tuple=True)
    if len(hot_rows):  # row-major: hot_rows is sorted
        rows, counts = torch.unique_consecutive(hot_rows, return_counts=True)  # (T,)
        local = torch.repeat_interleave(torch.arange(len(rows), device=scores.device), counts)
        slot = (
            torch.arange(len(hot_rows), device=scores.device) - (counts.cumsum(0) - counts)[local]
        )
        offsets = torch.arange(TOP_GROUP, device=scores.device)
        columns = top_n + slot[:, None] * TOP_GROUP + offsets  # (G, TOP_GROUP)
        width = top_n + int(counts.max()) * TOP_GROUP
        merged = torch.full(
            (len(rows), width), float("-inf"), dtype=scores.dtype, device=scores.device
        )
        ids = torch.zeros((len(rows), width), dtype=top_idx.dtype, device=scores.device)
        merged[:, :top_n], ids[:, :top_n] = top_val[rows], top_idx[rows]
        merged[local[:, None], columns] = groups[hot_rows, hot_groups]
        ids[local[:, None], columns] = start + hot_groups[:, None] * TOP_GROUP + offsets
        val, pick = merged.topk(top_n, dim=1)
        top_val, top_idx = top_val.clone(), top_idx.clone()
        top_val[rows], top_idx[rows] = val, ids.gather(1, pick)
    if whole == scores.shape[1]:
        return top_val, top_idx
    return _merge_by_topk(top_val, top_idx, scores[:, whole:], start + whole, top_n)


def _merge_by_topk(
    top_val: torch.Tensor | None,
    top_idx: torch.Tensor | None,
    scores: torch.Tensor,
    start: int,
    top_n: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``_merge_top`` by a ``topk`` of the whole chunk (while the lists fill, and tails)."""
    val, idx = scores.topk(min(top_n, scores.shape[1]), dim=1)
    if top_val is None:
        return val, idx + start
    val, pick = torch.cat([top_val, val], 1).topk(min(top_n, top_val.shape[1] + val.shape[1]), 1)
    return val, torch.cat([top_idx, idx + start], 1).gather(1, pick)


def _count_below(scores: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """(B,) int32: how many of each row's (B, C) ``scores`` are below its ``threshold``.

    ``sign(relu(threshold - score))`` summed in float32 (exact for C <= ``COUNT_EXACT``):
    half the time of counting a bool ``scores < threshold`` block on a CPU. A -inf score
    counts as below any finite threshold.
    """
    return torch.sub(threshold[:, None], scores).clamp_(min=0).sign_().sum(dim=1).to(torch.int32)


def _rankable(scores: torch.Tensor, padding: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, C) ``scores`` with NaN and ±inf set to -inf, and the (B,) rows that had one.

    -inf ranks below every finite score, so no item gains from a broken score (a NaN
    compares false with everything). With ``padding``, column 0 (the padding id, never
    ranked) is left as it is and not counted. Finite scores cost one pass (a row holding
    NaN or inf has a non-finite sum) and come back as they are.
    """
    ranked = scores[:, 1:] if padding else scores
    if bool(torch.isfinite(ranked.sum(dim=1)).all()):  # the scorer's own tensor: no copy
        return scores, torch.zeros(len(scores), dtype=torch.bool, device=scores.device)
    finite = torch.isfinite(scores)  # exact (the sum may also have overflowed)
    if padding:
        finite[:, 0] = True
    return torch.where(finite, scores, float("-inf")), ~finite.all(dim=1)


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
    ``estimate_on_users`` set so it cannot be mistaken for the full figure). A model
    giving NaN or infinite scores gets ``nonfinite_queries`` (``ranking_metrics``).
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


def evaluate_model(
    model: torch.nn.Module,
    queries: EvalSet,
    train: Sequences,
    cfg: SASRecConfig,
    device: torch.device | str = "cpu",
    max_users: int | None = None,
    item_chunk: int | None = None,
) -> dict[str, float]:
    """Full-ranking metrics of a SASRec ``model`` on ``queries`` (validation or test).

    Queries are scored shortest history first, so each batch is padded only to its own
    longest history (the metrics are means: order does not change them).
    """
    n_items = model.n_items
    scorer = ModelScorer(model, cfg.max_len, device)
    if max_users is not None:
        queries = queries.head(max_users)
    queries = queries.select(np.argsort(queries.histories.lengths, kind="stable"))
    return evaluate(
        scorer,
        queries,
        n_items,
        users_per_item(train, n_items),
        len(train),
        cfg.eval_batch_size,
        item_chunk,
        max_users=max_users,
        device=device,
    )


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
        scores = _rankable(scorer.gather(state, torch.as_tensor(candidates)))[0]
        ranks.append((scores[:, 1:] >= scores[:, :1]).sum(1).numpy() + 1)
    ranks = np.concatenate(ranks).astype(np.float64)
    out = {f"sampled_hr@{k}": float((ranks <= k).mean()) for k in ks}
    out["sampled_ndcg@10"] = float(np.where(ranks <= 10, 1 / np.log2(ranks + 1), 0).mean())
    out["sampled_mrr"] = float((1 / ranks).mean())
    return out


SESSION_LENGTHS = (1, 2, 3, 5, 10, None)  # None: the whole history


def session_metrics(
    scorers: dict[str, Scorer],
    queries: EvalSet,
    n_items: int,
    lengths: tuple[int | None, ...] = SESSION_LENGTHS,
    batch_size: int = 256,
) -> pd.DataFrame:
    """HR@10 and NDCG@10 of each scorer when it sees only the last n items of each query.

    An anonymous visitor's session: the model (or baseline) is given the last ``n`` items
    and only those are masked from the ranking; ``None`` is the whole history. Long format:
    ``items_seen, system, hr@10, ndcg@10``.
    """
    rows = []
    for length in lengths:
        shown = queries if length is None else queries.session(length)
        label = "all" if length is None else str(length)
        for name, scorer in scorers.items():
            figures = evaluate(scorer, shown, n_items, batch_size=batch_size)
            rows.append(
                {
                    "items_seen": label,
                    "system": name,
                    "hr@10": figures["hr@10"],
                    "ndcg@10": figures["ndcg@10"],
                }
            )
    return pd.DataFrame(rows)
