"""One entry point from a config to events: every dataset the project reads, by name.

``DATASETS`` maps each ``cfg.dataset`` to its reader of events and, where the data has
them, of item titles: adding a dataset is one reader module and one row here (plus its
name in ``config.DATASETS``). ``load_events`` returns an ``EventLog`` (events as
``user_id, item_id, timestamp`` in file order, plus the vocabulary's item order and what
was dropped); ``sequences`` turns it into compact per-user sequences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ..config import SASRecConfig
from .event_files import EventLog, load_event_parquets
from .movielens import load_ml1m, load_ml1m_items, load_ml100k, load_ml100k_items
from .user_lines import load_amazon_beauty, read_user_lines


@dataclass(frozen=True)
class Dataset:
    """How to read one dataset: its events, and its item titles (``None``: it has none)."""

    events: Callable[[SASRecConfig], EventLog]
    items: Callable[[SASRecConfig], pd.DataFrame] | None = None


DATASETS: dict[str, Dataset] = {
    "ml-100k": Dataset(
        lambda cfg: EventLog(load_ml100k(cfg.data_dir)),
        lambda cfg: load_ml100k_items(cfg.data_dir),
    ),
    "ml-1m": Dataset(
        lambda cfg: EventLog(load_ml1m(cfg.data_dir)),
        lambda cfg: load_ml1m_items(cfg.data_dir),
    ),
    "amazon-beauty": Dataset(lambda cfg: EventLog(load_amazon_beauty(cfg.data_dir))),
    "user-lines": Dataset(lambda cfg: EventLog(read_user_lines(cfg.events_paths[0]))),
    "events": Dataset(lambda cfg: load_event_parquets(cfg.events_paths, cfg.vocabulary_path)),
}


def load_events(cfg: SASRecConfig) -> EventLog:
    """Events of the dataset ``cfg`` names."""
    return DATASETS[cfg.dataset].events(cfg)


def load_item_metadata(cfg: SASRecConfig) -> pd.DataFrame | None:
    """``item_id, title, genres`` where the dataset has titles (MovieLens); else ``None``."""
    reader = DATASETS[cfg.dataset].items
    return None if reader is None else reader(cfg)
