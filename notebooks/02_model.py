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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sasrec-report/sasrec-report/blob/main/notebooks/02_model.ipynb)
#
# # 2. The model: SASRec, piece by piece
#
# This notebook builds SASRec from `sasrec_utils.model.sasrec`, counts its parameters, reads
# its real attention and `forward` code, writes both training losses as formulas and checks
# them by hand against the package, lists every difference from the paper, runs one forward
# pass with every shape printed, proves on real data that a position never sees the
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
import inspect
import os
import time

import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from sasrec_utils.data import data_fingerprint
from sasrec_utils.model import (
    SASRec,
    last_layer_attention,
    losses,
    parameter_table,
    window_weights,
)
from sasrec_utils.model.sasrec import CausalSelfAttention
from sasrec_utils.report import (
    differences,
    find_benchmark,
    load_or_prepare,
    narrative,
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
# The whole model, top to bottom, with this run's sizes:

# %%
plots_attention.model_diagram_figure(cfg)

# %% [markdown]
# And as PyTorch prints its module tree:

# %%
model = SASRec(data.n_items, cfg).eval()
print(model)

# %% tags=["remove-input"]
if cfg.frequency_mix > 0:
    display(Markdown(
        "Each block's `frequency` module is not SASRec's: it is BSARec's frequency filter "
        "(Shin et al., AAAI 2024), an extension this run uses: the block mixes "
        f"{cfg.frequency_mix:g} of the filter's output with {1 - cfg.frequency_mix:g} of "
        "attention's (`frequency_mix`). Its row in the table of differences below says what "
        "it does, and the note after the causality check why it needs prefixes."))

# %% [markdown]
# ## Where the parameters are
#
# One row per module. Watch the `item_emb` row: it grows with the catalogue (V × D),
# while the attention blocks do not. On a catalogue of 300,000 products, the item table is
# nearly the whole model.

# %%
parameter_table(model).style.format({"parameters": "{:,}", "share": "{:.1%}"}).hide(axis="index")

# %% [markdown]
# ## Inside one block: where Q, K and V come from, and the heads
#
# Notebook 01 took Q, K and V as given. In the model they are **learned**: one linear
# layer, `qkv` (D → 3D), maps each position's vector x to a query, a key and a value at
# once, Q = x W_Q, K = x W_K, V = x W_V, and those weight matrices are trained with the
# rest. **Multi-head attention** cuts each of the three into H slices of width D/H
# (H = `n_heads`) and runs the attention of notebook 01 in each slice separately, so each
# head can look for a different thing (the same genre, the most recent item, a sequel);
# the H outputs are put side by side again and mixed by a second linear layer, `out`
# (D → D). The cost is that of one attention of width D. Here is the real code of the
# attention module, read from the package as it runs:

# %%
print(inspect.getsource(CausalSelfAttention.forward))

# %% [markdown]
# Line by line: `self.qkv(x).split(dim, dim=-1)` is the learned projection, giving
# (B, L, D) each; `view(batch, …, self.n_heads, -1).transpose(1, 2)` cuts D into H heads of
# D/H, giving (B, H, L, D/H); the explicit path (taken when the weights are asked for, as
# for the heatmaps below) is notebook 01's formula, softmax(q kᵀ / √(D/H) + mask) v, and
# otherwise PyTorch's fused kernel computes the same thing; `transpose(1, 2).reshape`
# puts the heads side by side again, (B, L, D), and `self.out` mixes them. `last=True`
# computes only the most recent query, which is all a recommendation needs.
#
# And the whole model's `forward`: embed, run the blocks, normalise. `_embed` (below it)
# is xₜ = √D · E[sₜ] + Pₜ with positions counted from the right, plus the mask built once
# (causal, and no attention to padding) for every layer.

# %%
print(inspect.getsource(SASRec.forward))
print(inspect.getsource(SASRec._embed))

# %% [markdown]
# ## The loss: what training minimises
#
# At each position t the model's hidden state hₜ scores every item i by hₜ · Eᵢ. Two
# ways to turn those scores into a loss for the true next item s⁺ = sₜ₊₁:
#
# * **Full-softmax cross-entropy** (this project's default, `loss="ce"`): a softmax over
#   all items, and minus the log of the target's probability,
#   > ℓ_CE = −log softmax(hₜ · Eᵀ)[s⁺] = −hₜ · E_{s⁺} + log Σᵢ exp(hₜ · Eᵢ).
#   It pushes the target up against **every** other item: exactly what the evaluation asks
#   (rank the true next item first among all). A uniform guess scores ln(number of items).
# * **Binary cross-entropy with one negative** (the paper's, `loss="bce"`): one random
#   item s⁻ per position, and a yes/no question for each,
#   > ℓ_BCE = −log σ(hₜ · E_{s⁺}) − log(1 − σ(hₜ · E_{s⁻})).
#   Cheap (two scores instead of all), but one random item is usually an easy one, so it
#   says little about the ranking of the whole catalogue.
#
# Both computed by hand on a toy model (5 items, D = 4) and one sequence 3 → 1 → 4 → 2:
# the inputs are the first three items, the targets the next ones (0 marks padding,
# which has no target).

# %%
toy_model = SASRec(5, cfg.replace(hidden_dim=4, n_heads=1, n_layers=1, max_len=4)).eval()
toy_inputs = torch.tensor([[0, 3, 1, 4]])  # (B=1, L=4), left-padded
toy_targets = torch.tensor([[0, 1, 4, 2]])  # the item after each input; 0: no target
with torch.no_grad():
    h = toy_model(toy_inputs)[toy_targets > 0]  # (N=3, D) the real positions
    item_table = toy_model.item_matrix()  # (V=6, D); row 0 is padding, never a candidate
    logits = h @ item_table[1:].T  # (N, 5) scores of items 1..5
    target = toy_targets[toy_targets > 0]  # (N,)
    probability = logits.softmax(dim=-1)
    hand_ce = -probability[torch.arange(len(target)), target - 1].log()  # (N,)
toy_table = pd.DataFrame(probability.numpy(), columns=[f"p(item {i})" for i in range(1, 6)])
toy_table.insert(0, "target", target.numpy())
toy_table["−log p(target)"] = hand_ce.numpy()
display(toy_table.round(4))
with torch.no_grad():
    package_ce = losses.FullCrossEntropy(mask_seen=False)(toy_model, toy_inputs, toy_targets)
print(f"by hand: mean {hand_ce.mean():.6f} (a uniform guess: ln 5 = {np.log(5):.6f}); "
      f"losses.FullCrossEntropy(mask_seen=False): {package_ce:.6f}; "
      f"equal: {torch.allclose(hand_ce.mean(), package_ce, atol=1e-6)}")

# %% [markdown]
# The default also sets `mask_seen_in_loss=True`: the items a position has already seen in
# its window leave its softmax (their probability is set to 0 and the rest renormalised),
# as the evaluation leaves a user's history out of the ranking. By hand again:

# %%
seen_logits = logits.clone()
for row, position in enumerate(torch.nonzero(toy_targets[0] > 0)[:, 0]):
    window = toy_inputs[0, : position + 1]
    seen = window[(window > 0) & (window != target[row])]  # the target itself stays
    seen_logits[row, seen - 1] = float("-inf")
hand_masked = -seen_logits.log_softmax(dim=-1)[torch.arange(len(target)), target - 1]
with torch.no_grad():
    package_masked = losses.FullCrossEntropy(mask_seen=True)(toy_model, toy_inputs, toy_targets)
print(f"by hand: {hand_masked.mean():.6f}; losses.FullCrossEntropy(mask_seen=True): "
      f"{package_masked:.6f}; equal: {torch.allclose(hand_masked.mean(), package_masked, atol=1e-6)}")

# %% [markdown]
# And the paper's BCE. The loss object draws its negatives from torch's random generator;
# seeding it identically before both computations gives the hand version the same draws.

# %%
torch.manual_seed(0)
negatives = torch.randint(1, 6, target.shape)  # one uniform negative item per position
with torch.no_grad():
    positive_score = (h * item_table[target]).sum(-1)  # (N,) hₜ · E_{s⁺}
    negative_score = (h * item_table[negatives]).sum(-1)  # (N,) hₜ · E_{s⁻}
    hand_bce = -torch.sigmoid(positive_score).log() - (1 - torch.sigmoid(negative_score)).log()
display(pd.DataFrame({"target": target.numpy(), "negative": negatives.numpy(),
                      "σ(h·e⁺)": torch.sigmoid(positive_score).numpy(),
                      "σ(h·e⁻)": torch.sigmoid(negative_score).numpy(),
                      "loss": hand_bce.numpy()}).round(4))
torch.manual_seed(0)
with torch.no_grad():
    package_bce = losses.OneNegativeBCE()(toy_model, toy_inputs, toy_targets)
print(f"by hand: {hand_bce.mean():.6f}; losses.OneNegativeBCE: {package_bce:.6f}; "
      f"equal: {torch.allclose(hand_bce.mean(), package_bce, atol=1e-6)}")

# %% [markdown]
# ## Every difference from the paper
#
# The paper is Kang & McAuley, ICDM 2018, with its authors' code. Each point where this
# project may differ from it, with this run's choice (from its config: a run may do as the
# paper), then each extension of SASRec this run uses, and what undoing a difference
# measured where someone measured it: the loss on the test items of the held-out seeds in
# this dataset's benchmark file (`make bench` writes `reports/benchmark.json` for ML-100k,
# `make bench-beauty` `reports/benchmark_beauty.json` for Amazon Beauty), the others on the
# validation items of the ML-100k sweep that chose the defaults. "not measured" means
# neither source measured it: keep such a choice as a default of this project, not as a
# finding.

# %%
bench_name, bench_make = differences.BENCHMARK_FILES.get(cfg.dataset, (None, None))
bench = (find_benchmark(bench_name, repository=REPOSITORY, make_target=bench_make)
         if bench_name else None)
differences.paper_differences(cfg, bench).style.hide(axis="index").set_properties(
    **{"text-align": "left", "white-space": "normal"})

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
# Take one real sequence, change **one item in the middle** of it, and compare the hidden
# states position by position. If the mask works, every position before the changed one is
# unchanged (bit for bit, or up to float rounding: the line below the table says which),
# and the changed position and every later one move (they all see the new item). The
# model is in eval mode, so dropout is off.

# %%
original = seq[:1].clone()  # (1, L)
real = torch.nonzero(original[0] > 0)[:, 0]  # positions holding items (not padding)
middle = int(real[len(real) // 2])
changed = original.clone()
changed[0, middle] = original[0, middle] % data.n_items + 1  # a different, valid item id
with torch.no_grad():
    difference = (model(changed) - model(original)).abs().amax(dim=-1)[0]  # (L,)
shown = np.arange(max(int(real[0]), middle - 4), min(original.shape[1], middle + 5))
display(pd.DataFrame({"position": shown, "relative to the change": shown - middle,
                      "max |change| in hidden state": difference[shown].numpy()}))
before, after = difference[int(real[0]) : middle], difference[middle:]
print(narrative.unchanged_before_sentence(before.numpy()))
print(f"the changed position and the {len(after) - 1} after it: smallest change "
      f"{after.min():.1e}, so every one of them moved" if after.min() > 0 else
      "some later position did not move")

# %% tags=["remove-input"]
if cfg.frequency_mix > 0:
    display(Markdown(
        f"With the frequency filter (`frequency_mix={cfg.frequency_mix:g}`) this check holds "
        "only because the model is untrained: the filter's learned factor starts at 1, "
        "where it passes its input through unchanged (up to float rounding: the low "
        "frequencies are taken out and added back). A trained filter mixes every position of its window with "
        "every other, later ones included, so a window's early positions would see their "
        "own targets. That is why such a model trains on prefixes "
        f"(`train_examples='{cfg.train_examples}'`, which the config requires): each "
        "example's window ends at the item it predicts from, and a recommendation reads "
        "only the last position, which has nothing after it."))

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
# may see; the line below the map compares its bottom row with an even spread. The grey
# upper triangle is the future: masked, never seen. Notebook 04 puts this map beside the
# trained one.

# %%
user = int(np.argmax(split.test.histories.lengths >= 15))  # a test user with 15+ items
history = split.test.histories[user]
untrained_map = last_layer_attention(model, history)  # (L, L), L = min(history, max_len)
untrained = window_weights(untrained_map, 15)
names = (items.set_index("item_id").loc[data.to_original(history[-15:]), "title"].tolist()
         if items is not None else [str(i) for i in data.to_original(history[-15:])])
display(plots_attention.attention_grid_figure(
    [(untrained, names, f"untrained model, test user {data.user_ids[split.test.users[user]]}")],
    columns=1,
))
print(narrative.older_items_sentence(untrained_map, 15))

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
# * Q, K and V are learned projections of each position (`qkv`); H heads attend in
#   slices of width D/H and `out` mixes them.
# * Full-softmax cross-entropy ranks the target against every item; the paper's BCE
#   against one random item. Every other difference from the paper is in the table, with
#   this run's choice and its measured effect or "not measured".
# * The causal mask is what lets one forward pass train every position without peeking.
# * Padding changes nothing; positions count from the most recent item.
# * On a large catalogue the item table is nearly the whole model.

# %% [markdown]
# ## Reproducibility

# %%
reproducibility(cfg, data_fingerprint(data), "cpu", started)
