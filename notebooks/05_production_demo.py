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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sasrec-report/sasrec-report/blob/main/notebooks/05_production_demo.ipynb)
#
# # 5. Production demo: the trained model answering real requests
#
# Everything here goes through one object, `sasrec_utils.recommend.Recommender`, the way a
# service would use it: requests are lists of **your own item ids** (or titles a person
# typed), answers are small tables. The use cases: next items for an anonymous session, a
# re-engagement push, a cart upsell, a session-quality score, similar items, an explanation
# of a recommendation, one user's journey, and the latency of a request on CPU.
#
# **Reads:** `artifacts/best.pt` from notebook 03 (trained here if missing) and the data from
# notebook 01.

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
session = None  # titles or item ids typed by a visitor; None: a MovieLens example, or a real user's items
cart = None  # titles or item ids in a cart; None: a MovieLens example, or a real user's items
k = 10  # recommendations per request
journey_users = 5  # test users followed in the journey section
latency_requests = 200  # timed single requests
seed = None  # None: the config default; picks the users shown
n_seeds = 3  # seeds trained here when notebook 03 has not run

# %%
import os
import time

import numpy as np
import pandas as pd
import torch
from IPython.display import display

from sasrec_utils import insights, plots, plots_results
from sasrec_utils.artifacts import notebook_config, prepared_data, project_root, trained_checkpoints
from sasrec_utils.prepared import data_fingerprint
from sasrec_utils.recommend import Recommender, with_probability
from sasrec_utils.reproducibility import reproducibility
from sasrec_utils.runinfo import latency_summary
from sasrec_utils.sequences import item_popularity

started = time.time()
os.chdir(project_root())
cfg = notebook_config(globals(), "05_production_demo")
prepared = prepared_data(artifacts, cfg)
checkpoint = trained_checkpoints(artifacts, cfg, prepared, n_seeds)[0]  # the first seed
data, split, items = prepared.sequences, prepared.split, prepared.items
rng = np.random.default_rng(cfg.seed)
pd.set_option("display.max_colwidth", 80)

# %% [markdown]
# ## Load the service object
#
# `Recommender.load` reads the training checkpoint safely (`weights_only=True`: no pickled
# code runs) onto the CPU. Titles make the answers readable; training popularity is the
# fallback for a request with no known item. With the retail layout there are no titles and
# every table shows item ids only.

# %%
recommender = Recommender.load(
    checkpoint, device="cpu", items=items, popularity=item_popularity(split.train, data.n_items)
)
print(recommender)

# %% [markdown]
# The example requests. On MovieLens they are typed as a person would: exact titles or a
# distinctive part of one. Without titles (retail data), they are a real test user's recent
# items. `resolve_items` turns the text into item ids and refuses ambiguous text.

# %%
if session is None:
    session = (["Raiders of the Lost Ark", "Empire Strikes Back", "Return of the Jedi"]
               if items is not None else data.to_original(split.test.histories[0][-5:]).tolist())
if cart is None:
    cart = (["Toy Story (1995)", "Aladdin (1992)", "Lion King, The (1994)"]
            if items is not None else data.to_original(split.test.histories[1][-3:]).tolist())
session_ids = recommender.catalogue.resolve(session)
cart_ids = recommender.catalogue.resolve(cart)
titles = items.set_index("item_id")["title"] if items is not None else None
pd.DataFrame({
    "request": ["session"] * len(session) + ["cart"] * len(cart),
    "typed": [str(x) for x in [*session, *cart]],
    "item_id": [*session_ids, *cart_ids],
    "title": [titles.get(i) if titles is not None else "" for i in [*session_ids, *cart_ids]],
})

# %% [markdown]
# ## 1. Next items for an anonymous session
#
# A visitor who is not logged in viewed these items, in this order. The model has never
# seen this "user": the session itself is the input. Items already in the session are
# excluded from the answer. Look at whether the list continues the session's theme.

# %%
recommender.recommend(session_ids, k=k)

# %% [markdown]
# Order is part of the input. The same items in reverse order give a different list; the
# overlap is printed below (a bag-of-items model would give the same list both times).

# %%
forward = recommender.recommend(session_ids, k=k)["item_id"]
backward = recommender.recommend(session_ids[::-1], k=k)["item_id"]
print(f"items in common between the two top-{k} lists: {len(set(forward) & set(backward))} of {k}")
print("same order:", forward.tolist() == backward.tolist())

# %% [markdown]
# ## 2. Re-engagement push
#
# A returning customer has gone quiet. From their last 10 items the model picks **one**
# item they have not had yet, for a push notification or an email.

# %%
journey_rows = rng.choice(len(split.test), size=min(journey_users, len(split.test)), replace=False)
person = int(journey_rows[0])
person_history = data.to_original(split.test.histories[person]).tolist()
push = recommender.reengagement(person_history, last_n=10)
display(push)
name = push["title"].iloc[0] if "title" in push else push["item_id"].iloc[0]
print(f"Push message: Still thinking about your next pick? Try {name}.")

# %% [markdown]
# ## 3. Cart upsell
#
# A cart is about to be abandoned. The model proposes 5 add-ons; `probability` is a
# softmax over these 5 candidates' scores: each one's **share among the suggestions**, not a
# calibrated chance of purchase. Below the table, the message lines ready for the page.

# %%
upsell = recommender.cart_upsell(cart_ids, k=5)
display(upsell)
names = upsell["title"] if "title" in upsell else upsell["item_id"]
for name, share in zip(names, upsell["probability"], strict=True):
    print(f"Customers with this cart often add {name} ({share:.0%})")

# %% [markdown]
# ## 4. Session quality
#
# How coherent is a session? The score is the mean pairwise cosine similarity of the
# session's item vectors (learned by the model): HIGH above 0.4, MEDIUM above 0.2, LOW
# otherwise. A coherent session (one theme) is a good moment for "more like this"; a
# scattered one calls for broader suggestions. Three sessions: the typed one, 5 random
# items, and a real user's last 10 items.

# %%
random_items = rng.choice(data.item_ids, size=5, replace=False).tolist()
sessions = {
    "typed session": session_ids,
    "5 random items": random_items,
    "a real user's last 10": person_history[-10:],
}
quality = {name: insights.session_quality(recommender, ids) for name, ids in sessions.items()}
pd.DataFrame({
    "session": list(sessions),
    "items": [len(ids) for ids in sessions.values()],
    "coherence score": [q.score for q in quality.values()],
    "label": [q.label for q in quality.values()],
}).round(3)

# %% [markdown]
# ## 5. Similar items
#
# Items whose learned vectors are closest (cosine) to the first item of the session. The
# model learned these vectors only from the order of interactions, never from titles or
# genres: similar items are items that appear in similar places in people's sequences.

# %%
anchor = session_ids[0]
print("similar to:", titles.get(anchor) if titles is not None else anchor)
recommender.similar_items(anchor, k=k)

# %% [markdown]
# ## 6. Why this recommendation?
#
# For the real user's last 12 items, the top recommendation and two views of what drove it:
#
# * **attention weight** (left): where the last attention step looked. It is the same for
#   every candidate item and is not an attribution;
# * **score drop** (right): how much this item's score falls when one history item is
#   removed. Positive bars pushed the recommendation up. This is a real, item-specific
#   effect, one item at a time.
#
# When the two disagree, trust the score drop.

# %%
recent = person_history[-12:]
top = recommender.recommend(recent, k=1)
top_item = top["item_id"].iloc[0]
top_name = top["title"].iloc[0] if "title" in top else top_item
explanation = insights.explain(recommender, recent, top_item)
display(explanation.round(4))
plots_results.explanation_figure(explanation, title=f"Recommended: {plots.short_label(top_name, 50)}")

# %% [markdown]
# ## 7. A user's journey: history, prediction, what happened
#
# The held-out test item is what each user really did next, and the model never saw it.
# For the first user: their latest items, the top recommendations with the model's
# **probability** for each (a softmax over all items they have not had yet; full
# cross-entropy training fits exactly this distribution), and where the real next item
# landed.

# %%
print("latest items, oldest first:")
latest = pd.DataFrame({"item_id": person_history[-10:]})
if titles is not None:
    latest["title"] = latest["item_id"].map(titles)
display(latest)
ranked = with_probability(recommender.recommend(person_history, k=data.n_items))
display(ranked.head(k))
actual = data.to_original([split.test.targets[person]])[0]
found = ranked[ranked["item_id"] == actual]
actual_name = titles.get(actual) if titles is not None else actual
if len(found):
    print(f"what they did next: {actual_name} (rank {found['rank'].iloc[0]} of {len(ranked)}, "
          f"probability {found['probability'].iloc[0]:.4f}; the top {k} hold "
          f"{ranked['probability'].head(k).sum():.1%} of the probability)")
else:
    print(f"what they did next: {actual_name}, an item already in their history (excluded)")

# %% [markdown]
# The same for all the followed users, one line each. A rank within the top 10 is a hit;
# most users miss, which is what an HR@10 of about 0.1–0.2 means in practice.

# %%
journeys = []
for row in journey_rows:
    history = data.to_original(split.test.histories[row]).tolist()
    ranked_all = with_probability(recommender.recommend(history, k=data.n_items))
    actual = data.to_original([split.test.targets[row]])[0]
    hit = ranked_all[ranked_all["item_id"] == actual]
    journeys.append({
        "user": data.user_ids[split.test.users[row]],
        "history length": len(history),
        "last item": titles.get(history[-1]) if titles is not None else history[-1],
        "top prediction": ranked_all["title"].iloc[0] if titles is not None else ranked_all["item_id"].iloc[0],
        "its probability": ranked_all["probability"].iloc[0],
        "what they did next": titles.get(actual) if titles is not None else actual,
        "rank of what they did": hit["rank"].iloc[0] if len(hit) else None,
    })
pd.DataFrame(journeys).round(4)

# %% [markdown]
# ## 8. Latency on CPU
#
# Single requests as a service would see them: one real history each, top-10, model on the
# CPU, no batching. A few warm-up requests run first. The timings depend on the machine and
# on whatever else it is running; read them as an order of magnitude.

# %%
rows = rng.choice(len(split.test), size=min(latency_requests, len(split.test)), replace=False)
requests = [data.to_original(split.test.histories[r]).tolist() for r in rows]
for history in requests[:5]:
    recommender.recommend(history, k=10)
seconds = []
for history in requests:
    tick = time.perf_counter()
    recommender.recommend(history, k=10)
    seconds.append(time.perf_counter() - tick)
print(f"torch threads: {torch.get_num_threads()}, max_len {recommender.cfg.max_len}, "
      f"{data.n_items:,} items")
latency_summary(seconds).round(2)

# %%
plots_results.latency_figure(np.array(seconds) * 1000)

# %% [markdown]
# Batching amortises the model call: the same requests through `recommend_batch`, 64 at a
# time, cost this much per request:

# %%
tick = time.perf_counter()
recommender.recommend_batch(requests, k=10, batch_size=64)
per_request_ms = (time.perf_counter() - tick) / len(requests) * 1000
print(f"{per_request_ms:.2f} ms per request in batches of 64 "
      f"(vs {np.median(seconds) * 1000:.2f} ms median alone)")

# %% [markdown]
# ## Reproducibility

# %%
reproducibility(recommender.cfg, data_fingerprint(data), recommender.device, started)
