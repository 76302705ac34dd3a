"""The report: what notebooks hand on, the contracts of those files, reproducibility, figures.

``artifacts`` (prepared data and trained models between notebooks), ``contracts``
(``training.json``, ``metrics.json``, the notebook parameters table), ``fingerprints``
(which data, config and checkpoints a file describes), ``progress`` (epoch lines to the
cell, the terminal, a log), ``published`` (published figures with their protocol),
``reproducibility`` (the block every notebook ends with), ``differences`` (every
difference from the SASRec paper, with its measured effect), ``narrative`` (sentences
generated from their numbers), ``benchmark_files`` (the ``reports/benchmark*.json`` a
notebook reads: here, or fetched from the repository), ``worth`` (what each capability of
the production demo is worth, verdicts from the figures), ``plots``, ``plots_results``,
``plots_attention``.
"""

from . import (
    differences,
    fingerprints,
    narrative,
    plots,
    plots_attention,
    plots_results,
    shopping,
    worth,
)
from .artifacts import (
    DATA_FILE,
    ITEMS_FILE,
    SEQUENCES_FILE,
    checkpoint_names,
    load_or_prepare,
    notebook_config,
    preset_changes,
    preset_line,
    project_root,
    save_prepared,
    train_seeds,
    trained_checkpoints,
)
from .benchmark_files import find_benchmark
from .contracts import (
    METRICS_FILE,
    TRAINING_FILE,
    Evaluation,
    benchmark_pair,
    best_baseline_pair,
    bootstrap_pairs,
    has_held_out,
    non_default_label,
    read_metrics,
    read_training_summary,
    training_summary,
    write_metrics,
    write_training_summary,
)
from .progress import epoch_digest, epoch_lines
from .protocol import trained_on
from .published import published_table
from .reproducibility import reproducibility

__all__ = [
    "DATA_FILE",
    "ITEMS_FILE",
    "METRICS_FILE",
    "SEQUENCES_FILE",
    "TRAINING_FILE",
    "Evaluation",
    "benchmark_pair",
    "best_baseline_pair",
    "bootstrap_pairs",
    "checkpoint_names",
    "differences",
    "epoch_digest",
    "epoch_lines",
    "find_benchmark",
    "fingerprints",
    "has_held_out",
    "load_or_prepare",
    "narrative",
    "non_default_label",
    "notebook_config",
    "plots",
    "plots_attention",
    "plots_results",
    "preset_changes",
    "preset_line",
    "project_root",
    "published_table",
    "read_metrics",
    "read_training_summary",
    "reproducibility",
    "save_prepared",
    "shopping",
    "train_seeds",
    "trained_checkpoints",
    "trained_on",
    "training_summary",
    "worth",
    "write_metrics",
    "write_training_summary",
]
