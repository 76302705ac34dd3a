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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sasrec-report/sasrec-report/blob/main/notebooks/01_theory_and_data.ipynb)
#
# # 1. Theory and data: predicting the next item from the order of the past ones
#
# This notebook poses the problem, builds the pieces of SASRec's attention with tiny runnable
# demos, then loads the data, looks at it, splits it, and saves it for notebooks 02–05.
#
# **Reads:** the data the `dataset` parameter names (MovieLens-100k by default, or your
# parquet event logs). **Writes:** `artifacts/sequences.npz`, `artifacts/items.parquet`
# (titles, when the data has them), `artifacts/data.json`.

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
artifacts = "artifacts"  # folder shared by the five notebooks (relative to the repository root)
preset = None  # None: SASRecConfig() as it is; or a name in sasrec_utils.presets.CONFIGS ("shopping", "retail", "ml1m-t4"), which the parameters below override
dataset = None  # None: the config default ("ml-100k"); "events" for your parquet logs
data_dir = None  # None: $SASREC_DATA_DIR or data/
events_paths = None  # for "events": parquet file(s) with user_id, item_id, timestamp
vocabulary_path = None  # for "events": optional item_vocabulary.parquet (item_id, index)
seed = None  # None: the config default; seeds the small random demos below

# %%
import os
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from sasrec_utils.data import (
    PreparedData,
    build_sequences,
    data_fingerprint,
    item_popularity,
    load_events,
    load_item_metadata,
    split_for,
)
from sasrec_utils.evaluation import per_query_ndcg
from sasrec_utils.report import (
    DATA_FILE,
    ITEMS_FILE,
    SEQUENCES_FILE,
    narrative,
    notebook_config,
    plots,
    preset_line,
    project_root,
    reproducibility,
    save_prepared,
)

started = time.time()
os.chdir(project_root())
cfg = notebook_config(globals(), "01_theory_and_data")
print(preset_line(preset))
generator = torch.Generator().manual_seed(cfg.seed)
pd.set_option("display.precision", 3)
print(f"dataset: {cfg.dataset}; artifacts go to {artifacts}/ (relative to the project)")

# %% [markdown]
# ## The problem: what comes next?
#
# A person's history is a sequence of items in time order, s₁, s₂, …, sₜ: films
# rated, products bought, pages viewed. **Next-item prediction** asks for a ranking of the
# whole catalogue such that sₜ₊₁ is near the top.
#
# Two facts shape the model:
#
# * **Anonymous sessions.** The input is the sequence itself, not a user id. A visitor who
#   is not logged in, or a customer the model never saw in training, still gets
#   recommendations from the few clicks of the current session. (A matrix-factorisation
#   model needs a trained vector per user and cannot do this.)
# * **Order matters.** "Phone, then case" suggests a screen protector; "case, then phone"
#   does not mean the same. The most recent items usually say most about the next one, and
#   some items follow others (sequels, refills, accessories). A model that sees a *bag* of
#   items throws this away.
#
# ### Where SASRec comes from
#
# * **Markov chains**, and **FPMC** (Rendle et al., WWW 2010), which factorises a
#   personal transition matrix: the next item depends on the last one. Cheap and strong
#   on short-range patterns, blind to anything further back. Notebook 04 tunes a Markov
#   chain as a baseline, because it is hard to beat on small data.
# * **GRU4Rec** (Hidasi et al., ICLR 2016): a recurrent network reads the session item by
#   item and carries a state. It sees far back in principle, but the state must squeeze
#   the whole past into one vector updated one step at a time, so long-range signals fade
#   and training cannot run the positions in parallel.
# * **SASRec** (Kang & McAuley, ICDM 2018) reads the sequence with **causal
#   self-attention**: at each position it forms a summary of everything so far, weighting
#   each earlier item by how relevant it is (any distance is one step away), and scores
#   every catalogue item as the next one. All positions train in one parallel pass.
# * **BERT4Rec** (Sun et al., CIKM 2019) makes attention *bidirectional*: it hides random
#   items and predicts them from both sides, as BERT does with words. The sequence's end,
#   the only place a recommendation is ever made, is then a special case; SASRec's causal
#   direction trains exactly that case at every position (Klenitskiy & Vasilev, RecSys
#   2023, find causal SASRec with a full softmax at least as good).
#
# The analogy behind all of them: **items are words and a history is a sentence**;
# predicting the next item is language modelling over a vocabulary of products. SASRec is
# a small GPT. The rest of this section builds its mechanism in four small steps.

# %% [markdown]
# ## Step 1: scaled dot-product attention
#
# Each item in the sequence becomes three vectors: a **query** q (what am I looking for?),
# a **key** k (what do I offer?) and a **value** v (what do I pass on?). Position i
# mixes the values with weights from a softmax over its query's match with every key:
#
# > **Attention(Q, K, V) = softmax(Q Kᵀ / √d) · V**
#
# Below: a toy sequence of 4 items with d = 8. Each **row** of the weight table is one
# position's attention; every row sums to 1.

# %%
length, dim = 4, 8
queries, keys, values = torch.randn(3, length, dim, generator=generator).unbind(0)  # (L, d) each
weights = torch.softmax(queries @ keys.T / dim**0.5, dim=-1)  # (L, L)
mixed = weights @ values  # (L, d): each row a weighted mix of the value vectors
display(pd.DataFrame(weights.numpy(), index=[f"query {i}" for i in range(length)],
                     columns=[f"key {j}" for j in range(length)]))
print("rows sum to", weights.sum(dim=1).numpy().round(6))
print("same as torch's fused kernel:",
      torch.allclose(mixed, F.scaled_dot_product_attention(queries, keys, values), atol=1e-6))

# %% [markdown]
# ## Step 2: the causal mask
#
# In training, position i must predict item i + 1 **without seeing it**. So position i may
# attend only to keys j ≤ i: the weights above the diagonal are forced to zero by setting
# their scores to −∞ before the softmax. The matrix of allowed pairs is lower
# triangular:

# %%
plots.causal_mask_figure(6)

# %% [markdown]
# Applied to the toy example, the upper triangle is now exactly zero and each row still sums
# to 1. The first position can only look at itself.
#
# This is also why training is cheap: one forward pass over a sequence of length L yields
# L predictions (position i predicts sᵢ₊₁), none of which has seen its answer.

# %%
causal = torch.ones(length, length, dtype=torch.bool).tril()
scores = (queries @ keys.T / dim**0.5).masked_fill(~causal, float("-inf"))
display(pd.DataFrame(torch.softmax(scores, dim=-1).numpy(),
                     index=[f"query {i}" for i in range(length)],
                     columns=[f"key {j}" for j in range(length)]))

# %% [markdown]
# ## Step 3: positions
#
# Attention by itself ignores order: shuffle the input rows and the output rows are shuffled
# the same way, nothing else changes (it is *permutation-equivariant*). The check below
# shuffles the toy sequence and compares.

# %%
order = torch.tensor([2, 0, 3, 1])  # a shuffle of the 4 positions
toy = torch.randn(length, dim, generator=generator)  # (L, d) item vectors, used as Q = K = V
plain = F.scaled_dot_product_attention(toy, toy, toy)
shuffled = F.scaled_dot_product_attention(toy[order], toy[order], toy[order])
print("shuffle in, same shuffle out:", torch.allclose(shuffled, plain[order], atol=1e-6))

positions = torch.randn(length, dim, generator=generator)  # one learned vector per position
with_pos = F.scaled_dot_product_attention(toy + positions, toy + positions, toy + positions)
x = toy[order] + positions  # the shuffled items, positions added as usual
shuffled_pos = F.scaled_dot_product_attention(x, x, x)
print("with position vectors added:", torch.allclose(shuffled_pos, with_pos[order], atol=1e-6))

# %% [markdown]
# That is plain attention, where every position sees every other. The **causal mask of
# step 2 already breaks this symmetry**: position i sees only the items up to i, so
# shuffling the sequence changes *which* items each position sees, and the outputs are no
# longer a shuffle of each other (first check below). What the mask cannot do is tell the
# order *inside* what a position sees: the last position attends to all earlier items as
# a bag, so swapping two older items (here the first and the third) leaves its output
# exactly as it was (second check). "A, B, then C" and "B, A, then C" look the same to it.

# %%
causal_toy = F.scaled_dot_product_attention(toy, toy, toy, is_causal=True)  # (L, d)
shuffled_causal = F.scaled_dot_product_attention(toy[order], toy[order], toy[order], is_causal=True)
print("causal mask, shuffle in, same shuffle out:",
      torch.allclose(shuffled_causal, causal_toy[order], atol=1e-6))
swap = torch.tensor([2, 1, 0, 3])  # the first and third items swapped; the last stays last
swapped = F.scaled_dot_product_attention(toy[swap], toy[swap], toy[swap], is_causal=True)
print("causal mask, two older items swapped: last position unchanged:",
      torch.allclose(swapped[-1], causal_toy[-1], atol=1e-6))

# %% [markdown]
# SASRec therefore adds a **learned position embedding** Pₜ to each item embedding:
# xₜ = √d · E[sₜ] + Pₜ. With positions added, the same swap of two older items moves the
# last position's output: the model can now tell "A then B" from "B then A" anywhere in
# the history, not only which item came last. Here the position vectors are random; in
# training they are learned like any other weight.

# %%
x_pos = toy + positions
x_swap = toy[swap] + positions  # the swapped items, each position keeping its vector
with_pos_causal = F.scaled_dot_product_attention(x_pos, x_pos, x_pos, is_causal=True)
swapped_pos = F.scaled_dot_product_attention(x_swap, x_swap, x_swap, is_causal=True)
moved = (swapped_pos[-1] - with_pos_causal[-1]).abs().max().item()
print(f"causal mask + positions, two older items swapped: last position moves by up to "
      f"{moved:.3f}")

# %% [markdown]
# In this package positions are counted **from the right**: the most recent item always
# gets the same position vector, whatever the history's length. "Most recent" is the
# position that matters most for the next item, so it should mean the same thing for a
# 5-item session and a 500-item history. (The paper's code gets the same effect by
# left-padding every sequence to a fixed length.)

# %% [markdown]
# ## Step 4: why divide by √d?
#
# If query and key entries have unit variance, their dot product has variance d. With
# large d the scores spread widely, the softmax puts almost all weight on one key, and its
# gradient all but vanishes. Dividing by √d brings the variance back to 1 whatever
# the width. The table measures this on random vectors (10 keys per query): watch the
# largest weight approach 1 without the scaling.

# %%
rows = []
for width in (4, 16, 64, 256):
    q, k = torch.randn(2, 2000, 10, width, generator=generator).unbind(0)
    raw = (q * k).sum(-1)  # (2000, 10) dot products of each query with its 10 keys
    rows.append({
        "d": width,
        "std of q·k": raw.std().item(),
        "std of q·k/√d": (raw / width**0.5).std().item(),
        "largest weight, unscaled": torch.softmax(raw, -1).max(-1).values.mean().item(),
        "largest weight, scaled": torch.softmax(raw / width**0.5, -1).max(-1).values.mean().item(),
    })
pd.DataFrame(rows).set_index("d")

# %% [markdown]
# With these four pieces (embeddings plus positions, causal scaled attention, stacked a few
# times with feed-forward layers) a model turns a history into one vector per position, and
# scores every item by its dot product with that vector. Notebook 02 builds it.
#
# ## The data
#
# The `dataset` parameter picks the data: MovieLens-100k by default, and with
# `dataset="events"` the same steps read your own parquet logs (`user_id, item_id,
# timestamp`). This run's:

# %% tags=["remove-input"]
display(Markdown(narrative.DATASETS[cfg.dataset]))

# %%
log = load_events(cfg)
events = log.events
items = load_item_metadata(cfg)
print(f"{len(events):,} events, {events['user_id'].nunique():,} users, "
      f"{events['item_id'].nunique():,} items")
if log.dropped:
    print("dropped while loading:", log.dropped)
events.head()

# %% [markdown]
# Next, events become one chronological sequence per user, stored compactly (one array of
# item ids plus offsets, no Python list per user). Item ids are renumbered `1..n_items`;
# `0` is reserved for padding. Users with a single event are dropped: there is nothing to
# predict after it.

# %%
data = build_sequences(events, log.item_ids)
lengths = data.sequences.lengths
density = len(data.sequences.items) / (data.n_users * data.n_items)
pd.Series(dtype=object, data={
    "users": data.n_users,
    "items": data.n_items,
    "events": len(data.sequences.items),
    "users dropped (< 2 events)": data.dropped_users,
    "median events per user": float(np.median(lengths)),
    "density (share of user-item pairs seen)": round(density, 4),
}).to_frame("value")

# %% [markdown]
# One person's history, oldest first (titles when the data has them). Look for runs of
# related items: that is the signal a sequential model can use.

# %%
evaluable = np.flatnonzero(lengths >= 3)  # users who get validation and test items (below)
# the median length; among users tied at it, the lowest user number (a stable sort): the
# same person on every machine
example_user = int(evaluable[np.argsort(lengths[evaluable], kind="stable")[len(evaluable) // 2]])
example = data.to_original(data.sequences[example_user][:12])
(items.set_index("item_id").loc[example, ["title", "genres"]].reset_index()
 if items is not None else pd.DataFrame({"item_id": example}))

# %% [markdown]
# ### How long are the histories?
#
# The model reads at most `max_len` recent items (the red line). The histogram shows how
# many histories are cut, and how short the short ones are: the shortest give the model the
# least to go on.

# %%
plots.sequence_length_figure(lengths, max_len=cfg.max_len)

# %% [markdown]
# ### The long tail
#
# A few items collect a large share of all events (left: counts fall steeply with rank;
# right: the share of events covered by the most popular items). This is why "recommend the
# most popular items" is a strong baseline, and why a model should be judged on whether it
# beats it.

# %%
counts = item_popularity(data.sequences, data.n_items)[1:]
plots.popularity_figure(counts)

# %% [markdown]
# ### Events over time
#
# How activity is spread in time, and how much of each history's order is the order of
# time. Events of one user with the *same* timestamp keep the file's order (the sort is
# stable), so for such events the sequence, and sometimes which item is the "last" (the
# test target), is partly arbitrary: no model can predict the order inside a tie. Their
# share is printed below. Data that holds order but no times (timestamps that are only
# positions in each history) gets no time axis.

# %% tags=["remove-input"]
if cfg.dataset == "ml-100k":
    display(Markdown(
        "MovieLens-100k spans about seven months, and a person often rates many films in one "
        "sitting: these are *ratings*, entered in bursts, not viewing order. A model can "
        "still learn which films belong together in a sitting, but not the order inside it, "
        "so every system's scores here have a ceiling below what a real viewing log would "
        "allow."))

# %%
ordered = events.sort_values(["user_id", "timestamp"], kind="stable")
same_second = (ordered.groupby("user_id")["timestamp"].diff() == 0).mean()
positions_only = narrative.timestamps_are_positions(events)
print(f"consecutive events of a user with the same timestamp: {same_second:.1%}")
if positions_only:
    print(f"{cfg.dataset}: every timestamp is the event's position in its user's history "
          "(0, 1, 2, ...): the data holds order but no times, so no events-over-time figure")
else:
    display(plots.events_over_time_figure(events["timestamp"].to_numpy()))

# %% [markdown]
# ## The split: leave one out, rank everything
#
# For every user with at least 3 events, the **last** item is the test target and the
# **second-to-last** the validation target; everything before is training data. Validation
# (used for early stopping in notebook 03) sees the training part; the test query sees the
# training part plus the validation item.
#
# Why this protocol:
#
# * it asks exactly the product question, "what does this person do next?", for every
#   user;
# * the model is scored by **ranking the whole catalogue** (minus what the user already
#   has), not 100 sampled items: sampled rankings inflate every number and can even reorder
#   models (notebook 04 shows both side by side).
#
# Its known limit: the split is per user, not at one global date, so one user's test item
# can be older than another user's training items. That is the standard protocol for this
# benchmark, and the SASRec paper's split too; notebook 04 sets the paper's figures beside
# ours, each with its ranking protocol (the paper ranks against 100 sampled items, this
# project against all of them).

# %%
split = split_for(cfg, data)
pd.Series(dtype=object, data={
    "training sequences": len(split.train),
    "training events": len(split.train.items),
    "validation queries": len(split.valid),
    "test queries": len(split.test),
    "users not evaluated (< 3 events)": split.unevaluated_users,
}).to_frame("value")

# %% [markdown]
# The same example user, split: the table shows where their history ends in each part.

# %%
row = int(np.flatnonzero(split.test.users == example_user)[0])
parts = {
    "training items": len(split.train[example_user]),
    "validation target": split.valid.targets[row],
    "test target": split.test.targets[row],
}
targets = data.to_original([parts["validation target"], parts["test target"]])
titles = (items.set_index("item_id").loc[targets, "title"].tolist()
          if items is not None else [str(t) for t in targets])
pd.DataFrame({"what": ["training part", "validation target", "test target"],
              "value": [f"{parts['training items']} items", *titles]})

# %% [markdown]
# ### Scoring one ranking: HR@10 and NDCG@10
#
# Each test (or validation) query gives one number: the **rank** of the true next item in
# the system's ordering of the catalogue (1 = first). Two metrics turn ranks into scores,
# averaged over the users:
#
# * **HR@10** (hit rate): 1 if rank ≤ 10, else 0. "Was the item on the first screen?"
# * **NDCG@10**: 1 / log₂(rank + 1) if rank ≤ 10, else 0. Rank 1 counts 1, rank 2 counts
#   0.63, rank 10 counts 0.29. With one relevant item per query the ideal score is 1, so
#   no normalisation is left to do.
#
# NDCG@10 picks the epoch kept by early stopping (notebook 03) and is the headline of
# notebook 04. Why it, rather than HR@10: a list is read from the top, and a hit at rank 1
# is worth more than a hit at rank 10. HR@10 cannot see the difference; NDCG@10 can. A
# worked example, two systems ranking the next items of the same four users:

# %%
worked = pd.DataFrame({"user": ["u1", "u2", "u3", "u4"],
                       "rank, system A": [1, 2, 9, 40], "rank, system B": [8, 10, 3, 40]})
for system in ("A", "B"):
    ranks = worked[f"rank, system {system}"].to_numpy()
    worked[f"hit@10, {system}"] = (ranks <= 10).astype(int)
    worked[f"1/log2(rank+1), {system}"] = per_query_ndcg(ranks, k=10)
display(worked.set_index("user").round(3))
scored = {system: {"hr@10": worked[f"hit@10, {system}"].mean(),
                   "ndcg@10": worked[f"1/log2(rank+1), {system}"].mean()} for system in ("A", "B")}
a, b = scored["A"], scored["B"]
print(f"System A: HR@10 {a['hr@10']:.2f}, NDCG@10 {a['ndcg@10']:.3f}. "
      f"System B: HR@10 {b['hr@10']:.2f}, NDCG@10 {b['ndcg@10']:.3f}. "
      + ("Same hit rate, " if a["hr@10"] == b["hr@10"] else "Different hit rates, ")
      + f"but system {'A' if a['ndcg@10'] > b['ndcg@10'] else 'B'} puts its hits higher "
      "in the list, and only NDCG@10 rewards that.")

# %% [markdown]
# ## Save for the next notebooks
#
# The prepared sequences go to one `.npz` of plain arrays (no pickle), the titles (when the
# data has them) to a parquet file, and `data.json` records which data settings produced
# them. Notebooks 02–05 load these instead of re-reading the raw files; if they are missing
# (for example when a notebook is opened alone on Colab), they are rebuilt on the spot.

# %%
save_prepared(artifacts, cfg, PreparedData(data, split, items))
pd.DataFrame([(name, os.path.getsize(os.path.join(artifacts, name)) / 1024)
              for name in sorted(os.listdir(artifacts))
              if name in (SEQUENCES_FILE, ITEMS_FILE, DATA_FILE)],
             columns=["file", "KiB"])

# %% [markdown]
# ## Takeaways

# %% tags=["remove-input"]
display(Markdown(f"""
* Next-item prediction ranks the whole catalogue for a sequence; no user id is needed.
* Attention is a softmax-weighted mix of values; the causal mask keeps the future out
  (and already breaks the symmetry under shuffling); positions let it tell the order of
  older items too; √d keeps the softmax from saturating.
* The data has a long tail (most-popular is a strong baseline) and
  {narrative.time_order_clause(same_second, positions_only)}.
* Leave-one-out with full ranking asks the product question, and is what every later
  number uses; NDCG@10 scores a hit by its rank (1 / log₂(rank + 1)), HR@10 only by
  whether it is in the top 10.
"""))

# %% [markdown]
# ## Reproducibility

# %%
reproducibility(cfg, data_fingerprint(data), "cpu", started)
