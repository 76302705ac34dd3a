# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,colab
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sasrec-report/sasrec-report/blob/main/notebooks/03_training.ipynb)
#
# # 3. Training: fit, watch the curves, keep the best checkpoint
#
# This notebook trains SASRec with `sasrec_utils.training.loop.fit` once per seed (3 by default),
# plots the loss and the validation metric per epoch, and saves each seed's best
# checkpoint for notebooks 04 and 05. One seed's result is one draw among many (how far
# seeds disagree depends on the data), so the report trains several and reports their
# mean and spread.
# Every setting is a parameter; `None` means the package default (`SASRecConfig()`), so the
# defaults live in one place.
#
# **Reads:** `artifacts/` from notebook 01 (rebuilt if missing). **Writes:**
# `artifacts/seed-<seed>/best.pt` and `last.pt` per seed, `artifacts/history.csv`,
# `artifacts/training.json`.

# %% tags=["remove-input"]
# Colab only: install sasrec_utils; Colab's own torch is kept as it is. The newest
# sasrec_utils-*.whl in WHEEL_FOLDERS (upload one built by `make wheel`) goes first, else the
# repository. When pip fails, this cell says why and how to get past it, then stops.
import sys

REPOSITORY = "https://github.com/sasrec-report/sasrec-report"  # set by `make badges`
WHEEL_FOLDERS = ["/content", "/content/drive/MyDrive"]  # Files pane uploads; Drive once mounted
if "google.colab" in sys.modules:
    import glob
    import os
    import subprocess
    import warnings

    wheels = [
        path
        for folder in WHEEL_FOLDERS
        for path in glob.glob(os.path.join(folder, "sasrec_utils-*.whl"))
    ]
    source = max(wheels, key=os.path.getmtime) if wheels else f"git+{REPOSITORY}"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", source],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},  # a private repository fails at once
    )
    if pip.returncode == 0:
        print(f"sasrec_utils installed from {source}")
    else:
        said = (pip.stdout + pip.stderr).strip().splitlines()[-15:]
        print(
            f"Could not install sasrec_utils from {source} "
            f"(pip exit status {pip.returncode}):\n    "
            + "\n    ".join(said)
            + "\n\nTwo ways out; then run this cell again:\n"
            "  1. Upload a wheel: in a copy of the repository run `make wheel`, then upload "
            "dist/sasrec_utils-*.whl to a folder of WHEEL_FOLDERS ("
            + ", ".join(WHEEL_FOLDERS)
            + "): Files pane > Upload, or Mount Drive and put it in MyDrive. The newest one "
            "is installed.\n"
            "  2. Set REPOSITORY above to an address this runtime can reach (a public fork, or "
            "where the repository moved); pip installs git+REPOSITORY."
        )
        warnings.filterwarnings("ignore", "To exit: use")  # IPython's hint after SystemExit
        raise SystemExit("sasrec_utils is not installed: see the message above")

# %% tags=["parameters"]
artifacts = "artifacts"  # folder shared by the five notebooks
preset = None  # None: SASRecConfig() as it is; or a name in sasrec_utils.presets.CONFIGS ("shopping", "retail", "ml1m-t4"), which the parameters below override
dataset = None  # None: the config default ("ml-100k"); "events" for your parquet logs
data_dir = None
events_paths = None  # for "events": parquet file(s)
vocabulary_path = None  # for "events": optional item_vocabulary.parquet
embeddings_path = None  # optional item_embeddings.parquet to initialise item vectors
epochs = None  # None means the SASRecConfig default, for every setting below
patience = None  # validations without improvement before stopping
hidden_dim = None
n_layers = None
n_heads = None
max_len = None
dropout = None
loss = None  # "ce" (full softmax), "bce", "sampled_softmax" or "gbce"
lr = None
batch_size = None  # at most this many users per batch ...
batch_tokens = None  # ... and at most this many positions (users x window length)
device = None  # "auto" picks cuda, then mps, then cpu
seed = None  # the first seed; the others follow it (seed, seed + 1, ...)
n_seeds = 3  # models trained, one per seed
progress = "bar"  # "bar" (live), "lines" (one line per epoch: to the terminal and artifacts/training-log.txt)
resume = False  # True: continue interrupted runs from artifacts/seed-*/last.pt (same settings)

# %%
import html
import json
import os
import time
from pathlib import Path

import pandas as pd
import torch
from IPython.display import HTML, Markdown, display

from sasrec_utils.atomic import atomic_write_text
from sasrec_utils.config import SASRecConfig
from sasrec_utils.data import data_fingerprint
from sasrec_utils.report import (
    TRAINING_FILE,
    checkpoint_names,
    epoch_digest,
    epoch_lines,
    load_or_prepare,
    narrative,
    notebook_config,
    plots_results,
    preset_line,
    project_root,
    reproducibility,
    train_seeds,
    training_summary,
    write_training_summary,
)
from sasrec_utils.runtime import peak_memory, resolve_device
from sasrec_utils.training import BEST_VALID_KEY, VALID_LABEL

started = time.time()
os.chdir(project_root())
cfg = notebook_config(globals(), "03_training")
print(preset_line(preset))
prepared = load_or_prepare(artifacts, cfg)
seeds = [cfg.seed + offset for offset in range(n_seeds)]
run_device = resolve_device(cfg.device)
if run_device.type == "cuda":
    torch.cuda.reset_peak_memory_stats(run_device)
print(f"training on {run_device}; {len(prepared.split.train):,} training sequences, "
      f"{prepared.sequences.n_items:,} items; seeds {seeds}")

# %% [markdown]
# ## The settings
#
# Only the settings that differ from the package defaults (`SASRecConfig()`) because a
# preset or a parameter set them; the full configuration is folded below the table. The
# line above the table says how this run's settings were chosen.

# %%
print(narrative.picked_on_test_sentence(cfg, preset))
defaults = SASRecConfig().to_dict()
notes = {"amp": f"not used on {run_device.type}" if not cfg.amp_on(run_device.type) else ""}
settings = pd.DataFrame(
    [(name, json.dumps(value), json.dumps(defaults[name]), notes.get(name, ""))
     for name, value in cfg.to_dict().items()],
    columns=["setting", "value", "default", "note"],
).set_index("setting")
changed = settings[settings["value"] != settings["default"]]
if len(changed):
    display(changed)
else:
    print("every setting is the default")
display(HTML(f"<details><summary>all {len(settings)} settings</summary>"
             f"{settings.to_html()}</details>"))

# %% [markdown]
# ## What training does
#
# How a history becomes training examples is `train_examples`; this run's:

# %% tags=["remove-input"]
if cfg.train_examples == "windows":
    display(Markdown(
        "Each epoch, every user contributes **one window** of their most recent training "
        f"items (at most `max_len`, {cfg.max_len} here). The causal mask lets every position "
        "of the window predict its next item in the same forward pass, so a user with 100 "
        "items in the window gives 99 training examples at once (each of the first 99 items "
        "predicts the one after it; the last has nothing after it in training), with no "
        "copies of prefixes."))
else:
    display(Markdown(
        "Each epoch, every **prefix** of every user's training items is one example "
        "(`train_examples='prefixes'`, as BSARec and FMLP-Rec build them): its most recent "
        f"items (at most `max_len`, {cfg.max_len} here), of which only the last position "
        "predicts, the item that followed the prefix. A user with 100 training items gives "
        "99 examples, one row each, so an epoch runs more rows than one window per user "
        "would; in exchange every example predicts from the position a served query "
        "predicts from. The examples are (user, end) index pairs, cut from the one array "
        "of items when a batch is built: no prefix is ever copied."))

# %% [markdown]
# * Examples (windows or prefixes) of similar length are batched together, so a batch is
#   padded only to its own longest window. A batch holds at most `batch_tokens` positions
#   (rows × window length): many short histories, or a few long ones, so every step holds
#   about the same activations in memory (and, with windows, learns from about the same
#   number of targets).
# * With `loss="ce"` (the default) each position's prediction is a softmax over **all**
#   items and the loss is the cross-entropy of the true next item: the same task as the
#   evaluation, ranking the whole catalogue. The loss is in nats per position; a uniform guess
#   would score ln(number of items). The paper trained with binary cross-entropy against
#   one random negative per position; notebook 04 measures what the full softmax buys.
# * `mask_seen_in_loss=True` (the default): the items a position has already seen in its
#   window are left out of its softmax, exactly as the evaluation leaves the history out
#   of the ranking. Where a person takes an item once (a film is rated once), "predict
#   something already seen" is never the right answer; without the mask the model spends
#   its capacity learning that. (For shops where people re-buy, set it to `False`.)
# * After each epoch, the model ranks all items for every validation query (the
#   second-to-last item). **Early stopping** keeps the epoch with the best validation
#   NDCG@10 and stops after `patience` validations without improvement. The test items are
#   never looked at here.
# * `best.pt` (weights of the best epoch) and `last.pt` (everything needed to resume) are
#   written atomically after each epoch: an interrupted run (a lost Colab runtime) keeps
#   both, and running again with the parameter `resume = True` continues after the last
#   completed epoch.
#
# Below, a live bar per seed when you run the notebook yourself. With `progress="lines"`
# (what `make report` uses) each epoch's line (training loss, this epoch's validation
# NDCG@10, the best so far) goes to the terminal as it happens and to
# `artifacts/training-log.txt`; the report shows a few epochs per seed and the full log
# folded away below them. On a CPU with two cores or more (and no thread count set by
# hand), the seeds train **side by side**, one process each, up to two per core
# (`report.seed_pool`): the same runs as one after another, in about half the time on two
# cores. Their lines then go to the terminal and to `artifacts/seed-<seed>/training-log.txt`,
# and appear here, seed by seed, when all are done.

# %%
log_path = os.path.join(artifacts, "training-log.txt")
with epoch_lines(log_path if progress == "lines" else None, cell=progress != "lines"):
    runs = train_seeds(artifacts, cfg, prepared, seeds, progress=progress, resume=resume)
for seed, run in runs.items():
    print(f"seed {seed}: kept epoch {run.selected.best_epoch} of "
          f"{len(run.selected.history)} run (validation NDCG@10 {run.selected.best_valid:.4f})")
    display(epoch_digest(run.selected.history, run.selected.best_epoch).round(4))
if progress == "lines":
    log_text = Path(log_path).read_text()
    display(HTML(f"<details><summary>the full epoch log ({log_text.count(chr(10))} lines, also in "
                 f"{html.escape(log_path)})</summary><pre>{html.escape(log_text)}</pre></details>"))

# %% [markdown]
# ## The runs in numbers
#
# One row per seed. `seconds_to_best` is the wall time (training and validation) until the
# epoch that was kept; the remaining epochs only confirmed that nothing better came.

# %%
memory = peak_memory(run_device)
summary = training_summary(cfg, runs, checkpoint_names(artifacts, cfg, seeds),
                           data_fingerprint(prepared.sequences), memory["MiB"])
per_seed = pd.DataFrame(summary["runs"]).set_index("seed").drop(columns="checkpoint")
per_seed.round({BEST_VALID_KEY: 4, "seconds_to_best": 1, "train_seconds": 1,
                "seconds_per_epoch": 2})

# %%
spread = per_seed[BEST_VALID_KEY]
print(f"best validation {VALID_LABEL} over {len(seeds)} seeds: {spread.mean():.4f} ± "
      f"{spread.std(ddof=1):.4f} (min {spread.min():.4f}, max {spread.max():.4f})"
      if len(seeds) > 1 else f"best validation {VALID_LABEL} of the one seed: {spread.iloc[0]:.4f} "
      "(no spread over seeds to show)")
print(f"{summary['n_parameters']:,} parameters per model")

# %% [markdown]
# ## Loss and validation curves
#
# What to look for: the training loss (left) should fall steadily; the validation metric
# (right) rises, then flattens or dips as the model starts to memorise the training
# sequences. The dot is the epoch kept. The seeds differ only in their random start and
# batch order, so the gap between their curves is the noise any single run carries.

# %%
plots_results.training_curves_figure({s: run.selected.history for s, run in runs.items()},
                             {s: run.selected.best_epoch for s, run in runs.items()})

# %% [markdown]
# Every epoch of every seed is saved as a table in `artifacts/history.csv`.

# %%
history = pd.concat([run.selected.history.assign(seed=s) for s, run in runs.items()])
atomic_write_text(os.path.join(artifacts, "history.csv"), history.to_csv(index=False))
print(f"{len(history)} epochs in all written to {os.path.join(artifacts, 'history.csv')}")

# %% [markdown]
# ## Device and memory
#
# On a GPU the figure is the peak memory torch allocated; on a CPU it is the peak resident
# memory of this whole process (Python, the data and the models), or of the largest seed
# process when the seeds trained side by side (the table's `what` says which), an upper
# bound on what one training run needed. Mixed precision (`amp`) is used only on CUDA; on
# a CPU it is off whatever the setting says.

# %%
pd.Series(dtype=object, data={
    **memory,
    "MiB": round(memory["MiB"], 1),
    "mixed precision": "on (CUDA)" if cfg.amp_on(run_device.type) else "off",
}).to_frame("value")

# %% [markdown]
# ## The checkpoints
#
# Each seed's `best.pt` is what notebooks 04 and 05 load: weights, the config, and the
# mapping from the model's item numbers back to your item ids. `training.json` lists them
# with this summary, for the evaluation report.

# %%
write_training_summary(artifacts, summary)
files = [os.path.join(f"seed-{s}", name) for s in seeds for name in ("best.pt", "last.pt")]
pd.DataFrame([(name, os.path.getsize(os.path.join(artifacts, name)) / 2**20)
              for name in [*files, "history.csv", TRAINING_FILE]],
             columns=["file", "MiB"]).round(2)

# %% [markdown]
# ## Takeaways
#
# * No training example is a copy: one window per user trains every position in one
#   forward pass (`train_examples='windows'`), one row per prefix trains its last position
#   (`'prefixes'`); both are cut from one array of items.
# * Early stopping on the validation items picks the epoch; the test items stay unseen
#   until notebook 04.
# * Seeds disagree: compare settings by the mean over several seeds, never by one run.
# * Checkpoints are written atomically after every epoch, so an interrupted run resumes.

# %% [markdown]
# ## Reproducibility

# %%
reproducibility(cfg, data_fingerprint(prepared.sequences), run_device, started)
