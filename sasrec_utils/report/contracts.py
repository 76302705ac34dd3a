"""The files the notebooks pass on, each with one writer and one reader, and which
parameters ``make report`` gives which notebook.

- ``training.json`` (notebook 03): one entry per seed's run, plus the device and memory;
- ``metrics.json`` (notebook 04, also copied to ``reports/``): the test figures of every
  system as mean ± sd over seeds with the per-seed values, the ensemble, the bootstrap
  intervals, the session table; ``tools/report_tools.py`` builds the index and README
  headline from it;
- ``NOTEBOOK_PARAMETERS``: the parameters ``make report`` passes to each notebook, the
  Makefile variable of each in ``MAKE_VARIABLES``; the Makefile and the tests read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_write_json
from ..config import SASRecConfig
from ..training.early_stopping import BEST_VALID_KEY

if TYPE_CHECKING:
    from ..training.final_model import FinalModel

TRAINING_FILE = "training.json"
METRICS_FILE = "metrics.json"

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
        *("n_seeds", "progress"),
    ),
    "04_evaluation": (*_DATA, "report_dir", "device", "seed", "n_seeds"),
    "05_production_demo": (*_DATA, "seed", "n_seeds"),
}
NOTEBOOKS = tuple(NOTEBOOK_PARAMETERS)
MAKE_VARIABLES = {
    "artifacts": "ARTIFACTS",
    "report_dir": "REPORTS",
    "events_paths": "EVENTS",
    "vocabulary_path": "VOCABULARY",
    "embeddings_path": "EMBEDDINGS",
    "n_seeds": "N_SEEDS",
    "progress": "PROGRESS",
    **{
        name: name.upper()
        for name in (
            *("dataset", "data_dir", "hidden_dim", "n_layers", "n_heads", "max_len"),
            *("dropout", "seed", "epochs", "patience", "loss", "lr", "batch_size"),
            *("batch_tokens", "device"),
        )
    },
}


# ---------------------------------------------------------------- training.json


RUN_KEYS = (
    "seed",
    "best_epoch",
    "epochs_run",
    BEST_VALID_KEY,
    "seconds_to_best",
    "train_seconds",
    "seconds_per_epoch",
    "checkpoint",  # relative to the artifacts folder
)
TRAINING_KEYS = ("runs", "refit_on_valid", "n_parameters", "device", "peak_memory_mib")


def training_summary(
    cfg: SASRecConfig,
    runs: Mapping[int, FinalModel],
    checkpoints: Mapping[int, str],
    peak_memory_mib: float = float("nan"),
) -> dict[str, Any]:
    """What ``training.json`` holds for runs of ``artifacts.train_seeds``; ``checkpoints``
    names each seed's final checkpoint relative to the artifacts folder."""
    entries = []
    for seed, final in runs.items():
        selected = final.selected
        entries.append(
            {
                "seed": seed,
                "best_epoch": selected.best_epoch,
                "epochs_run": len(selected.history),
                BEST_VALID_KEY: selected.best_valid,
                "seconds_to_best": selected.seconds_to_best,
                "train_seconds": final.train_seconds,
                "seconds_per_epoch": float(selected.history["seconds"].median()),
                "checkpoint": checkpoints[seed],
            }
        )
    first = next(iter(runs.values()))
    return {
        "runs": entries,
        "refit_on_valid": cfg.refit_on_valid,
        "n_parameters": first.model.n_parameters(),
        "device": first.selected.device,
        "peak_memory_mib": peak_memory_mib,
    }


def write_training_summary(artifacts: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Write ``training.json``: the ``TRAINING_KEYS``, each run with its ``RUN_KEYS``."""
    missing = [key for key in TRAINING_KEYS if key not in summary]
    missing += [
        f"runs[{i}].{key}"
        for i, run in enumerate(summary.get("runs", []))
        for key in RUN_KEYS
        if key not in run
    ]
    if missing or not summary["runs"]:
        raise ValueError(f"training summary lacks {missing or ['runs']}")
    runs = [{key: run[key] for key in RUN_KEYS} for run in summary["runs"]]
    chosen = {**{key: summary[key] for key in TRAINING_KEYS}, "runs": runs}
    return atomic_write_json(Path(artifacts) / TRAINING_FILE, chosen)


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
    "seeds",
    "systems",
    "baselines",
    "ensemble",
    "bootstrap",
    "sessions",
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
