"""Data: from files to per-user sequences, splits and training windows.

``movielens`` (ML-100k/1M, checksum-verified), ``event_files`` (the retail parquet layout),
``synthetic`` (generated retail logs), ``ids`` (external ids <-> internal indices),
``loading`` (a config to an ``EventLog``),
``sequences`` (compact per-user sequences), ``splits`` (leave-one-out, the selection
split), ``prepared`` (a config to ready-to-train data), ``batches`` (training windows).
"""

from .batches import epoch_batches
from .event_files import EventLog, load_event_parquets, load_item_embeddings
from .ids import IdMap
from .loading import load_events, load_item_metadata
from .prepared import PreparedData, data_fingerprint, prepare_data, split_for
from .sequences import (
    SequenceData,
    Sequences,
    build_sequences,
    item_popularity,
    users_per_item,
)
from .splits import EvalSet, Split, leave_one_out_split, selection_split, user_split
from .synthetic import SyntheticFiles, synthetic_events

__all__ = [
    "EvalSet",
    "EventLog",
    "IdMap",
    "PreparedData",
    "SequenceData",
    "Sequences",
    "Split",
    "SyntheticFiles",
    "build_sequences",
    "data_fingerprint",
    "epoch_batches",
    "item_popularity",
    "leave_one_out_split",
    "load_event_parquets",
    "load_events",
    "load_item_embeddings",
    "load_item_metadata",
    "prepare_data",
    "selection_split",
    "split_for",
    "synthetic_events",
    "user_split",
    "users_per_item",
]
