"""Serving a trained SASRec: next items, batches, re-engagement, cart add-ons, similar items.

A ``Recommender`` holds the model (eval mode), its config and a ``Catalogue`` (the item-id
mapping and, optionally, titles/genres and training popularity). Every method takes the
user's own (external) item ids and returns a ``pd.DataFrame`` with ``item_id, score, rank``
(plus ``title`` and ``genres`` when known; names in ``columns.Columns``). Internally items
are ``1..n_items`` and ``0`` is padding, which is never returned.

Histories: unknown item ids are skipped with an ``UnknownItemsWarning`` listing them; an
empty or all-unknown history falls back to the most popular items with a
``PopularityFallbackWarning`` and ``source='popularity'`` in the result (``'model'``
otherwise). Only the most recent ``max_len`` known items feed the model, but
``exclude_seen`` removes every item of the whole history. ``exclude`` takes any iterable
of ids (list, tuple, set, numpy array, pandas Series). A model whose scores hold NaN or
inf (damaged weights, a diverged training) raises ``RuntimeError`` instead of serving
an empty or arbitrary list. Explanations and session scores are in
``sasrec_utils.serving.insights``.

Files: ``load`` reads a training checkpoint (``best.pt``) or a bundle written by ``save``;
both use the ``training.checkpoint`` format, read with ``weights_only=True`` (no pickled
code runs) and written atomically (a failed save leaves the previous file intact).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import SASRecConfig
from ..data.ids import as_id_list
from ..model.sasrec import SASRec
from ..runtime import use_threads, warn_caller
from .answers import (
    Ranked,
    batch_frame,
    check_finite_scores,
    check_positive,
    ranked_frame,
    shares,
    with_probability,
)
from .bundle import load_bundle, save_bundle
from .catalogue import Catalogue
from .columns import Columns

__all__ = ["PopularityFallbackWarning", "Recommender", "with_probability"]


class PopularityFallbackWarning(UserWarning):
    """A history had no known item: the most popular items were recommended instead."""


class Recommender:
    """A trained SASRec ready to serve requests expressed in external item ids.

    Build with ``from_training`` or ``load`` rather than directly. On CPU it sets torch's
    threads by the training rule (``runtime.use_threads(cfg.num_threads)``).
    """

    def __init__(self, model: SASRec, cfg: SASRecConfig, catalogue: Catalogue) -> None:
        if catalogue.n_items != model.n_items:
            raise ValueError(
                f"{catalogue.n_items} item ids for a model of {model.n_items} items; pass the "
                "item-id mapping the model was trained with (SequenceData.item_ids)"
            )
        self.model = model.eval()
        self.cfg = cfg
        self.catalogue = catalogue
        if next(model.parameters()).device.type == "cpu":  # the rule training uses
            use_threads(cfg.num_threads)

    # ------------------------------------------------------------ building and files

    @classmethod
    def from_training(
        cls,
        model: SASRec,
        cfg: SASRecConfig,
        item_ids: Sequence | np.ndarray,
        items: pd.DataFrame | None = None,
        popularity: np.ndarray | None = None,
    ) -> Recommender:
        """Wrap a freshly trained ``model`` (used as is, not copied; set to eval mode).

        ``items``: metadata with ``item_id, title`` (optional ``genres``).
        ``popularity``: counts per internal id, ``(n_items + 1,)`` as
        ``sequences.item_popularity(split.train, n_items)`` returns, or ``(n_items,)``.
        """
        return cls(model, cfg, Catalogue.from_metadata(item_ids, items, popularity))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        device: str | torch.device = "cpu",
        items: pd.DataFrame | None = None,
        popularity: np.ndarray | None = None,
    ) -> Recommender:
        """Read a training checkpoint or a ``save`` bundle onto ``device``.

        ``items`` / ``popularity`` override what the file holds (a training checkpoint has
        neither). Raises ``CheckpointError`` for a missing, truncated, foreign or
        inconsistent file.
        """
        return cls(*load_bundle(path, device, items, popularity))

    def save(self, path: str | os.PathLike) -> Path:
        """Write weights, config, item ids, titles/genres and popularity atomically.

        The file loads with ``torch.load(weights_only=True)``; if writing fails, an existing
        file at ``path`` is left untouched.
        """
        return save_bundle(path, self.model, self.cfg, self.catalogue)

    @property
    def n_items(self) -> int:
        return self.model.n_items

    @property
    def device(self) -> torch.device:
        return self.model.item_matrix().device

    def __repr__(self) -> str:
        return (
            f"Recommender(n_items={self.n_items}, max_len={self.cfg.max_len}, "
            f"device={self.device}, titles={self.catalogue.titles is not None}, "
            f"popularity={self.catalogue.popularity is not None})"
        )

    # ------------------------------------------------------------ recommendations

    def recommend(
        self,
        history: Iterable,
        k: int = 10,
        exclude_seen: bool = True,
        exclude: Iterable | None = None,
        candidates: Iterable | Callable[[Any], bool] | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` next items for one history (oldest first) of external item ids.

        Returns ``item_id, score, rank`` (+ ``title``/``genres``) and ``source``
        (``model`` or ``popularity``). ``exclude`` ids are never returned (unknown ones are
        ignored). ``candidates`` limits the answer to an allow-list of ids or to the ids a
        predicate accepts (e.g. ``lambda i: i.startswith("nfmcg_")``: marketplace items
        only, whatever the history holds). Fewer than ``k`` rows come back when fewer
        candidates remain.
        """
        frame = self._recommend_many(
            {0: history}, k, exclude_seen, exclude, candidates, batch=False
        )
        return frame.drop(columns=Columns.QUERY)

    def recommend_batch(
        self,
        histories: Sequence[Iterable] | Mapping[Any, Iterable],
        k: int = 10,
        exclude_seen: bool = True,
        exclude: Iterable | None = None,
        candidates: Iterable | Callable[[Any], bool] | None = None,
        batch_size: int = 64,
    ) -> pd.DataFrame:
        """``recommend`` for many histories, run ``batch_size`` at a time on the device.

        ``histories`` is a list (``query`` = its position) or a mapping such as
        ``{user_id: history}`` (``query`` = the key). ``exclude`` and ``candidates`` apply
        to every query. Rows equal what ``recommend`` gives for each history, with a
        ``query`` column first.
        """
        keyed = dict(histories if isinstance(histories, Mapping) else enumerate(histories))
        check_positive("batch_size", batch_size)
        return self._recommend_many(
            keyed, k, exclude_seen, exclude, candidates, batch_size=batch_size
        )

    def most_popular(self, history: Iterable, k: int = 10) -> pd.DataFrame:
        """The most popular items not in ``history``: the reference a model must beat.

        Same columns as ``recommend`` (``source`` is ``popularity``); needs popularity counts.
        """
        check_positive("k", k)
        internal, counts = self.catalogue.popular(self.catalogue.known(history), k)
        return ranked_frame(self.catalogue, internal, counts, "popularity")

    def versus_popular(self, history: Iterable, k: int = 10) -> pd.DataFrame:
        """This model's top ``k`` beside most-popular's for one history, by readable name.

        Columns ``rank, model, most-popular``; ``attrs`` hold ``overlap`` (items in both)
        and ``genre_share`` of each list (``Catalogue.genre_share``; NaN without genres).
        """
        ours, popular = self.recommend(history, k), self.most_popular(history, k)
        internal = [self.catalogue.to_internal(f[Columns.ITEM]) for f in (ours, popular)]
        size = min(len(ours), len(popular))
        frame = pd.DataFrame(
            {
                Columns.RANK: np.arange(1, size + 1),
                "model": self.catalogue.names(internal[0][:size]),
                "most-popular": self.catalogue.names(internal[1][:size]),
            }
        ).set_index(Columns.RANK)
        session = self.catalogue.known(history)
        frame.attrs["overlap"] = len(set(internal[0]) & set(internal[1]))
        frame.attrs["genre_share"] = {
            name: self.catalogue.genre_share(session, ids)
            for name, ids in zip(("model", "most-popular"), internal, strict=True)
        }
        return frame

    def reengagement(self, history: Iterable, last_n: int = 10) -> pd.DataFrame:
        """One push candidate: the top item given the last ``last_n`` known items.

        Everything in the whole history is excluded. One row (none if nothing is left).
        """
        check_positive("last_n", last_n)
        known = self.catalogue.known(history)
        context = known[-min(last_n, self.cfg.max_len) :]
        return ranked_frame(self.catalogue, *self._rank([context], [known], 1, [""], None)[0])

    def cart_upsell(
        self, cart: Iterable, k: int = 5, exclude: Iterable | None = None
    ) -> pd.DataFrame:
        """Top-``k`` add-on items for a cart, with ``probability`` per row.

        ``probability`` is a softmax over the ``k`` candidates' scores (sums to 1): the
        share among these suggestions, *not* a calibrated chance that the customer adds
        the item. With the popularity fallback it is each item's share of the candidates'
        interaction counts instead. ``exclude`` ids (e.g. out of stock) are never offered.
        """
        frame = self.recommend(as_id_list(cart, "cart"), k, exclude=exclude)
        frame.insert(frame.columns.get_loc(Columns.RANK) + 1, Columns.PROBABILITY, shares(frame))
        return frame

    def similar_items(self, item_id: Any, k: int = 10) -> pd.DataFrame:
        """The ``k`` items whose embeddings have the highest cosine with ``item_id``'s.

        ``item_id, score, rank`` (+ metadata), ``score`` being the cosine similarity of the
        two items' vectors in the model's item table. The item itself is excluded.
        """
        check_positive("k", k)
        target = self.catalogue.require(item_id)
        with torch.no_grad():
            unit = self.unit_items()  # (V, D)
            similarity = unit @ unit[target]  # (V,)
            check_finite_scores(similarity, f"similar_items({item_id!r})")
            similarity[0] = -torch.inf
            similarity[target] = -torch.inf
            top = similarity.topk(min(k, self.n_items - 1))
        indices, values = top.indices.cpu().numpy(), top.values.float().cpu().numpy()
        return ranked_frame(self.catalogue, indices, values)

    def unit_items(self) -> torch.Tensor:
        """(V, D) item embeddings scaled to unit length (the zero padding row stays zero)."""
        table = self.model.item_matrix().float()
        return table / table.norm(dim=1, keepdim=True).clamp_min(1e-12)

    # ------------------------------------------------------------ internals

    def _recommend_many(
        self,
        keyed: dict[Any, Iterable],
        k: int,
        exclude_seen: bool,
        exclude: Iterable | None,
        candidates: Iterable | Callable[[Any], bool] | None = None,
        batch: bool = True,
        batch_size: int = 64,
    ) -> pd.DataFrame:
        """Ranked rows of every history in ``keyed``, with the key in a ``query`` column."""
        check_positive("k", k)
        banned = self.catalogue.to_internal(() if exclude is None else exclude, "exclude")
        banned = banned[banned > 0]
        allowed = self.catalogue.allowed(candidates)  # (V,) bool or None: every item
        keys = list(keyed)
        contexts, excluded = [], []
        for key in keys:
            known = self.catalogue.known(
                keyed[key], f"history of query {key!r}" if batch else "history"
            )
            contexts.append(known[-self.cfg.max_len :])
            excluded.append(np.concatenate([known, banned]) if exclude_seen else banned)
        ranked = []
        for start in range(0, len(keys), batch_size):
            stop = start + batch_size
            labels = [f"query {key!r}" if batch else "" for key in keys[start:stop]]
            ranked += self._rank(contexts[start:stop], excluded[start:stop], k, labels, allowed)
        return batch_frame(self.catalogue, keys, ranked)

    def _rank(
        self,
        contexts: list[np.ndarray],
        excluded: list[np.ndarray],
        k: int,
        labels: list[str],
        allowed: np.ndarray | None,
    ) -> list[Ranked]:
        """Per query ``(internal ids, scores, source)`` of the top-``k`` allowed items.

        ``allowed`` (V,) bool limits every query's answer (``None``: no limit). Queries
        with a non-empty context are scored together by the model; the others get the
        popularity fallback.
        """
        results: list[Ranked | None] = [None] * len(contexts)
        scored = [row for row, context in enumerate(contexts) if len(context)]
        empty = [row for row, context in enumerate(contexts) if not len(context)]
        if empty:
            where = ", ".join(labels[row] for row in empty if labels[row])
            warn_caller(
                f"{where + ': ' if where else ''}empty or all-unknown history; recommending "
                "the most popular items instead (source='popularity')",
                PopularityFallbackWarning,
            )
            for row in empty:
                popular = self.catalogue.popular(excluded[row], k, allowed)
                results[row] = (*popular, "popularity")
        if scored:
            scores = self.scores([contexts[row] for row in scored])  # (B, V)
            check_finite_scores(scores, "recommend")
            scores[:, 0] = -torch.inf
            if allowed is not None:
                scores.masked_fill_(~torch.from_numpy(allowed).to(self.device), -torch.inf)
            lengths = [len(excluded[row]) for row in scored]
            rows = np.repeat(np.arange(len(scored)), lengths)
            columns = np.concatenate([excluded[row] for row in scored])
            rows, columns = torch.from_numpy(rows), torch.from_numpy(columns)
            scores[rows.to(self.device), columns.to(self.device)] = -torch.inf
            top = scores.topk(min(k, scores.shape[1]), dim=1)
            values, indices = top.values.cpu().numpy(), top.indices.cpu().numpy()
            for offset, row in enumerate(scored):
                allowed = np.isfinite(values[offset])
                results[row] = (indices[offset][allowed], values[offset][allowed], "model")
        return results

    def scores(self, contexts: list[np.ndarray]) -> torch.Tensor:
        """(B, V) float32 scores of every item after each context (each <= max_len items)."""
        width = max(len(context) for context in contexts)
        seq = np.zeros((len(contexts), width), dtype=np.int64)  # left-padded (B, L)
        for row, context in enumerate(contexts):
            seq[row, width - len(context) :] = context
        self.model.eval()
        with torch.no_grad():
            users = self.model.user_vectors(torch.from_numpy(seq).to(self.device))  # (B, D)
            return (users @ self.model.item_matrix().T).float()
