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
#       jupytext_version: 1.19.6
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
# This notebook trains SASRec with `sasrec_utils.train.fit`, plots the loss and the
# validation metric per epoch, and saves the best checkpoint for notebooks 04 and 05.
# Every setting is a parameter; `None` means the package default (`SASRecConfig()`), so the
# defaults live in one place.
#
# **Reads:** `artifacts/` from notebook 01 (rebuilt if missing). **Writes:**
# `artifacts/best.pt`, `artifacts/last.pt`, `artifacts/history.csv`, `artifacts/training.json`.

# %%
# Colab only: install sasrec_utils; Colab's own torch is kept as it is. The newest
# sasrec_utils-*.whl in WHEEL_FOLDERS (upload one built by `make wheel`) goes first, else the
# repository. When pip fails, this cell says why and how to get past it, then stops.
import sys

REPOSITORY = "https://github.com/sasrec-report/sasrec-report"  # set from pyproject.toml by `make badges`
WHEEL_FOLDERS = ["/content", "/content/drive/MyDrive"]  # Files pane uploads; Drive once mounted
if "google.colab" in sys.modules:
    import glob
    import os
    import subprocess
    import warnings

    wheels = [path for folder in WHEEL_FOLDERS for path in glob.glob(os.path.join(folder, "sasrec_utils-*.whl"))]
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
            f"Could not install sasrec_utils from {source} (pip exit status {pip.returncode}):\n    "
            + "\n    ".join(said)
            + "\n\nTwo ways out; then run this cell again:\n"
            "  1. Upload a wheel: in a copy of the repository run `make wheel`, then upload "
            "dist/sasrec_utils-*.whl to a folder of WHEEL_FOLDERS (" + ", ".join(WHEEL_FOLDERS) + "): "
            "Files pane > Upload, or Mount Drive and put it in MyDrive. The newest one is installed.\n"
            "  2. Set REPOSITORY above to an address this runtime can reach (a public fork, or "
            "where the repository moved); pip installs git+REPOSITORY."
        )
        warnings.filterwarnings("ignore", "To exit: use")  # IPython's hint after SystemExit
        raise SystemExit("sasrec_utils is not installed: see the message above")

# %% tags=["parameters"]
artifacts = "artifacts"  # folder shared by the five notebooks
dataset = None  # None: the config default ("ml-100k"); "events" for your parquet logs
data_dir = None
events_paths = None  # for "events": parquet file(s)
vocabulary_path = None  # for "events": optional item_vocabulary.parquet
embeddings_path = None  # optional item_embeddings.parquet to initialise item vectors
epochs = None  # None means the SASRecConfig default, for every setting below
patience = None  # epochs without validation improvement before stopping
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
seed = None
resume = False  # True: continue an interrupted run from artifacts/last.pt (same settings)

# %%
import json
import os
import time

import pandas as pd
import torch

from sasrec_utils import plots
from sasrec_utils.artifacts import (
    TRAINING_FILE,
    notebook_config,
    prepared_data,
    project_root,
    write_training_summary,
)
from sasrec_utils.config import SASRecConfig
from sasrec_utils.io import atomic_write_text
from sasrec_utils.prepared import data_fingerprint
from sasrec_utils.reproducibility import reproducibility
from sasrec_utils.runinfo import peak_memory, resolve_device
from sasrec_utils.train import fit

started = time.time()
os.chdir(project_root())
cfg = notebook_config(globals(), "03_training")
prepared = prepared_data(artifacts, cfg)
run_device = resolve_device(cfg.device)
if run_device.type == "cuda":
    torch.cuda.reset_peak_memory_stats(run_device)
print(f"training on {run_device}; {len(prepared.split.train):,} training sequences, "
      f"{prepared.sequences.n_items:,} items")

# %% [markdown]
# ## The settings
#
# The full configuration of this run. The rows marked `changed` differ from the package
# defaults because a parameter set them.

# %%
defaults = SASRecConfig().to_dict()
pd.DataFrame(
    [(name, json.dumps(value), "changed" if value != defaults[name] else "")
     for name, value in cfg.to_dict().items()],
    columns=["setting", "value", "note"],
).set_index("setting")

# %% [markdown]
# ## What training does
#
# * Each epoch, every user contributes **one window** of their most recent training items
#   (at most `max_len`). The causal mask lets every position of the window predict its next
#   item in the same forward pass, so a user with 100 items gives 100 training examples at
#   once, with no copies of prefixes.
# * Users with histories of similar length are batched together, so a batch is padded only
#   to its own longest window. A batch holds at most `batch_tokens` positions (users ×
#   window length): many short histories, or a few long ones. Every step then learns from
#   about the same number of next-item targets and holds about the same activations in
#   memory, instead of a few steps of 128 long histories dominating the epoch. On ML-100k
#   this (with `lr=1e-3`) raised the 3-seed mean test NDCG@10 from 0.095 to 0.104–0.110 and
#   lowered peak memory from ~980 MB to ~570 MB (`benchmarks/README.md`).
# * With `loss="ce"` (the default) each position's prediction is a softmax over **all**
#   items and the loss is the cross-entropy of the true next item: the same task as the
#   evaluation, ranking the whole catalogue. The loss is in nats per position; a uniform guess
#   would score ln(number of items).
# * After each epoch, the model ranks all items for every validation query (the
#   second-to-last item). **Early stopping** keeps the epoch with the best validation
#   NDCG@10 and stops after `patience` epochs without improvement. The test items are never
#   looked at here.
# * `best.pt` (weights of the best epoch) and `last.pt` (everything needed to resume) are
#   written atomically after each epoch: an interrupted run (a lost Colab runtime) keeps
#   both, and running again with the parameter `resume = True` continues after the last
#   completed epoch.
#
# The progress bar shows the training loss and the best validation NDCG@10 so far.

# %%
result = fit(cfg, prepared, out_dir=artifacts, resume=resume)

# %% [markdown]
# ## The run in numbers

# %%
history = result.history
memory = peak_memory(run_device)
summary = {
    "best_epoch": result.best_epoch,
    "epochs_run": len(history),
    "best_valid_ndcg@10": result.best_valid,
    "seconds_to_best": result.seconds_to_best,
    "train_seconds": result.train_seconds,
    "seconds_per_epoch": float(history["seconds"].median()),
    "n_parameters": result.model.n_parameters(),
    "device": result.device,
    "peak_memory_mib": memory["MiB"],
}
pd.Series(summary, dtype=object).to_frame("value")

# %% [markdown]
# ## Loss and validation curves
#
# What to look for: the training loss (left) should fall steadily; the validation metric
# (right) rises, then flattens or dips as the model starts to memorise the training
# sequences. The dashed line is the epoch kept. If the validation curve is still climbing at
# the last epoch, more epochs would help; if it peaks early and falls, more dropout or a
# smaller model would.

# %%
plots.training_curves_figure(history, result.best_epoch)

# %% [markdown]
# The same history as a table (also saved as `artifacts/history.csv`):

# %%
atomic_write_text(os.path.join(artifacts, "history.csv"), history.to_csv(index=False))
columns = ["epoch", "train_loss", "valid_hr@10", "valid_ndcg@10", "valid_mrr", "seconds"]
history[[c for c in columns if c in history]].set_index("epoch").round(4)

# %% [markdown]
# ## Device and memory
#
# On a GPU the figure is the peak memory torch allocated; on a CPU it is the peak resident
# memory of this whole process (Python, the data and the model), an upper bound on what
# training needed.

# %%
pd.Series(dtype=object, data={**memory, "MiB": round(memory["MiB"], 1)}).to_frame("value")

# %% [markdown]
# ## The checkpoints
#
# `best.pt` is what notebooks 04 and 05 load: weights, the config, and the mapping from the
# model's item numbers back to your item ids. `training.json` summarises this run for the
# evaluation report.

# %%
write_training_summary(artifacts, summary)
pd.DataFrame([(name, os.path.getsize(os.path.join(artifacts, name)) / 2**20)
              for name in ("best.pt", "last.pt", "history.csv", TRAINING_FILE)],
             columns=["file", "MiB"]).round(3)

# %% [markdown]
# ## Reproducibility

# %%
reproducibility(cfg, data_fingerprint(prepared.sequences), run_device, started)
