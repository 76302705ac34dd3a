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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sasrec-report/sasrec-report/blob/main/notebooks/02_model.ipynb)
#
# # 2. The model: SASRec, piece by piece
#
# This notebook builds SASRec from `sasrec_utils.model.sasrec`, counts its parameters, runs one
# forward pass with every shape printed, proves on real data that a position never sees the
# future, looks at the attention of an untrained model, and shows how pretrained item
# vectors can initialise it. Nothing is trained here (that is notebook 03).
#
# **Reads:** `artifacts/` from notebook 01 (rebuilt if missing).

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
embeddings_path = None  # optional item_embeddings.parquet (item_id + a vector per item)
hidden_dim = None  # None means the SASRecConfig default, for every model setting below
n_layers = None
n_heads = None
max_len = None
dropout = None
seed = None

# %%
import os
import time

import numpy as np
import pandas as pd
import torch

from sasrec_utils.data import data_fingerprint
from sasrec_utils.model import SASRec, last_layer_attention, parameter_table, window_weights
from sasrec_utils.report import (
    load_or_prepare,
    notebook_config,
    plots_attention,
    preset_line,
    project_root,
    reproducibility,
)
from sasrec_utils.runtime import set_seed

started = time.time()
os.chdir(project_root())
cfg = notebook_config(globals(), "02_model")
print(preset_line(preset))
prepared = load_or_prepare(artifacts, cfg)
data, split, items = prepared.sequences, prepared.split, prepared.items
set_seed(cfg.seed)
print(f"{data.n_users:,} users, {data.n_items:,} items; D={cfg.hidden_dim}, "
      f"layers={cfg.n_layers}, heads={cfg.n_heads}, max_len={cfg.max_len}")

# %% [markdown]
# ## The architecture
#
# Shapes: B sequences in a batch, L positions, D = `hidden_dim`, H heads,
# V = number of items + 1 (id 0 is padding).
#
# 1. **Embedding.** Item table E (V × D) and position table P (`max_len` × D):
#    xₜ = √D · E[sₜ] + Pₜ, then dropout.
#    `(B, L) -> (B, L, D)`.
# 2. **Blocks** (`n_layers` of them), each in pre-LayerNorm form:
#    x ← x + Attention(LN(x)) with the causal mask and H heads of
#    width D/H; then x ← x + FFN(LN(x)), a two-layer network with a
#    GELU. `(B, L, D) -> (B, L, D)`.
# 3. **Output.** A final LayerNorm gives hidden states hₜ. The score of item i as the
#    next one is hₜ · Eᵢ: the **same** item table embeds inputs and scores outputs
#    (tied weights). `(B, L, D) -> (B, L, V)`.
#
# Tying halves the item parameters and means an item's vector is shaped both by the
# contexts it appears in and the contexts it follows.
#
# Two choices differ from the paper (Kang & McAuley, 2018), both measured in
# `benchmarks/README.md`:
#
# * **GELU instead of ReLU** in the feed-forward layer, as in BERT and GPT (a smooth ReLU;
#   `ffn_activation="relu"` gives the paper's). A gated SwiGLU is also there to try.
# * **Full softmax cross-entropy instead of binary cross-entropy with one negative.** The
#   paper scored the target against one random item per position, which is cheap but
#   says little about the ranking of the whole catalogue; the softmax over all items
#   trains exactly what the evaluation asks (rank the true next item first). On 1,682
#   items it is affordable; for catalogues of 300k items `loss="sampled_softmax"`
#   estimates it with a few hundred negatives. Notebook 04 shows the measured difference.
#
# The whole model, top to bottom, with this run's sizes:

# %%
plots_attention.model_diagram_figure(cfg)

# %% [markdown]
# And as PyTorch prints its module tree:

# %%
model = SASRec(data.n_items, cfg).eval()
print(model)

# %% [markdown]
# ## Where the parameters are
#
# One row per module. Watch the `item_emb` row: it grows with the catalogue (V × D),
# while the attention blocks do not. On a catalogue of 300,000 products, the item table is
# nearly the whole model.

# %%
parameter_table(model).style.format({"parameters": "{:,}", "share": "{:.1%}"}).hide(axis="index")

# %% [markdown]
# ## One forward pass, shapes printed
#
# Four real training sequences, left-padded with 0 to the longest of them (at most
# `max_len`). The model returns hidden states for every position and, on request, the
# attention weights of every layer; scores for the next item come from the last position.

# %%
rows = np.arange(4)
seq = torch.from_numpy(split.train.select(rows).to_padded(cfg.max_len))  # (B, L)
with torch.no_grad():
    hidden, attention = model(seq, return_attention=True)
    scores = model.score_last(seq)
pd.DataFrame(
    [
        ("input item ids", "(B, L)", tuple(seq.shape)),
        ("hidden states", "(B, L, D)", tuple(hidden.shape)),
        (f"attention weights x {len(attention)} layers", "(B, H, L, L)", tuple(attention[0].shape)),
        ("next-item scores (column 0 = padding)", "(B, V)", tuple(scores.shape)),
    ],
    columns=["tensor", "symbolic shape", "actual shape"],
)

# %% [markdown]
# ## Proof of causality on a live example
#
# Take one real sequence, change only its **last** item, and compare hidden states position
# by position. If the mask works, every earlier position is bit-for-bit unchanged and only
# the last one moves. (The model is in eval mode, so dropout is off.)

# %%
original = seq[:1].clone()  # (1, L)
changed = original.clone()
changed[0, -1] = original[0, -1] % data.n_items + 1  # a different, valid item id
with torch.no_grad():
    difference = (model(changed) - model(original)).abs().amax(dim=-1)[0]  # (L,)
pd.DataFrame({"position (from the end)": np.arange(-6, 0),
              "max |change| in hidden state": difference[-6:].numpy()})

# %% [markdown]
# Padding is masked too: adding padding slots (10 by default) in front of the sequence leaves the last
# hidden state unchanged (up to float rounding), so batching short and long histories
# together does not change anyone's recommendations.

# %%
n_pad = max(1, min(10, cfg.max_len // 4))
short = original[:, -(cfg.max_len - n_pad):]  # room for the padding within max_len
padded = torch.nn.functional.pad(short, (n_pad, 0))  # n_pad zeros on the left
with torch.no_grad():
    same = torch.allclose(model(padded)[0, -1], model(short)[0, -1], atol=1e-5)
print(f"last hidden state unchanged by {n_pad} padding slots:", same)

# %% [markdown]
# ## Attention before training
#
# The heatmap shows the last layer's attention (averaged over heads) for the last 15 items
# of one real test user, the same window notebook 04 shows after training. Rows are query
# positions, columns the items they look at; the first column is the total weight on the
# items older than the window, so every row sums to 1. Before training the scores q · k
# are all near zero, so each row spreads its weight almost **evenly** over every item it
# may see, and the older items, being the most, take most of it. The grey upper triangle
# is the future: masked, never seen. Notebook 04 puts this map beside the trained one.

# %%
user = int(np.argmax(split.test.histories.lengths >= 15))  # a test user with 15+ items
history = split.test.histories[user]
untrained = window_weights(last_layer_attention(model, history), 15)
names = (items.set_index("item_id").loc[data.to_original(history[-15:]), "title"].tolist()
         if items is not None else [str(i) for i in data.to_original(history[-15:])])
plots_attention.attention_grid_figure(
    [(untrained, names, f"untrained model, test user {data.user_ids[split.test.users[user]]}")],
    columns=1,
)

# %% [markdown]
# ## Optional: start from pretrained item vectors
#
# A retail team often has item vectors already (from product text or images). The model
# can start from them: rows are matched to the model's items **by item id**; vectors wider
# than D are projected on their top-D principal directions; rows are rescaled to the
# spread of the default initialisation; row 0 (padding) stays zero. Set `embeddings_path`
# to use your file. Without one, a random 128-d table stands in, just to show the
# mechanics.

# %%
if prepared.pretrained is not None:
    table, source = prepared.pretrained, f"from {cfg.embeddings_path}"
else:
    table = np.random.default_rng(cfg.seed).normal(size=(data.n_items + 1, 128)).astype(np.float32)
    table[0] = 0
    source = "random stand-in (no embeddings_path given)"
before = model.item_matrix().detach().clone()
model.init_item_embeddings(table)
after = model.item_matrix().detach()
pd.Series(dtype=object, data={
    "source": source,
    "pretrained table (V, d)": tuple(table.shape),
    "model item table (V, D)": tuple(after.shape),
    "std before / after": f"{before[1:].std():.4f} / {after[1:].std():.4f}",
    "padding row still zero": bool((after[0] == 0).all()),
}).to_frame("value")

# %% [markdown]
# ## Takeaways
#
# * SASRec is a small causal Transformer: item + position embeddings, a few attention
#   blocks, and scores from the same item table (tied weights).
# * The causal mask is what lets one forward pass train every position without peeking.
# * Padding changes nothing; positions count from the most recent item.
# * On a large catalogue the item table is nearly the whole model.

# %% [markdown]
# ## Reproducibility

# %%
reproducibility(cfg, data_fingerprint(data), "cpu", started)
