"""Serving a trained SASRec: recommendations, upsell, session quality, similar items, explanations.

A ``Recommender`` holds the model (eval mode), its config, the item-id mapping and,
optionally, item titles/genres and training popularity counts. Every method takes the
user's own (original) item ids and returns a ``pd.DataFrame`` with ``item_id, score, rank``
(plus ``title`` and ``genres`` when metadata is known). Internally items are ``1..n_items``
and ``0`` is padding, which is never returned.

Histories: unknown item ids are skipped with an ``UnknownItemsWarning`` listing them; an
empty or all-unknown history falls back to the most popular items with a
``PopularityFallbackWarning`` and ``source='popularity'`` in the result (``'model'``
otherwise). Only the most recent ``max_len`` known items feed the model, but
``exclude_seen`` removes every item of the whole history.

Files: ``load`` reads a training checkpoint (``best.pt``) or a bundle written by ``save``;
both use the ``sasrec_utils.checkpoint`` format, read with ``weights_only=True`` (no pickled
code runs) and written atomically (a failed save leaves the previous file intact).
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .checkpoint import CheckpointError, model_from_checkpoint, save_checkpoint
from .config import SASRecConfig
from .model import SASRec

BUNDLE_FORMAT = "sasrec_utils.recommend/1"
HIGH_COHERENCE = 0.4
MEDIUM_COHERENCE = 0.2
MAX_LISTED_UNKNOWN = 20


class UnknownItemsWarning(UserWarning):
    """Some item ids of a history are not in the model's catalogue and were skipped."""


class PopularityFallbackWarning(UserWarning):
    """A history had no known item: the most popular items were recommended instead."""


@dataclass(frozen=True)
class SessionQuality:
    """How coherent a session is: mean pairwise cosine of its items' embeddings.

    ``label`` is ``HIGH`` (score > 0.4), ``MEDIUM`` (> 0.2) or ``LOW``; ``n_items`` is the
    number of distinct known items the score was computed from.
    """

    score: float
    label: str
    n_items: int


class Recommender:
    """A trained SASRec ready to serve requests expressed in original item ids.

    ``titles`` / ``genres`` are ``(n_items + 1,)`` object arrays indexed by internal id
    (entry 0 and unknown entries are ``None``); ``popularity`` is ``(n_items + 1,)`` int64
    training interaction counts (entry 0 is padding), used only for the empty-history
    fallback. Build with ``from_training`` or ``load`` rather than directly.
    """

    def __init__(
        self,
        model: SASRec,
        cfg: SASRecConfig,
        item_ids: Sequence | np.ndarray,
        titles: np.ndarray | None = None,
        genres: np.ndarray | None = None,
        popularity: np.ndarray | None = None,
    ) -> None:
        self.model = model.eval()
        self.cfg = cfg
        self.item_ids = np.asarray(item_ids)
        if len(self.item_ids) != model.n_items:
            raise ValueError(
                f"{len(self.item_ids)} item ids for a model of {model.n_items} items; pass the "
                "item-id mapping the model was trained with (SequenceData.item_ids)"
            )
        self.titles = titles
        self.genres = genres
        self.popularity = popularity
        self._internal = {item: index + 1 for index, item in enumerate(self.item_ids.tolist())}
        self._popular_order = (
            None if popularity is None else np.argsort(-popularity[1:], kind="stable") + 1
        )

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
        titles, genres = _align_metadata(items, item_ids)
        return cls(
            model, cfg, item_ids, titles, genres, _check_popularity(popularity, len(item_ids))
        )

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
        model, cfg, state = model_from_checkpoint(path, device)
        found = state.get("bundle")
        if found is not None and found != BUNDLE_FORMAT:
            raise CheckpointError(
                f"{path}: recommender bundle format {found!r}, expected {BUNDLE_FORMAT!r}; "
                "re-save it with this version of sasrec_utils"
            )
        n_items = model.n_items
        titles = _stored_strings(state.get("titles"), n_items, "titles", path)
        genres = _stored_strings(state.get("genres"), n_items, "genres", path)
        if items is not None:
            titles, genres = _align_metadata(items, state["item_ids"])
        if popularity is None and state.get("popularity") is not None:
            stored = state["popularity"]
            if not isinstance(stored, torch.Tensor) or stored.shape != (n_items + 1,):
                raise CheckpointError(
                    f"{path}: popularity should be a tensor of shape ({n_items + 1},), found "
                    f"{getattr(stored, 'shape', type(stored).__name__)}; the file is damaged"
                )
            popularity = stored.numpy()
        popularity = _check_popularity(popularity, n_items)
        return cls(model, cfg, state["item_ids"], titles, genres, popularity)

    def save(self, path: str | os.PathLike) -> Path:
        """Write weights, config, item ids, titles/genres and popularity atomically.

        The file loads with ``torch.load(weights_only=True)``; if writing fails, an existing
        file at ``path`` is left untouched.
        """
        return save_checkpoint(
            path,
            self.model,
            self.cfg,
            self.item_ids,
            bundle=BUNDLE_FORMAT,
            titles=_strings_for_file(self.titles),
            genres=_strings_for_file(self.genres),
            popularity=None if self.popularity is None else torch.from_numpy(self.popularity),
        )

    @property
    def n_items(self) -> int:
        return self.model.n_items

    @property
    def device(self) -> torch.device:
        return self.model.item_matrix().device

    def __repr__(self) -> str:
        return (
            f"Recommender(n_items={self.n_items}, max_len={self.cfg.max_len}, "
            f"device={self.device}, titles={self.titles is not None}, "
            f"popularity={self.popularity is not None})"
        )

    # ------------------------------------------------------------ recommendations

    def recommend(
        self,
        history: Iterable,
        k: int = 10,
        exclude_seen: bool = True,
        exclude: Iterable | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` next items for one history (oldest first) of original item ids.

        Returns ``item_id, score, rank`` (+ ``title``/``genres``) and ``source``
        (``model`` or ``popularity``). ``exclude`` ids are never returned (unknown ones are
        ignored). Fewer than ``k`` rows come back when fewer candidates remain.
        """
        frame = self._recommend_many({0: history}, k, exclude_seen, exclude, batch=False)
        return frame.drop(columns="query")

    def recommend_batch(
        self,
        histories: Sequence[Iterable] | Mapping[Any, Iterable],
        k: int = 10,
        exclude_seen: bool = True,
        exclude: Iterable | None = None,
        batch_size: int = 64,
    ) -> pd.DataFrame:
        """``recommend`` for many histories, run ``batch_size`` at a time on the device.

        ``histories`` is a list (``query`` = its position) or a mapping such as
        ``{user_id: history}`` (``query`` = the key). ``exclude`` applies to every query.
        Rows equal what ``recommend`` gives for each history, with a ``query`` column first.
        """
        keyed = dict(histories if isinstance(histories, Mapping) else enumerate(histories))
        _check_positive("batch_size", batch_size)
        return self._recommend_many(keyed, k, exclude_seen, exclude, batch_size=batch_size)

    def reengagement(self, history: Iterable, last_n: int = 10) -> pd.DataFrame:
        """One push candidate: the top item given the last ``last_n`` known items.

        Everything in the whole history is excluded. One row (none if nothing is left).
        """
        _check_positive("last_n", last_n)
        known = self._known(history)
        context = known[-min(last_n, self.cfg.max_len) :]
        return self._frame(*self._rank([context], [known], 1, [""])[0])

    def cart_upsell(self, cart: Iterable, k: int = 5) -> pd.DataFrame:
        """Top-``k`` add-on items for a cart, with ``probability`` and a ``message`` per row.

        ``probability`` is a softmax over the ``k`` candidates' scores (sums to 1): the
        share among these suggestions, *not* a calibrated chance that the customer adds
        the item. With the popularity fallback it is each item's share of the candidates'
        interaction counts instead.
        """
        frame = self.recommend(cart, k)
        scores = frame["score"].to_numpy(dtype=np.float64)
        if frame.empty:
            probability, template = scores, ""
        elif frame["source"].iloc[0] == "model":
            shifted = np.exp(scores - scores.max())
            probability = shifted / shifted.sum()
            template = "Customers with this cart often add {name} ({share:.0%})"
        else:
            total = scores.sum()
            probability = scores / total if total > 0 else np.full(len(scores), 1 / len(scores))
            template = "Popular with other customers: {name} ({share:.0%})"
        names = frame["title"] if "title" in frame else frame["item_id"]
        frame.insert(frame.columns.get_loc("rank") + 1, "probability", probability)
        frame["message"] = [
            template.format(name=name if name is not None else item, share=share)
            for name, item, share in zip(names, frame["item_id"], probability, strict=True)
        ]
        return frame

    # ------------------------------------------------------------ item embeddings

    def session_quality(self, history: Iterable) -> SessionQuality:
        """Coherence of a session: mean cosine over all pairs of its distinct known items.

        Uses the model's item table (the input embeddings, tied to the output layer).
        Repeats count once (an item is always similar to itself). For 0 or 1 known items
        there is no pair, so no evidence of a shared theme: the score is ``0.0`` and the
        label ``LOW``. We chose a number over NaN so dashboards and thresholds keep working,
        and ``LOW`` so that code acting on ``HIGH``/``MEDIUM`` sessions never acts on a
        one-click session; ``n_items`` tells "no evidence" (< 2) apart from "incoherent".
        """
        known = np.unique(self._known(history))
        if len(known) < 2:
            return SessionQuality(0.0, "LOW", len(known))
        with torch.no_grad():
            vectors = self._unit_items()[torch.from_numpy(known).to(self.device)]  # (n, D)
            total = vectors.sum(dim=0)
            # sum over pairs i < j of u_i . u_j = (|sum u|^2 - sum |u_i|^2) / 2: O(n D)
            pair_sum = (total @ total - (vectors * vectors).sum()) / 2
        n = len(known)
        score = float(pair_sum) / (n * (n - 1) / 2)
        label = (
            "HIGH" if score > HIGH_COHERENCE else "MEDIUM" if score > MEDIUM_COHERENCE else "LOW"
        )
        return SessionQuality(score, label, n)

    def similar_items(self, item_id: Any, k: int = 10) -> pd.DataFrame:
        """The ``k`` items whose embeddings have the highest cosine with ``item_id``'s.

        ``item_id, score, similarity, rank`` (+ metadata); ``score`` equals ``similarity``
        (kept for the same shape as the other methods). The item itself is excluded.
        """
        _check_positive("k", k)
        target = self._require_known(item_id)
        with torch.no_grad():
            unit = self._unit_items()  # (V, D)
            similarity = unit @ unit[target]  # (V,)
            similarity[0] = -torch.inf
            similarity[target] = -torch.inf
            top = similarity.topk(min(k, self.n_items - 1))
        items, values = top.indices.cpu().numpy(), top.values.float().cpu().numpy()
        frame = self._frame(items, values)
        frame.insert(2, "similarity", values)
        return frame

    # ------------------------------------------------------------ explanation

    def explain(self, history: Iterable, item_id: Any) -> pd.DataFrame:
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
        positions, known = self._known_positions(history)
        if len(known) == 0:
            raise ValueError(
                "explain needs at least one known item in history; got none "
                "(empty or all unknown): there is nothing to attribute"
            )
        target = self._require_known(item_id)
        positions, context = positions[-self.cfg.max_len :], known[-self.cfg.max_len :]
        self.model.eval()
        with torch.no_grad():
            seq = torch.from_numpy(context)[None].to(self.device)  # (1, L)
            hidden, attention = self.model(seq, return_attention=True)
            weight = attention[-1][0, :, -1, :].mean(dim=0).double()  # (L,)
            weight = (weight / weight.sum()).cpu().numpy()
            target_vector = self.model.item_matrix()[target]  # (D,)
            score = float(hidden[0, -1] @ target_vector)
            if len(context) > 1:
                without = np.stack([np.delete(context, j) for j in range(len(context))])
                reduced = self.model.user_vectors(torch.from_numpy(without).to(self.device))
                score_drop = score - (reduced @ target_vector).double().cpu().numpy()
            else:
                score_drop = np.full(1, np.nan)
        frame = pd.DataFrame({"position": positions, "item_id": self.item_ids[context - 1]})
        for column, values in self._metadata(context).items():
            frame[column] = values
        frame["weight"] = weight
        frame["score_drop"] = score_drop
        frame.attrs["score"] = score
        return frame

    # ------------------------------------------------------------ internals

    def _known_positions(self, history: Iterable) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``history``, internal ids) of its known items, and warn of the rest."""
        if isinstance(history, (str, bytes)):
            raise TypeError(
                f"history must be a sequence of item ids, got the string {history!r}; "
                "wrap a single id in a list"
            )
        values = history.tolist() if hasattr(history, "tolist") else list(history)
        internal = np.array([self._internal.get(item, 0) for item in values], dtype=np.int64)
        unknown = [item for item, index in zip(values, internal, strict=True) if index == 0]
        if unknown:
            listed = ", ".join(repr(item) for item in unknown[:MAX_LISTED_UNKNOWN])
            extra = len(unknown) - MAX_LISTED_UNKNOWN
            more = f" and {extra} more" if extra > 0 else ""
            _warn(
                f"skipped {len(unknown)} item id(s) not in the model's catalogue: "
                f"[{listed}]{more}; check the ids are original ids of this model's data",
                UnknownItemsWarning,
            )
        positions = np.flatnonzero(internal)
        return positions, internal[positions]

    def _known(self, history: Iterable) -> np.ndarray:
        """(n,) internal ids of the known items of ``history``, in order."""
        return self._known_positions(history)[1]

    def _require_known(self, item_id: Any) -> int:
        internal = self._internal.get(item_id, 0)
        if internal == 0:
            raise ValueError(
                f"item {item_id!r} is not in the model's catalogue of {self.n_items} items; "
                f"pass an original item id such as {self.item_ids[0]!r}"
            )
        return internal

    def _recommend_many(
        self,
        keyed: dict[Any, Iterable],
        k: int,
        exclude_seen: bool,
        exclude: Iterable | None,
        batch: bool = True,
        batch_size: int = 64,
    ) -> pd.DataFrame:
        """Ranked rows of every history in ``keyed``, with the key in a ``query`` column."""
        _check_positive("k", k)
        if isinstance(exclude, (str, bytes)):
            raise TypeError(f"exclude must be a collection of item ids, got {exclude!r}")
        banned = np.array(
            [self._internal[item] for item in exclude or () if item in self._internal],
            dtype=np.int64,
        )
        keys = list(keyed)
        contexts, excluded = [], []
        for key in keys:
            known = self._known(keyed[key])
            contexts.append(known[-self.cfg.max_len :])
            excluded.append(np.concatenate([known, banned]) if exclude_seen else banned)
        ranked = []
        for start in range(0, len(keys), batch_size):
            stop = start + batch_size
            labels = [f"query {key!r}" if batch else "" for key in keys[start:stop]]
            ranked += self._rank(contexts[start:stop], excluded[start:stop], k, labels)
        # one DataFrame for the whole batch: building one per query costs more than the model
        lengths = np.array([len(items) for items, _, _ in ranked], dtype=np.int64)
        frame = self._frame(
            np.concatenate([np.zeros(0, dtype=np.int64), *(items for items, _, _ in ranked)]),
            np.concatenate([np.zeros(0), *(scores for _, scores, _ in ranked)]),
            np.repeat(np.array([source for _, _, source in ranked], dtype=str), lengths),
            np.concatenate([np.zeros(0, dtype=np.int64), *(np.arange(1, n + 1) for n in lengths)]),
        )
        frame.insert(0, "query", pd.Series(keys).repeat(lengths).to_numpy())
        return frame

    def _rank(
        self,
        contexts: list[np.ndarray],
        excluded: list[np.ndarray],
        k: int,
        labels: list[str],
    ) -> list[tuple[np.ndarray, np.ndarray, str]]:
        """Per query ``(internal ids, scores, source)`` of the top-``k`` allowed items.

        Queries with a non-empty context are scored together by the model; the others get
        the popularity fallback.
        """
        results: list[tuple[np.ndarray, np.ndarray, str] | None] = [None] * len(contexts)
        scored = [row for row, context in enumerate(contexts) if len(context)]
        empty = [row for row, context in enumerate(contexts) if not len(context)]
        if empty:
            self._warn_fallback([labels[row] for row in empty])
            for row in empty:
                results[row] = (*self._popular(excluded[row], k), "popularity")
        if scored:
            scores = self._scores([contexts[row] for row in scored])  # (B, V)
            scores[:, 0] = -torch.inf
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

    def _scores(self, contexts: list[np.ndarray]) -> torch.Tensor:
        """(B, V) float32 scores of every item after each context (each <= max_len items)."""
        width = max(len(context) for context in contexts)
        seq = np.zeros((len(contexts), width), dtype=np.int64)  # left-padded (B, L)
        for row, context in enumerate(contexts):
            seq[row, width - len(context) :] = context
        self.model.eval()
        with torch.no_grad():
            users = self.model.user_vectors(torch.from_numpy(seq).to(self.device))  # (B, D)
            return (users @ self.model.item_matrix().T).float()

    def _popular(self, excluded: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` most popular allowed internal ids (ties: lower id first) and counts."""
        if self._popular_order is None:
            raise ValueError(
                "the history has no known item and this recommender has no popularity counts "
                "for a fallback (a training checkpoint stores none); pass popularity="
                "sequences.item_popularity(split.train, n_items) to from_training/load"
            )
        allowed = self._popular_order[~np.isin(self._popular_order, excluded)][:k]
        return allowed, self.popularity[allowed].astype(np.float64)

    def _warn_fallback(self, labels: list[str]) -> None:
        where = ", ".join(label for label in labels if label)
        _warn(
            f"{where + ': ' if where else ''}empty or all-unknown history; recommending the most "
            "popular items instead (source='popularity')",
            PopularityFallbackWarning,
        )

    def _unit_items(self) -> torch.Tensor:
        """(V, D) item embeddings scaled to unit length (the zero padding row stays zero)."""
        table = self.model.item_matrix().float()
        return table / table.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def _metadata(self, internal: np.ndarray) -> dict[str, np.ndarray]:
        columns = {}
        if self.titles is not None:
            columns["title"] = self.titles[internal]
        if self.genres is not None:
            columns["genres"] = self.genres[internal]
        return columns

    def _frame(
        self,
        internal: np.ndarray,
        scores: np.ndarray,
        source: str | np.ndarray | None = None,
        ranks: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """``item_id, score, rank`` (+ metadata) and ``source`` for ranked internal ids.

        ``ranks`` defaults to ``1..n`` (one ranked list); ``source`` is one value or one per row.
        """
        columns = {
            "item_id": self.item_ids[internal - 1],
            "score": np.asarray(scores, dtype=np.float64),
            "rank": np.arange(1, len(internal) + 1) if ranks is None else ranks,
            **self._metadata(internal),
        }
        if source is not None:
            columns["source"] = source
        return pd.DataFrame(columns)


def _warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first caller outside this module."""
    frame, level = inspect.currentframe(), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _align_metadata(
    items: pd.DataFrame | None, item_ids: Sequence | np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(n_items + 1,)`` title and genres arrays by internal id (from ``item_id, title``)."""
    if items is None:
        return None, None
    missing = [column for column in ("item_id", "title") if column not in items.columns]
    if missing:
        raise ValueError(
            f"item metadata lacks column(s) {missing}; found {list(items.columns)}; "
            "pass a DataFrame with item_id, title (and optionally genres)"
        )
    unique = items.drop_duplicates("item_id").set_index("item_id")
    ids = pd.Index(np.asarray(item_ids))
    aligned = []
    for column in ("title", "genres"):
        if column not in unique.columns:
            aligned.append(None)
            continue
        values = unique[column].reindex(ids)
        strings = [None if pd.isna(value) else str(value) for value in values]
        aligned.append(np.array([None, *strings], dtype=object))
    return aligned[0], aligned[1]


def _strings_for_file(values: np.ndarray | None) -> list[str | None] | None:
    return None if values is None else list(values[1:])


def _stored_strings(
    values: Any, n_items: int, name: str, path: str | os.PathLike
) -> np.ndarray | None:
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != n_items:
        found = len(values) if isinstance(values, list) else type(values).__name__
        raise CheckpointError(
            f"{path}: {name} should be a list of {n_items} entries (one per item), found "
            f"{found}; the file is damaged or was edited"
        )
    return np.array([None, *values], dtype=object)


def _check_popularity(popularity: np.ndarray | None, n_items: int) -> np.ndarray | None:
    """Counts as ``(n_items + 1,)`` int64 with entry 0 = padding = 0."""
    if popularity is None:
        return None
    counts = np.asarray(popularity)
    if counts.shape == (n_items,):
        counts = np.concatenate([[0], counts])
    if counts.shape != (n_items + 1,) or (counts < 0).any():
        raise ValueError(
            f"popularity must be non-negative counts of shape ({n_items + 1},) (index 0 = "
            f"padding) or ({n_items},), got shape {counts.shape}"
        )
    counts = counts.astype(np.int64)
    counts[0] = 0
    return counts
