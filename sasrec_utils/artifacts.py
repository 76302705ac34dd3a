"""What the notebooks hand to each other, and the contract of each file.

- ``artifacts/`` holds the prepared data (``sequences.npz``, ``items.parquet``,
  ``data.json``) and the trained model (``best.pt``); both are rebuilt on the spot when
  missing, so any notebook also runs alone (e.g. on Colab).
- ``data.json``, ``training.json`` and ``metrics.json`` each have one writer and one
  reader here, with stable keys.
- ``NOTEBOOK_PARAMETERS`` says which parameters ``make report`` passes to which notebook
  (and the Makefile variable of each); the Makefile and the notebook tests read it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checkpoint import load_checkpoint
from .config import SASRecConfig
from .event_files import load_item_embeddings
from .io import atomic_write, atomic_write_json
from .prepared import (
    PreparedData,
    data_fingerprint,
    load_sequences,
    prepare_data,
    save_sequences,
    split_for,
)
from .train import fit

log = logging.getLogger(__name__)

SEQUENCES_FILE = "sequences.npz"
ITEMS_FILE = "items.parquet"
DATA_FILE = "data.json"
TRAINING_FILE = "training.json"
METRICS_FILE = "metrics.json"
CHECKPOINT_FILE = "best.pt"
DATA_FIELDS = ("dataset", "events_paths", "vocabulary_path", "split")

# Parameters `make report` passes, per notebook; the Makefile variable that sets each is
# MAKE_VARIABLES[name] (an unset variable leaves the notebook's default).
_DATA = ("artifacts", "dataset", "data_dir", "events_paths", "vocabulary_path")
_MODEL = ("embeddings_path", "hidden_dim", "n_layers", "n_heads", "max_len", "dropout", "seed")
NOTEBOOK_PARAMETERS: dict[str, tuple[str, ...]] = {
    "01_theory_and_data": (*_DATA, "seed"),
    "02_model": (*_DATA, *_MODEL),
    "03_training": (
        *_DATA,
        *_MODEL,
        *("epochs", "patience", "loss", "lr", "batch_size", "batch_tokens", "device"),
    ),
    "04_evaluation": (*_DATA, "report_dir", "device", "seed"),
    "05_production_demo": (*_DATA, "seed"),
}
NOTEBOOKS = tuple(NOTEBOOK_PARAMETERS)
MAKE_VARIABLES = {
    "artifacts": "ARTIFACTS",
    "report_dir": "REPORTS",
    "events_paths": "EVENTS",
    "vocabulary_path": "VOCABULARY",
    "embeddings_path": "EMBEDDINGS",
    **{
        name: name.upper()
        for name in (
            *("dataset", "data_dir", "hidden_dim", "n_layers", "n_heads", "max_len"),
            *("dropout", "seed", "epochs", "patience", "loss", "lr", "batch_size"),
            *("batch_tokens", "device"),
        )
    },
}


# ---------------------------------------------------------------- paths and config


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The folder holding this project's ``pyproject.toml`` at or above ``start`` (cwd).

    Notebooks ``chdir`` there so relative paths (``artifacts/``, ``data/``, ``reports/``)
    mean the same from Jupyter (cwd ``notebooks/``), papermill and the tests. Outside a
    checkout (Colab) ``start`` itself is returned.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.exists() and 'name = "sasrec_utils"' in pyproject.read_text():
            return folder
    return here


def notebook_config(parameters: Mapping[str, Any], notebook: str | None = None) -> SASRecConfig:
    """``SASRecConfig`` from a notebook's parameters: ``notebook_config(globals(), "03_training")``.

    Only config fields count, and with ``notebook`` only those among its
    ``NOTEBOOK_PARAMETERS`` (so a later variable named like a field, such as ``split``,
    never leaks in). ``None`` means "the config's default". ``events_paths`` may be one
    comma-separated string (what ``make report EVENTS=a,b`` passes) or a list.
    """
    names = set(SASRecConfig.__dataclass_fields__)
    if notebook is not None:
        names &= set(NOTEBOOK_PARAMETERS[notebook])
    values = {
        name: value for name, value in parameters.items() if name in names and value is not None
    }
    if isinstance(values.get("events_paths"), str):
        values["events_paths"] = [p.strip() for p in values["events_paths"].split(",") if p]
    return SASRecConfig().replace(**values)


def data_settings(cfg: SASRecConfig) -> dict[str, Any]:
    """The config fields that decide which prepared data a notebook needs."""
    settings = {name: getattr(cfg, name) for name in DATA_FIELDS}
    settings["events_paths"] = [str(p) for p in cfg.events_paths]
    if cfg.split == "user":
        settings["seed"] = cfg.seed
    return settings


# ---------------------------------------------------------------- prepared data


def save_prepared(artifacts: str | os.PathLike, cfg: SASRecConfig, prepared: PreparedData) -> Path:
    """Store sequences, item metadata and the data summary (``data.json``) in ``artifacts``.

    ``data.json`` is written last, so it only ever describes complete files. When the
    folder already holds exactly this data nothing is rewritten: file times then change
    only with the data, which is what ``make report`` uses to skip retraining.
    """
    folder = Path(artifacts)
    sequences = prepared.sequences
    ids = np.asarray(sequences.item_ids).astype(str)
    items_csv = prepared.items.to_csv(index=False) if prepared.items is not None else ""
    summary = {
        "settings": data_settings(cfg),
        "n_users": sequences.n_users,
        "n_items": sequences.n_items,
        "n_events": len(sequences.sequences.items),
        "sequences_sha256": data_fingerprint(sequences),
        "item_ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "items_sha256": hashlib.sha256(items_csv.encode()).hexdigest(),
    }
    files_exist = (folder / SEQUENCES_FILE).exists() and (
        prepared.items is None or (folder / ITEMS_FILE).exists()
    )
    if files_exist and read_data_summary(folder) == summary:
        return folder / DATA_FILE
    save_sequences(folder / SEQUENCES_FILE, sequences)
    if prepared.items is not None:
        atomic_write(folder / ITEMS_FILE, lambda stream: prepared.items.to_parquet(stream))
    else:
        (folder / ITEMS_FILE).unlink(missing_ok=True)
    return atomic_write_json(folder / DATA_FILE, summary)


def read_data_summary(artifacts: str | os.PathLike) -> dict[str, Any] | None:
    """``data.json`` of ``artifacts`` (``settings``, sizes and hashes), or ``None``."""
    path = Path(artifacts) / DATA_FILE
    return json.loads(path.read_text()) if path.exists() else None


def prepared_data(artifacts: str | os.PathLike, cfg: SASRecConfig) -> PreparedData:
    """The data notebook 01 saved in ``artifacts`` if it matches ``cfg``, else prepared now.

    Preparing on the spot (and saving) lets any notebook run first or alone. Pretrained
    item vectors are read from ``cfg.embeddings_path`` when set.
    """
    folder = Path(artifacts)
    saved = read_data_summary(folder)
    if saved is not None and saved["settings"] == data_settings(cfg):
        sequences = load_sequences(folder / SEQUENCES_FILE)
        items_path = folder / ITEMS_FILE
        items = pd.read_parquet(items_path) if items_path.exists() else None
    else:
        reason = "none saved" if saved is None else f"saved data is for {saved['settings']}"
        log.warning("%s: %s; preparing %s now", folder, reason, data_settings(cfg))
        prepared = prepare_data(cfg.replace(embeddings_path=None))
        save_prepared(folder, cfg, prepared)
        sequences, items = prepared.sequences, prepared.items
    pretrained = None
    if cfg.embeddings_path:
        pretrained = load_item_embeddings(cfg.embeddings_path, sequences.item_ids)
    return PreparedData(sequences, split_for(cfg, sequences), items, pretrained)


def trained_checkpoint(
    artifacts: str | os.PathLike, cfg: SASRecConfig, prepared: PreparedData
) -> Path:
    """``artifacts/best.pt``, checked against ``prepared``; trained first when absent.

    Training here (with ``cfg``) is what lets notebooks 04 and 05 run alone; notebook 03
    is where training is explained and plotted.
    """
    path = Path(artifacts) / CHECKPOINT_FILE
    if not path.exists():
        log.warning("%s not found: training a model now (notebook 03 explains this step)", path)
        fit(cfg, prepared, out_dir=artifacts)
        return path
    state = load_checkpoint(path)
    trained = data_settings(SASRecConfig.from_dict(state["config"]))
    if trained != data_settings(cfg) or state["item_ids"] != prepared.sequences.item_ids.tolist():
        raise ValueError(
            f"{path} was trained on {trained}, but this notebook's data is "
            f"{data_settings(cfg)} ({prepared.sequences.n_items} items); run notebook 03 with "
            "the same data parameters, or point `artifacts` at the matching folder"
        )
    return path


# ---------------------------------------------------------------- training.json


TRAINING_KEYS = (
    "best_epoch",
    "epochs_run",
    "best_valid_ndcg@10",
    "seconds_to_best",
    "train_seconds",
    "seconds_per_epoch",
    "n_parameters",
    "device",
    "peak_memory_mib",
)


def write_training_summary(artifacts: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Write ``training.json``: exactly the ``TRAINING_KEYS`` of one run."""
    missing = [key for key in TRAINING_KEYS if key not in summary]
    if missing:
        raise ValueError(f"training summary lacks {missing}")
    return atomic_write_json(
        Path(artifacts) / TRAINING_FILE, {k: summary[k] for k in TRAINING_KEYS}
    )


def read_training_summary(artifacts: str | os.PathLike) -> dict[str, Any]:
    """``training.json`` of ``artifacts``; ``{}`` when notebook 03 did not write one here."""
    path = Path(artifacts) / TRAINING_FILE
    return json.loads(path.read_text()) if path.exists() else {}


# ---------------------------------------------------------------- metrics.json


METRICS_KEYS = (
    "dataset",
    "split",
    "protocol",
    "n_queries",
    "n_items",
    "systems",
    "sampled",
    "by_history_length",
    "training",
    "data_sha256",
    "config",
)


def write_metrics(folders: list[str | os.PathLike], metrics: Mapping[str, Any]) -> list[Path]:
    """Write ``metrics.json`` (exactly the ``METRICS_KEYS``) into each of ``folders``."""
    missing = [key for key in METRICS_KEYS if key not in metrics]
    if missing:
        raise ValueError(f"metrics lack {missing}")
    chosen = {key: metrics[key] for key in METRICS_KEYS}
    return [atomic_write_json(Path(folder) / METRICS_FILE, chosen) for folder in folders]


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """A ``metrics.json`` (a file, or a folder holding one), checked for its keys."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    metrics = json.loads(path.read_text())
    missing = [key for key in METRICS_KEYS if key not in metrics]
    if missing:
        raise ValueError(f"{path}: not a metrics file of this version (lacks {missing})")
    return metrics
