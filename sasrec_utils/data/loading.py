"""One entry point from a config to events: MovieLens or the retail layout.

``load_events`` returns an ``EventLog`` (events as ``user_id, item_id, timestamp`` in file
order, plus the vocabulary's item order and what was dropped); ``sequences`` turns it into
compact per-user sequences.
"""

from __future__ import annotations

import pandas as pd

from ..config import SASRecConfig
from .event_files import EventLog, load_event_parquets
from .movielens import load_ml1m, load_ml1m_items, load_ml100k, load_ml100k_items


def load_events(cfg: SASRecConfig) -> EventLog:
    """Events of the dataset ``cfg`` names (MovieLens or the retail layout)."""
    if cfg.dataset == "ml-100k":
        return EventLog(load_ml100k(cfg.data_dir))
    if cfg.dataset == "ml-1m":
        return EventLog(load_ml1m(cfg.data_dir))
    return load_event_parquets(cfg.events_paths, cfg.vocabulary_path)


def load_item_metadata(cfg: SASRecConfig) -> pd.DataFrame | None:
    """``item_id, title, genres`` for MovieLens; ``None`` for the retail layout."""
    if cfg.dataset == "ml-100k":
        return load_ml100k_items(cfg.data_dir)
    if cfg.dataset == "ml-1m":
        return load_ml1m_items(cfg.data_dir)
    return None
