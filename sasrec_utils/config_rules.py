"""Rules between config fields: an option that needs another field's value is refused
with a message naming both (``config.SASRecConfig.validate`` calls them on itself: ``cfg``
is a ``SASRecConfig``, typed ``Any`` here because ``config`` imports this module)."""

from __future__ import annotations

from typing import Any


def check_data_files(cfg: Any) -> None:
    """The data fields a dataset needs: refused by name when missing or malformed."""
    if cfg.dataset == "events" and not cfg.events_paths:
        raise ValueError("dataset='events' needs events_paths: the parquet files of events")
    if isinstance(cfg.events_paths, str):
        raise ValueError("events_paths must be a list of paths, got a single string")
    if not all(isinstance(path, str) for path in cfg.events_paths):
        raise ValueError(f"events_paths must be a list of paths, got {cfg.events_paths!r}")
    if cfg.dataset == "user-lines" and len(cfg.events_paths) != 1:
        raise ValueError(
            "dataset='user-lines' needs events_paths=[path]: one file of one line per "
            f"user, got {cfg.events_paths!r}"
        )


def check_option_pairs(cfg: Any) -> None:
    """Options that need another field's value (most: one kind of loss) are refused
    beside the others, by name."""
    if cfg.frequency_mix > 0 and cfg.train_examples != "prefixes":
        raise ValueError(
            f"frequency_mix={cfg.frequency_mix} needs train_examples='prefixes': the "
            "frequency filter sees the whole window, so a window's early positions would "
            "see their own targets; set train_examples or frequency_mix=0"
        )
    if cfg.frequency_norm == "per_branch" and cfg.layer_norm != "post":
        raise ValueError(
            "frequency_norm='per_branch' needs layer_norm='post': each branch ends in "
            f"its own LayerNorm, got layer_norm={cfg.layer_norm!r}"
        )
    if cfg.empty_prefix and cfg.train_examples != "prefixes":
        raise ValueError(
            "empty_prefix=True needs train_examples='prefixes' (it adds one prefix per "
            f"history), got train_examples={cfg.train_examples!r}"
        )
    if cfg.in_batch_negatives and cfg.loss != "sampled_softmax":
        raise ValueError(
            f"in_batch_negatives=True needs loss='sampled_softmax' (the batch's targets "
            f"join its sampled negatives), got loss={cfg.loss!r}; set loss or "
            "in_batch_negatives=False"
        )
    if cfg.softmax_dtype != "float32" and cfg.loss != "ce":
        raise ValueError(
            f"softmax_dtype={cfg.softmax_dtype!r} needs loss='ce' (the full softmax's "
            f"products), got loss={cfg.loss!r}; set loss or softmax_dtype='float32'"
        )
    if cfg.sparse_item_grad and cfg.loss == "ce":
        raise ValueError(
            "sparse_item_grad=True needs a sampled loss (bce, sampled_softmax, gbce): full "
            "CE gives every item row a gradient; set loss or sparse_item_grad=False"
        )
    if cfg.ppmi_init_window and cfg.embeddings_path:
        raise ValueError(
            f"ppmi_init_window={cfg.ppmi_init_window} and embeddings_path="
            f"{cfg.embeddings_path!r} both start the item table; set one of them"
        )
