"""What the notebooks hand to each other, and the contract of each file.

- ``artifacts/`` holds the prepared data (``sequences.npz``, ``items.parquet``,
  ``data.json``) and the trained model (``best.pt``); both are rebuilt on the spot when
  missing, so any notebook also runs alone (e.g. on Colab).
- ``data.json`` is written and read here; ``training.json`` and ``metrics.json`` and the
  notebook parameters table are in ``contracts``.
- Notebook 03 trains one model per seed into ``artifacts/seed-<seed>/``.
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

from ..atomic import atomic_write, atomic_write_json
from ..config import SASRecConfig
from ..data.event_files import load_item_embeddings
from ..data.prepared import (
    PreparedData,
    data_fingerprint,
    load_sequences,
    prepare_data,
    save_sequences,
    split_for,
)
from ..presets import CONFIGS, preset_config
from ..training.checkpoint import load_checkpoint
from ..training.final_model import FinalModel, train_final
from .contracts import (
    NOTEBOOK_PARAMETERS,
    read_training_summary,
    training_summary,
    write_training_summary,
)
from .progress import epoch_lines
from .seed_pool import SEED_LOG_FILE, seed_processes, threads_per_process, train_in_processes

log = logging.getLogger(__name__)

SEQUENCES_FILE = "sequences.npz"
ITEMS_FILE = "items.parquet"
DATA_FILE = "data.json"
TRAINING_FILE = "training.json"
METRICS_FILE = "metrics.json"
CHECKPOINT_FILE = "best.pt"
REFIT_FILE = "final.pt"
DATA_FIELDS = ("dataset", "events_paths", "vocabulary_path", "split")

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

    A ``preset`` parameter (a name in ``presets.CONFIGS``) is the starting point, else
    ``SASRecConfig()``; then the parameters that are config fields override it. With
    ``notebook`` only its ``NOTEBOOK_PARAMETERS`` count (so a later variable named like a
    field, such as ``split``, never leaks in). ``None`` means "the preset's, else the
    config's default". ``events_paths`` may be one comma-separated string (what ``make
    report EVENTS=a,b`` passes) or a list.
    """
    names = set(SASRecConfig.__dataclass_fields__) | {"preset"}
    if notebook is not None:
        names &= set(NOTEBOOK_PARAMETERS[notebook])
    values = {
        name: value for name, value in parameters.items() if name in names and value is not None
    }
    if isinstance(values.get("events_paths"), str):
        values["events_paths"] = [p.strip() for p in values["events_paths"].split(",") if p]
    preset = values.pop("preset", None)
    return preset_config(preset, **values) if preset else SASRecConfig().replace(**values)


def preset_changes(preset: str | None) -> dict[str, tuple[Any, Any]]:
    """Each setting the preset changes from ``SASRecConfig()``: name -> (default, preset's)."""
    if not preset:
        return {}
    default, chosen = SASRecConfig().to_dict(), preset_config(preset).to_dict()
    return {
        name: (default[name], chosen[name])
        for name in CONFIGS[preset]
        if default[name] != chosen[name]
    }


def preset_line(preset: str | None) -> str:
    """The line each report page shows: the run's preset and every setting it changed."""
    if not preset:
        return (
            "Preset: none, the SASRecConfig() defaults (`make report PRESET=NAME` starts "
            f"from one of {sorted(CONFIGS)}; explicit parameters override it)."
        )
    changes = ", ".join(
        f"{name} {default} → {value}" for name, (default, value) in preset_changes(preset).items()
    )
    return (
        f"Preset `{preset}` (sasrec_utils.presets.CONFIGS), changing from SASRecConfig(): "
        f"{changes or 'nothing'}; explicit parameters override it."
    )


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


def load_or_prepare(artifacts: str | os.PathLike, cfg: SASRecConfig) -> PreparedData:
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


def seed_folder(artifacts: str | os.PathLike, seed: int) -> Path:
    """Where the run of one seed keeps its checkpoints: ``artifacts/seed-<seed>/``."""
    return Path(artifacts) / f"seed-{seed}"


def train_seeds(
    artifacts: str | os.PathLike,
    cfg: SASRecConfig,
    prepared: PreparedData,
    seeds: list[int],
    progress: bool | str = True,
    resume: bool = False,
) -> dict[int, FinalModel]:
    """Train ``cfg`` once per seed (``refit.train_final``) into ``artifacts/seed-<s>/``;
    ``resume`` continues each seed's interrupted run from its ``last.pt``.

    On a CPU with two cores or more (``seed_pool.seed_processes``), the seeds train side
    by side, one process each, up to two per core; their epoch lines go to the terminal and to
    ``seed-<s>/training-log.txt``, and are printed here, seed by seed, when all are done.
    """
    processes = seed_processes(cfg, len(seeds))
    if processes > 1:
        return _train_side_by_side(artifacts, cfg, prepared, seeds, processes, progress, resume)
    runs = {}
    for seed in seeds:
        if progress not in (False, "none"):
            print(f"== seed {seed}", flush=True)
        out = seed_folder(artifacts, seed)
        runs[seed] = train_final(cfg.replace(seed=seed), prepared, out, progress, resume)
    return runs


def _train_side_by_side(
    artifacts: str | os.PathLike,
    cfg: SASRecConfig,
    prepared: PreparedData,
    seeds: list[int],
    processes: int,
    progress: bool | str,
    resume: bool,
) -> dict[int, FinalModel]:
    threads = threads_per_process(processes)
    shown = progress not in (False, "none")
    if shown:
        print(
            f"seeds {seeds}: {processes} at a time, one process each on {threads} CPU "
            f"thread(s); each epoch's line goes to the terminal and to "
            f"seed-<seed>/{SEED_LOG_FILE}, shown here when all are done",
            flush=True,
        )
    jobs = [(cfg.replace(seed=s), seed_folder(artifacts, s)) for s in seeds]
    results = train_in_processes(jobs, prepared, processes, threads, resume)
    if shown:
        for seed in seeds:
            lines = (seed_folder(artifacts, seed) / SEED_LOG_FILE).read_text()
            print(f"== seed {seed}\n{lines}", end="", flush=True)
    return dict(zip(seeds, results, strict=True))


def final_checkpoint(artifacts: str | os.PathLike, cfg: SASRecConfig, seed: int) -> Path:
    """The checkpoint that is tested and served for ``seed``: the refit or the best epoch."""
    return seed_folder(artifacts, seed) / (REFIT_FILE if cfg.refit_on_valid else CHECKPOINT_FILE)


def checkpoint_names(
    artifacts: str | os.PathLike, cfg: SASRecConfig, seeds: list[int]
) -> dict[int, str]:
    """Each seed's final checkpoint, relative to ``artifacts`` (what training.json lists)."""
    root = Path(artifacts)
    return {seed: str(final_checkpoint(root, cfg, seed).relative_to(root)) for seed in seeds}


def trained_checkpoints(
    artifacts: str | os.PathLike, cfg: SASRecConfig, prepared: PreparedData, n_seeds: int = 1
) -> list[Path]:
    """The final checkpoints of the seeds notebook 03 trained, checked against ``prepared``.

    When ``training.json`` lists none, ``n_seeds`` seeds from ``cfg.seed`` are trained here
    first (what lets notebooks 04 and 05 run alone; notebook 03 explains this step), one
    line per epoch in the cell and in the terminal that runs the notebook.
    """
    summary = read_training_summary(artifacts)
    fingerprint = data_fingerprint(prepared.sequences)
    if not summary:
        log.warning("%s: no trained models: training %d seed(s) now", artifacts, n_seeds)
        seeds = [cfg.seed + offset for offset in range(n_seeds)]
        with epoch_lines():
            runs = train_seeds(artifacts, cfg, prepared, seeds, progress="lines")
        names = checkpoint_names(artifacts, cfg, seeds)
        write_training_summary(artifacts, training_summary(cfg, runs, names, fingerprint))
        summary = read_training_summary(artifacts)
    if summary.get("data_sha256") != fingerprint:
        raise ValueError(
            f"{Path(artifacts) / TRAINING_FILE} lists models trained on other data (data "
            f"sha256 {str(summary.get('data_sha256'))[:12]}, this notebook's "
            f"{fingerprint[:12]}); run notebook 03 with the same data parameters, or point "
            "`artifacts` at the matching folder"
        )
    paths = [Path(artifacts) / run["checkpoint"] for run in summary["runs"]]
    for path in paths:
        state = load_checkpoint(path)
        trained = data_settings(SASRecConfig.from_dict(state["config"]))
        if (
            trained != data_settings(cfg)
            or state["item_ids"] != prepared.sequences.item_ids.tolist()
        ):
            raise ValueError(
                f"{path} was trained on {trained}, but this notebook's data is "
                f"{data_settings(cfg)} ({prepared.sequences.n_items} items); run notebook 03 "
                "with the same data parameters, or point `artifacts` at the matching folder"
            )
    return paths
