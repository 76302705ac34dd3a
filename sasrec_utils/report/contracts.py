"""The files the notebooks pass on, each with one writer and one reader, and which
parameters ``make report`` gives which notebook.

- ``training.json`` (notebook 03): one entry per seed's run, plus the device and memory,
  and the fingerprint of the data the runs learnt from;
- ``metrics.json`` (notebook 04, also copied to ``reports/``): the test figures of every
  system as mean ± sd over seeds with the per-seed values, the ensemble, the bootstrap
  pairs, the session table, and ``describes``: the data, config and checkpoints it
  measured (``fingerprints``), which a reader checks before showing a figure;
  ``tools/report_tools.py`` builds the index and README headline from it;
- ``NOTEBOOK_PARAMETERS``: the parameters ``make report`` passes to each notebook, the
  Makefile variable of each in ``MAKE_VARIABLES``; the Makefile and the tests read it;
  ``non_default_label`` says how a run's parameters differ from the defaults.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..atomic import as_read_back, atomic_write_json
from ..config import SASRecConfig
from ..evaluation.metrics import BootstrapPair
from ..presets import preset_config
from ..training.early_stopping import BEST_VALID_KEY
from .protocol import TRAIN

if TYPE_CHECKING:
    from ..evaluation.tuning import TunedBaseline
    from ..training.final_model import FinalModel

TRAINING_FILE = "training.json"
METRICS_FILE = "metrics.json"

# Parameters `make report` passes, per notebook; the Makefile variable that sets each is
# MAKE_VARIABLES[name] (an unset variable leaves the notebook's default).
# `preset` (a name in presets.CONFIGS, Makefile PRESET) is the base every notebook's config
# starts from; the explicit parameters then override it (artifacts.notebook_config).
_DATA = ("artifacts", "preset", "dataset", "data_dir", "events_paths", "vocabulary_path")
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
    "04_evaluation": (*_DATA, "report_dir", "device", "seed", "n_seeds", "ease_max_items"),
    "05_production_demo": (*_DATA, "seed"),
}
DEFAULT_N_SEEDS = 3  # notebook 03's (and 04's) default number of seeds
NOTEBOOKS = tuple(NOTEBOOK_PARAMETERS)
MAKE_VARIABLES = {
    "artifacts": "ARTIFACTS",
    "report_dir": "REPORTS",
    "events_paths": "EVENTS",
    "vocabulary_path": "VOCABULARY",
    "embeddings_path": "EMBEDDINGS",
    "n_seeds": "N_SEEDS",
    "progress": "PROGRESS",
    "preset": "PRESET",
    "ease_max_items": "EASE_MAX_ITEMS",
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
TRAINING_KEYS = (
    "runs",
    "refit_on_valid",
    "n_parameters",
    "device",
    "peak_memory_mib",
    "data_sha256",
)


def training_summary(
    cfg: SASRecConfig,
    runs: Mapping[int, FinalModel],
    checkpoints: Mapping[int, str],
    data_sha256: str,
    peak_memory_mib: float | None = None,
) -> dict[str, Any]:
    """What ``training.json`` holds for runs of ``artifacts.train_seeds``; ``checkpoints``
    names each seed's final checkpoint relative to the artifacts folder, ``data_sha256``
    is ``data_fingerprint`` of the data they learnt from; ``peak_memory_mib`` None where
    it was not measured (written as JSON null)."""
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
        "data_sha256": data_sha256,
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
    "describes",
)
# written since presets reach the notebooks; files from before lack it (read as no preset)
OPTIONAL_METRICS_KEYS = ("preset",)
PROTOCOL = "leave-one-out, full ranking over all items, history masked, pessimistic ties"


@dataclass
class Evaluation:
    """What notebook 04 measured on the test split, as ``metrics.json`` stores it.

    ``systems`` holds a ``seed_summary`` per system (SASRec over its seeds, the others one
    run); ``pairs`` the paired bootstraps, ``best_baseline`` the baseline chosen on
    validation; ``sessions`` and ``by_history_length`` the long tables of 04;
    ``sampled`` the sampled metrics per system; ``describes`` ``fingerprints.describes``
    of the data, config and checkpoints measured.
    """

    cfg: SASRecConfig
    n_queries: int
    n_items: int
    seeds: list[int]
    systems: dict[str, dict[str, Any]]
    tuned: dict[str, TunedBaseline]
    best_baseline: str
    pairs: list[BootstrapPair]
    sessions: pd.DataFrame
    sampled: dict[str, dict[str, float]]
    n_negatives: int
    by_history_length: pd.DataFrame
    training: dict[str, Any]
    describes: dict[str, Any]
    preset: str | None = None  # the presets.CONFIGS name the run's config started from

    def to_json(self) -> dict[str, Any]:
        """The ``METRICS_KEYS`` as plain JSON values."""
        return {
            "dataset": self.cfg.dataset,
            "preset": self.preset,
            "split": "test",
            "protocol": PROTOCOL,
            "n_queries": self.n_queries,
            "n_items": self.n_items,
            "seeds": list(self.seeds),
            "systems": self.systems,
            "baselines": {
                name: {"params": tuned.params, "valid_ndcg@10": tuned.valid_ndcg}
                for name, tuned in self.tuned.items()
            },
            "ensemble": {"size": len(self.seeds), **self.systems["ensemble"]["mean"]},
            "bootstrap": {
                "best_baseline": self.best_baseline,
                "pairs": [pair.to_dict() for pair in self.pairs],
            },
            "sessions": self.sessions.to_dict(orient="records"),
            "sampled": {"n_negatives": self.n_negatives, **self.sampled},
            "by_history_length": self.by_history_length.to_dict(orient="records"),
            "training": self.training,
            "data_sha256": self.describes["data_sha256"],
            "config": self.cfg.to_dict(),
            "describes": self.describes,
        }


def write_metrics(folders: list[str | os.PathLike], evaluation: Evaluation) -> list[Path]:
    """Write ``evaluation`` as ``metrics.json`` into each of ``folders``."""
    record = evaluation.to_json()
    return [atomic_write_json(Path(folder) / METRICS_FILE, record) for folder in folders]


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """A ``metrics.json`` (a file, or a folder holding one), checked for its keys."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    metrics = json.loads(path.read_text())
    missing = [key for key in METRICS_KEYS if key not in metrics]
    if missing:
        raise ValueError(
            f"{path}: not a metrics file of this version (lacks {missing}); run notebook 04 "
            "(make report) to write it again"
        )
    return metrics


def bootstrap_pairs(metrics: Mapping[str, Any]) -> list[BootstrapPair]:
    """The bootstrap pairs of a ``metrics.json``."""
    return [BootstrapPair.from_dict(entry) for entry in metrics["bootstrap"]["pairs"]]


def benchmark_pair(
    benchmark: Mapping[str, Any], system: str, baseline: str, trained_on: str = TRAIN
) -> BootstrapPair:
    """The bootstrap of ``system`` against ``baseline``, both trained on ``trained_on``, in a
    ``make bench`` file (entries named ``"<system> - <baseline>"``, then `` (train+valid)``
    for the pairs retrained on the validation items)."""
    name = f"{system} - {baseline}" + ("" if trained_on == TRAIN else f" ({trained_on})")
    if name not in benchmark["bootstrap"]:
        raise KeyError(
            f"no bootstrap {name!r} in the benchmark; found {list(benchmark['bootstrap'])}"
        )
    return BootstrapPair.from_dict(
        {"system": system, "baseline": baseline, **benchmark["bootstrap"][name]}
    )


def held_out_summary(
    benchmark: Mapping[str, Any], system: str = "sasrec", trained_on: str = TRAIN
) -> dict[str, Any]:
    """The held-out (test) summary of ``system`` trained on ``trained_on``
    (``protocol.PROTOCOLS``) in a ``make bench`` file: mean, sd and per-seed figures."""
    for row in benchmark["summaries"]:
        if (row["system"], row["role"], row["trained_on"]) == (system, "held-out", trained_on):
            return row
    raise KeyError(f"no held-out summary of {system!r} trained on {trained_on!r} in the benchmark")


def has_held_out(benchmark: Mapping[str, Any], trained_on: str, system: str = "sasrec") -> bool:
    """Whether a ``make bench`` file holds ``system``'s held-out rows trained on ``trained_on``."""
    return any(
        (row["system"], row["role"], row["trained_on"]) == (system, "held-out", trained_on)
        for row in benchmark["summaries"]
    )


def baseline_row(
    benchmark: Mapping[str, Any], name: str, trained_on: str = TRAIN
) -> dict[str, Any]:
    """The row of baseline ``name`` (tuned on validation, fitted on ``trained_on``, tested
    once) in a ``make bench`` file."""
    for row in benchmark["baselines"]:
        if row["system"] == name and row["trained_on"] == trained_on:
            return row
    raise KeyError(f"no baseline {name!r} trained on {trained_on!r} in the benchmark")


def best_baseline_pair(benchmark: Mapping[str, Any], trained_on: str = TRAIN) -> BootstrapPair:
    """SASRec against the baseline chosen on validation, both trained on ``trained_on``, in a
    ``make bench`` file."""
    return benchmark_pair(benchmark, "sasrec", benchmark["best_baseline"], trained_on)


# ---------------------------------------------------------------- default or not


def non_default_label(metrics: Mapping[str, Any]) -> str:
    """How the run behind ``metrics`` differs from ``make report``'s defaults, as the
    Makefile variables that set it (``"EPOCHS=2, 1 seed"``; ``"PRESET=shopping, ..."`` then
    what differs from the preset); empty for a default run.

    The device is where the run happened, not a parameter of the method: not counted.
    """
    preset = metrics.get("preset")  # absent from metrics files before presets were passed
    base = preset_config(preset) if preset else SASRecConfig()
    defaults = as_read_back(base.to_dict())
    used = metrics["config"]
    changed = [f"PRESET={preset}"] if preset else []
    changed += [
        f"{MAKE_VARIABLES.get(name, name)}={used[name]}"
        for name in defaults
        if name != "device" and used.get(name, defaults[name]) != defaults[name]
    ]
    n_seeds = len(metrics["seeds"])
    if n_seeds != DEFAULT_N_SEEDS:
        changed.append(f"{n_seeds} seed{'s' if n_seeds != 1 else ''}")
    return ", ".join(changed)
