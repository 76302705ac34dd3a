"""The report: what notebooks hand on, the contracts of those files, reproducibility, figures.

``artifacts`` (prepared data and trained models between notebooks), ``contracts``
(``training.json``, ``metrics.json``, the notebook parameters table), ``reproducibility``
(the block every notebook ends with), ``plots``, ``plots_results``, ``plots_attention``.
"""

from . import plots, plots_attention, plots_results
from .artifacts import (
    DATA_FILE,
    ITEMS_FILE,
    SEQUENCES_FILE,
    checkpoint_names,
    load_or_prepare,
    notebook_config,
    project_root,
    save_prepared,
    train_seeds,
    trained_checkpoints,
)
from .contracts import (
    METRICS_FILE,
    TRAINING_FILE,
    read_metrics,
    read_training_summary,
    training_summary,
    write_metrics,
    write_training_summary,
)
from .reproducibility import reproducibility

__all__ = [
    "DATA_FILE",
    "ITEMS_FILE",
    "METRICS_FILE",
    "SEQUENCES_FILE",
    "TRAINING_FILE",
    "checkpoint_names",
    "load_or_prepare",
    "notebook_config",
    "plots",
    "plots_attention",
    "plots_results",
    "project_root",
    "read_metrics",
    "read_training_summary",
    "reproducibility",
    "save_prepared",
    "train_seeds",
    "trained_checkpoints",
    "training_summary",
    "write_metrics",
    "write_training_summary",
]
