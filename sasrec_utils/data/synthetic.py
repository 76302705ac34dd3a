"""Synthetic event logs in the retail layout, at any size, in bounded memory.

``synthetic_events`` writes what a retail team hands over: event parquets
(``user_id, item_id, timestamp``), ``item_vocabulary.parquet`` (``item_id, index``) and
``item_embeddings.parquet`` (``item_id, embedding``: 128-d vectors), so the real loaders
read it unchanged. The log is built to look like shopping:

- three item domains with id prefixes: retail ``fmcg_``, marketplace ``nfmcg_`` and a
  few promotional ``offer_`` items; retail and marketplace events go to separate files;
- power-law item popularity (Zipf) and power-law events per user and per session;
- sequential structure a model can learn: items form small clusters laid out as rings;
  inside a session a shopper usually walks to the next item of the ring (sometimes
  skipping one), otherwise jumps to a popular item; pretrained vectors place each item
  near its cluster's centre, along the ring's direction;
- timestamps in seconds: minutes apart within a session, days apart between sessions;
- a few events of retired offers missing from the vocabulary, a few exact duplicate
  events and a few items without a vector, so loaders' reporting is exercised.

Users are generated ``chunk_events`` at a time with vectorised NumPy and appended to the
parquet files, so the full retail preset (9.2M events) needs a few hundred MB at most.
Sizes by name: ``presets.LOG_SIZES``; command line: ``sasrec synthetic``.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_path
from ..config import SASRecConfig
from ..presets import LOG_SIZES

# (id prefix, share of items, relative popularity, events file)
DOMAINS = (
    ("fmcg", 0.45, 1.0, "retail"),
    ("nfmcg", 0.53, 1.1, "marketplace"),
    ("offer", 0.02, 0.6, "retail"),
)
START_TIME = 1_672_531_200  # 2023-01-01 00:00:00 UTC, in seconds
YEAR_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class SyntheticFiles:
    """Where ``synthetic_events`` wrote its files, and what it put in them."""

    events_paths: list[Path]
    vocabulary_path: Path
    embeddings_path: Path
    n_events: int  # rows written, duplicates and unmapped events included
    n_duplicates: int
    n_unmapped_events: int
    n_items_without_embedding: int

    def config(self, **changes) -> SASRecConfig:
        """A config that reads these files (``dataset='events'``), with ``changes`` applied."""
        return SASRecConfig(
            dataset="events",
            events_paths=[str(p) for p in self.events_paths],
            vocabulary_path=str(self.vocabulary_path),
            embeddings_path=str(self.embeddings_path),
            **changes,
        )


@dataclass(frozen=True)
class _Catalogue:
    """Items in their hidden layout: domain blocks, each cut into rings (clusters)."""

    ids: np.ndarray  # (n_items,) str original ids, by hidden position
    domain: np.ndarray  # (n_items,) int8 index into DOMAINS
    ring_start: np.ndarray  # (n_items,) int64 first hidden position of the item's ring
    ring_size: np.ndarray  # (n_items,) int64
    popularity: np.ndarray  # (n_items,) float64 jump probabilities, summing to 1


def _catalogue(
    n_items: int, cluster_size: int, popularity_exponent: float, rng: np.random.Generator
) -> _Catalogue:
    shares = np.array([d[1] for d in DOMAINS])
    counts = np.floor(shares * n_items).astype(np.int64)
    counts[1] += n_items - counts.sum()  # marketplace takes the rounding remainder
    domain = np.repeat(np.arange(len(DOMAINS), dtype=np.int8), counts)
    ring_start = np.empty(n_items, dtype=np.int64)
    ring_size = np.empty(n_items, dtype=np.int64)
    ids = np.empty(n_items, dtype=object)
    first = 0
    for d, count in enumerate(counts):
        local = np.arange(count)
        start = first + local - local % cluster_size
        ring_start[first : first + count] = start
        ring_size[first : first + count] = np.minimum(cluster_size, first + count - start)
        numbers = rng.permutation(count) + 1  # original ids do not reveal the layout
        ids[first : first + count] = [f"{DOMAINS[d][0]}_{n:07d}" for n in numbers]
        first += count
    rank = rng.permutation(n_items) + 1
    weight = rank.astype(np.float64) ** -popularity_exponent
    weight *= np.array([d[2] for d in DOMAINS])[domain]
    return _Catalogue(ids, domain, ring_start, ring_size, weight / weight.sum())


def _user_lengths(
    n_users: int, n_events: int, exponent: float, rng: np.random.Generator
) -> np.ndarray:
    """(n_users,) events per user: 1 + a multinomial split with Pareto weights (sum exact)."""
    if n_events < n_users:
        raise ValueError(
            f"n_events={n_events} < n_users={n_users}: every user needs at least one event"
        )
    weight = np.minimum(rng.pareto(exponent, n_users) + 1, 100.0)
    return 1 + rng.multinomial(n_events - n_users, weight / weight.sum())


def _chunk_items(
    users: np.ndarray,
    lengths: np.ndarray,
    cat: _Catalogue,
    follow_prob: float,
    session_exponent: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events of a block of users: (user, hidden item, timestamp), each (E,), in time order."""
    n = int(lengths.sum())
    user = np.repeat(users, lengths)
    first = np.zeros(n, dtype=bool)
    first[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = True
    # power-law sessions: boundaries from Zipf lengths, and every user starts a session
    sessions = np.minimum(rng.zipf(session_exponent, n // 2 + 1), 200)
    boundaries = np.cumsum(sessions)
    new_session = first.copy()
    new_session[np.concatenate([[0], boundaries[boundaries < n]])] = True
    # a jump starts a walk at a popular item; otherwise walk 1 (or 2) steps along the ring
    jump = new_session | (rng.random(n) > follow_prob)
    step = np.where(jump, 0, 1 + (rng.random(n) < 0.2))
    walked = np.cumsum(step)
    walk = np.cumsum(jump) - 1  # (n,) which walk each event belongs to
    walk_start = np.flatnonzero(jump)
    base = rng.choice(len(cat.popularity), size=len(walk_start), p=cat.popularity)[walk]
    offset = walked - walked[walk_start][walk]
    start = cat.ring_start[base]
    item = start + (base - start + offset) % cat.ring_size[base]
    # time: users begin within a year; seconds apart in a session, days between sessions
    gap = np.where(
        new_session,
        1 + rng.exponential(3 * 24 * 3600, n).astype(np.int64),
        1 + rng.exponential(90, n).astype(np.int64),
    )
    gap[first] = START_TIME + rng.integers(0, YEAR_SECONDS, len(users))
    elapsed = np.cumsum(gap)
    user_start = np.repeat(elapsed[first] - gap[first], lengths)
    return user, item, elapsed - user_start


def _write_embeddings(
    path: Path,
    cat: _Catalogue,
    names: pa.Array,
    rows: np.ndarray,
    dim: int,
    rng: np.random.Generator,
    chunk: int = 65_536,
) -> None:
    """Vectors of items ``rows`` (in that order): ring centre + position along the ring's
    direction + noise, scaled by ``1/sqrt(dim)``; written ``chunk`` rows at a time."""
    rings, ring_of = np.unique(cat.ring_start, return_inverse=True)
    centre = rng.normal(size=(len(rings), dim)).astype(np.float32)
    direction = rng.normal(size=(len(rings), dim)).astype(np.float32)
    schema = pa.schema([("item_id", pa.string()), ("embedding", pa.list_(pa.float32(), dim))])
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for lo in range(0, len(rows), chunk):
            item = rows[lo : lo + chunk]
            ring = ring_of[item]
            position = (item - cat.ring_start[item]) / cat.ring_size[item]
            noise = rng.normal(scale=0.3, size=(len(item), dim))
            vectors = centre[ring] + position[:, None] * direction[ring] + noise
            flat = pa.array((vectors / np.sqrt(dim)).astype(np.float32).reshape(-1))
            embedding = pa.FixedSizeListArray.from_arrays(flat, dim)
            writer.write_table(
                pa.table({"item_id": names.take(pa.array(item)), "embedding": embedding}, schema)
            )


EVENT_SCHEMA = pa.schema(
    [("user_id", pa.string()), ("item_id", pa.string()), ("timestamp", pa.int64())]
)


def _noisy_chunk(
    users: np.ndarray,
    lengths: np.ndarray,
    cat: _Catalogue,
    n_retired: int,
    follow_prob: float,
    session_exponent: float,
    duplicate_fraction: float,
    unmapped_fraction: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """A block of users' events with retired offers and duplicates mixed in.

    Returns (user, item, timestamp) arrays (E,) and the numbers of duplicates and of
    retired-offer events; retired offers have hidden ids ``>= n_items``.
    """
    n_items = len(cat.popularity)
    user, item, stamp = _chunk_items(users, lengths, cat, follow_prob, session_exponent, rng)
    retired = np.flatnonzero(rng.random(len(item)) < unmapped_fraction)
    item[retired] = n_items + rng.integers(0, n_retired, len(retired))
    extra = np.flatnonzero(rng.random(len(item)) < duplicate_fraction)
    user, item, stamp = (np.concatenate([a, a[extra]]) for a in (user, item, stamp))
    return user, item, stamp, len(extra), len(retired)


def _write_events(
    paths: dict[str, Path],
    blocks: list[np.ndarray],
    make_chunk,
    names: pa.Array,
    user_names: pa.Array,
    in_marketplace: np.ndarray,
) -> tuple[int, int, int]:
    """Write each block of users' events to the retail / marketplace file of its items.

    ``make_chunk(users)`` gives what ``_noisy_chunk`` returns; ``in_marketplace`` (n_items,)
    says which file an item's events go to (retired offers go to the retail file). Every
    file is renamed into place only when all are written. Returns (rows, duplicates,
    retired-offer events).
    """
    written = duplicates = unmapped = 0
    with ExitStack() as files:
        writers = {
            name: files.enter_context(
                pq.ParquetWriter(files.enter_context(atomic_path(path)), EVENT_SCHEMA)
            )
            for name, path in paths.items()
        }
        for users in blocks:
            if len(users) == 0:
                continue
            user, item, stamp, n_duplicates, n_unmapped = make_chunk(users)
            market = np.zeros(len(item), dtype=bool)
            known = item < len(in_marketplace)
            market[known] = in_marketplace[item[known]]
            for name, rows in (("retail", ~market), ("marketplace", market)):
                table = pa.table(
                    {
                        "user_id": user_names.take(pa.array(user[rows])),
                        "item_id": names.take(pa.array(item[rows])),
                        "timestamp": pa.array(stamp[rows], pa.int64()),
                    }
                )
                writers[name].write_table(table)
            written += len(item)
            duplicates += n_duplicates
            unmapped += n_unmapped
    return written, duplicates, unmapped


def _check_sizes(n_users: int, n_items: int, cluster_size: int) -> None:
    """A ``ValueError`` unless there is a user and there are two clusters of items."""
    if n_items < 2 * cluster_size or n_users < 1:
        raise ValueError(
            f"n_items={n_items}, n_users={n_users}: need n_users >= 1 and n_items >= "
            f"{2 * cluster_size} (two clusters of cluster_size={cluster_size})"
        )


def _write_items(
    folder: Path, cat: _Catalogue, names: pa.Array, embedding_dim: int, rng: np.random.Generator
) -> int:
    """Write ``item_vocabulary.parquet`` and ``item_embeddings.parquet`` into ``folder``;
    the number of items left without a vector."""
    n_items = len(cat.ids)
    index = rng.permutation(n_items)
    by_name = np.argsort(cat.ids)  # vocabulary rows sorted by id, so only `index` orders it
    vocab = pa.table(
        {"item_id": names.slice(0, n_items).take(by_name), "index": pa.array(index[by_name])}
    )
    with atomic_path(folder / "item_vocabulary.parquet") as tmp:
        pq.write_table(vocab, tmp)
    n_missing = max(1, n_items // 2000)
    rows = rng.permutation(n_items)[: n_items - n_missing]  # shuffled, a few left out
    _write_embeddings(folder / "item_embeddings.parquet", cat, names, rows, embedding_dim, rng)
    return n_missing


def synthetic_events(
    out_dir: str | os.PathLike,
    n_users: int = LOG_SIZES["tiny"]["n_users"],
    n_items: int = LOG_SIZES["tiny"]["n_items"],
    n_events: int = LOG_SIZES["tiny"]["n_events"],
    seed: int = 0,
    *,
    embedding_dim: int = 128,
    cluster_size: int = 12,
    follow_prob: float = 0.75,
    popularity_exponent: float = 0.8,
    user_exponent: float = 1.5,
    session_exponent: float = 2.2,
    duplicate_fraction: float = 0.001,
    unmapped_fraction: float = 0.001,
    chunk_events: int = 1_000_000,
) -> SyntheticFiles:
    """Write a synthetic retail log into ``out_dir`` and return the paths.

    Files: ``events_retail.parquet`` (``fmcg_``/``offer_`` items),
    ``events_marketplace.parquet`` (``nfmcg_``), ``item_vocabulary.parquet`` (``n_items``
    rows, ``index`` a permutation of ``0..n_items-1``) and ``item_embeddings.parquet``
    (``embedding_dim`` floats per item, rows in another order, a few items missing).
    ``n_events`` counts generated events; about ``duplicate_fraction`` more rows are exact
    duplicates and about ``unmapped_fraction`` of events name retired offers that the
    vocabulary lacks. The same arguments always give the same files.
    """
    _check_sizes(n_users, n_items, cluster_size)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cat = _catalogue(n_items, cluster_size, popularity_exponent, rng)
    n_retired = max(1, n_items // 1000)
    names = pa.array(
        [*cat.ids, *(f"offer_{n:07d}" for n in range(n_items + 1, n_items + 1 + n_retired))]
    )
    file_of_domain = np.array([d[3] == "marketplace" for d in DOMAINS])  # 0 retail, 1 market
    lengths = _user_lengths(n_users, n_events, user_exponent, rng)
    user_names = pa.array([f"user_{u:07d}" for u in rng.permutation(n_users) + 1])
    bounds = np.searchsorted(np.cumsum(lengths), np.arange(chunk_events, n_events, chunk_events))
    paths = {name: folder / f"events_{name}.parquet" for name in ("retail", "marketplace")}
    noise = (follow_prob, session_exponent, duplicate_fraction, unmapped_fraction)
    counts = _write_events(
        paths,
        np.split(np.arange(n_users), np.unique(bounds)),
        lambda users: _noisy_chunk(users, lengths[users], cat, n_retired, *noise, rng),
        names,
        user_names,
        file_of_domain[cat.domain],
    )
    n_missing = _write_items(folder, cat, names, embedding_dim, rng)
    return SyntheticFiles(
        [paths["retail"], paths["marketplace"]],
        folder / "item_vocabulary.parquet",
        folder / "item_embeddings.parquet",
        *counts,
        n_missing,
    )
