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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sasrec-report/sasrec-report/blob/main/notebooks/04_evaluation.ipynb)
#
# # 4. Evaluation: is SASRec worth it against strong simple baselines?
#
# The models of notebook 03 (one per seed) against simple baselines on the **test** split,
# ranking **every** item: hit rate, NDCG, MRR, catalogue coverage and novelty, as mean ±
# sd over seeds; a paired bootstrap interval for the difference to the best baseline;
# how good the recommendations are after only 1, 2, 3, 5 or 10 clicks; how the answer
# depends on history length; why sampled metrics (100 negatives) tell a different story;
# and what the trained attention looks at; published figures beside ours, each with its
# protocol.
#
# **Reads:** the checkpoints of notebook 03 (trained here if missing) and the data from
# notebook 01. **Writes:** `metrics.json` to `artifacts/` and to the reports folder, with
# the fingerprint of the data, settings and checkpoints it measured (notebook 05 shows
# its figures only beside the same model).

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
report_dir = "reports"  # metrics.json and the comparison figure also go here
dataset = None  # None: the config default ("ml-100k"); "events" for your parquet logs
data_dir = None
events_paths = None  # for "events": parquet file(s)
vocabulary_path = None  # for "events": optional item_vocabulary.parquet
device = None  # None: the config default ("auto": cuda, then mps, then cpu)
seed = None  # None: the config default; seeds the random baseline and the sampled negatives
n_seeds = 3  # seeds trained here when notebook 03 has not run
sampled_negatives = 100  # negatives per query for the sampled metrics shown for contrast
attention_window = 15  # most recent items shown in the attention heatmaps (older: one column)
bootstrap_resamples = 10_000  # resamples of the paired bootstrap
ease_max_items = 5_000  # EASE inverts a dense items x items matrix per grid point: left out above this

# %%
import os
import time

import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from sasrec_utils.data import data_fingerprint, item_popularity, users_per_item
from sasrec_utils.evaluation import (
    BASELINES,
    BootstrapPair,
    EnsembleScorer,
    ModelScorer,
    PopularityScorer,
    RandomScorer,
    bootstrap_verdict,
    comparison_table,
    evaluate_sampled,
    metrics_by_history_length,
    per_query_ndcg,
    rank_all_items,
    ranking_metrics,
    seed_summary,
    session_metrics,
    tune,
)
from sasrec_utils.model import SASRec, last_layer_attention, weight_by_distance, window_weights
from sasrec_utils.report import (
    Evaluation,
    benchmark_pair,
    best_baseline_pair,
    find_benchmark,
    fingerprints,
    has_held_out,
    load_or_prepare,
    narrative,
    notebook_config,
    plots,
    plots_attention,
    plots_results,
    preset_line,
    project_root,
    published_table,
    read_training_summary,
    reproducibility,
    shopping,
    trained_checkpoints,
    trained_on,
    write_metrics,
)
from sasrec_utils.report.ladder import (
    ladder_figure,
    ladder_progress,
    ladder_table,
    reused_runs_note,
)
from sasrec_utils.runtime import resolve_device
from sasrec_utils.training import final_train, model_from_checkpoint

started = time.time()
os.chdir(project_root())
requested = notebook_config(globals(), "04_evaluation")
print(preset_line(preset))
prepared = load_or_prepare(artifacts, requested)
checkpoints = trained_checkpoints(artifacts, requested, prepared, n_seeds)
run_device = resolve_device(requested.device)
loaded = [model_from_checkpoint(path, run_device) for path in checkpoints]
models = {trained_cfg.seed: model for model, trained_cfg, _ in loaded}
cfg = loaded[0][1]
data, split, items = prepared.sequences, prepared.split, prepared.items
n_items = data.n_items
train_items = final_train(split, cfg)  # what the final models learnt from; baselines too
print(f"{len(models)} SASRec models (seeds {list(models)}), evaluating on {run_device}; "
      f"{len(split.test):,} test users, {n_items:,} items")

# %% [markdown]
# ## The systems
#
# * **SASRec**: the checkpoint of each seed from notebook 03 (early-stopped on validation).
# * **ensemble**: the mean of the seeds' scores, one system.
# * **markov**: a first-order Markov chain: how often item b came right after item a in the
#   training sequences, summed over the user's last few items with decaying weights.
# * **cooccurrence**: item-to-item co-occurrence within a window of following events, with
#   a popularity normalisation (an item-kNN in the style of session-based recommenders).
# * **ease**: EASE (Steck 2019), a closed-form linear item-item model of the user × item
#   matrix; it ignores order entirely.
# * **most-popular**: the items with the most training interactions, for everyone.
# * **random**: a fixed pseudo-random score per (user, item): the floor.
#
# The tuned baselines are simple, fast, and known to come close to neural models on
# small data (Ferrari Dacrema et al., RecSys 2019; Ludewig et al., 2021): beating them,
# not most-popular, is what justifies SASRec. Each baseline's few settings are chosen on
# the **validation** items by a small grid; the test items are scored once.

# %%
tuned_names = [name for name in BASELINES if name != "ease" or n_items <= ease_max_items]
if len(tuned_names) < len(BASELINES):
    print(f"ease left out: it inverts a dense {n_items:,} x {n_items:,} matrix per grid point, "
          f"and {n_items:,} items are more than ease_max_items={ease_max_items:,} "
          "(`make report EASE_MAX_ITEMS=...` raises it)")
tuned = {name: tune(name, split) for name in tuned_names}
for name, result in tuned.items():
    best = result.grid.sort_values("valid_ndcg@10", ascending=False)
    print(f"{name}: chosen {result.params} (validation NDCG@10 {result.valid_ndcg:.4f}) "
          f"from a grid of {len(best)}; best five:")
    display(best.head(5).round(4).set_index(list(result.params)))

# %% [markdown]
# Every system is scored the same way: for each test user, all items are ranked, the items
# already in the user's history are removed (except the target itself), and the target's
# rank is recorded. Ties count against the target (an item scoring the same is ranked
# above it), so a system that gives everything the same score gets no credit.

# %%
scorers = {
    **{f"SASRec seed {s}": ModelScorer(model, cfg.max_len, run_device) for s, model in models.items()},
    "ensemble": EnsembleScorer(list(models.values()), cfg.max_len, run_device),
    **{name: BASELINES[name](train_items, n_items, **result.params) for name, result in tuned.items()},
    "most-popular": PopularityScorer(item_popularity(train_items, n_items)),
    "random": RandomScorer(requested.seed),
}
rankings = {
    name: rank_all_items(scorer, split.test, n_items, cfg.eval_batch_size, device=run_device)
    for name, scorer in scorers.items()
}
item_users = users_per_item(train_items, n_items)
results = {
    name: ranking_metrics(ranking, n_items, item_users, len(train_items))
    for name, ranking in rankings.items()
}
seed_names = [f"SASRec seed {s}" for s in models]
systems = {"SASRec": seed_summary({s: results[f"SASRec seed {s}"] for s in models})}
systems |= {name: seed_summary({None: results[name]}) for name in results if name not in seed_names}
table = comparison_table(systems, keys=("hr@5", "hr@10", "hr@20", "ndcg@10", "mrr", "coverage@10",
                                         "novelty@10"))
table.style.format("{:.4f}").format("{:.0f}", subset=["seeds"]).format("{:.2f}", subset=["novelty@10"])

# %% [markdown]
# How to read the columns:
#
# * **HR@k** (hit rate): share of users whose next item is in the top k.
# * **NDCG@10**: like HR@10, but a hit at rank r counts 1 / log₂(r + 1): rank 1 counts 1,
#   rank 10 counts 0.29. **ndcg@10 sd**: the standard deviation over SASRec's seeds (the
#   baselines are deterministic).
# * **MRR**: mean of 1 / rank over all users (no cut-off).
# * **coverage@10**: share of the catalogue that appears in anyone's top 10.
# * **novelty@10**: mean self-information −log₂(share of training users who had the item)
#   of the recommended items, in bits: higher means less popular items are recommended.
# * **lift_ndcg@10**: NDCG@10 relative to most-popular.
#
# SASRec's figure per seed (each seed is one model trained the same way):

# %%
pd.DataFrame({s: results[f"SASRec seed {s}"] for s in models}).T.rename_axis("seed")[
    ["ndcg@10", "hr@10", "mrr", "coverage@10", "novelty@10"]].round(4)

# %% [markdown]
# ## Is the difference real? A paired bootstrap over users
#
# The same test users are scored by every system, so the fair question is per user: resample
# the users with replacement 10,000 times and recompute the difference of mean NDCG@10
# (SASRec averaged over its seeds, per user) against the best baseline, chosen by its
# validation figure. If the 95% interval excludes zero, the difference is not the luck of
# which users happen to be in the test set.

# %%
best_baseline = max(tuned, key=lambda name: tuned[name].valid_ndcg)
per_user = {name: per_query_ndcg(rankings[name].ranks) for name in rankings}
per_user["SASRec"] = np.mean([per_user[name] for name in seed_names], axis=0)  # mean of seeds
pairs = [
    BootstrapPair.measure(system, baseline, per_user[system], per_user[baseline],
                          bootstrap_resamples, requested.seed)
    for system, baseline in (("SASRec", best_baseline), ("SASRec", "ensemble"),
                             ("ensemble", best_baseline))[:3 if len(models) > 1 else 1]
]  # one seed: the ensemble is that seed's model, nothing to compare
for pair in pairs:
    print(bootstrap_verdict(pair))
pd.DataFrame([pair.to_dict() for pair in pairs]).set_index(["system", "baseline"])[
    ["difference", "difference_low", "difference_high", "lift", "lift_low", "lift_high"]].round(4)

# %% [markdown]
# The figure puts the two together: the bars are the test figures (SASRec's the mean over
# its seeds), the right panel each difference with its 95% interval. A bar that looks
# longer is a win only when its interval clears zero (green; red: below zero; grey: the
# interval includes zero).

# %%
comparison = plots_results.comparison_figure(table, pairs=pairs)
os.makedirs(report_dir, exist_ok=True)
plots.save_figure(comparison, os.path.join(report_dir, "model_vs_baselines.png"))
display(comparison)

# %% [markdown]
# The paper's loss (binary cross-entropy against one random negative per position) against
# this project's full softmax, measured by `make bench` on five held-out seeds each (from
# `reports/benchmark.json`, when it is there):

# %%
bench = find_benchmark("benchmark.json", report_dir, REPOSITORY, make_target="make bench")
if bench is not None and bench["dataset"] != cfg.dataset:
    print(f"benchmark.json measured {bench['dataset']}, not {cfg.dataset}: not shown")
elif bench is not None:
    shown = [s for s in bench["summaries"] if s["role"] == "held-out"]
    display(pd.DataFrame([{"system": s["system"], "test NDCG@10": s["ndcg@10"],
                           "sd": s["ndcg@10_sd"], "seeds": s["seeds"]} for s in shown]).round(4))
    print(bootstrap_verdict(benchmark_pair(bench, "sasrec", "sasrec-bce"),
                            "SASRec (full softmax)", "SASRec-BCE (the paper's loss)"))

# %% [markdown]
# ## Anonymous sessions: after 1, 2, 3, 5 or 10 clicks
#
# A visitor who is not logged in has only the clicks of this session. Here every test user
# is shown only their last n items (the rest is unknown, so it is neither fed to the
# system nor removed from the ranking), and the next item is the same test item. SASRec
# needs no user id, so it serves such a session as it is; so do the best baseline and the
# Markov chain, from the same last items. Most-popular's list does not depend on the
# clicks, only on which of them are removed from it.
#
# The whole-history column is a different test: it also removes the **whole** history
# from the ranking, where a last-n column removes only the n items seen. The figure sets
# it apart; compare systems within the last-n columns.

# %%
sasrec_sessions = pd.concat([
    session_metrics({"SASRec": ModelScorer(model, cfg.max_len, run_device)}, split.test, n_items)
    for model in models.values()
]).groupby(["items_seen", "system"], sort=False).mean().reset_index()  # mean over seeds
session_systems = dict.fromkeys([best_baseline, "markov", "most-popular"])
sessions = pd.concat([sasrec_sessions, session_metrics(
    {name: scorers[name] for name in session_systems}, split.test, n_items)])
sessions.pivot(index="items_seen", columns="system", values="ndcg@10").loc[
    list(dict.fromkeys(sessions["items_seen"]))].round(4)

# %%
display(plots_results.session_figure(sessions))
print(narrative.session_masking_sentence(sessions))

# %% [markdown]
# ## Does history length matter?
#
# Test users are split into groups of about equal size by how many items their history
# holds (the quartiles of the lengths; a length shared by many users can merge two of
# them, so the table may have fewer than four rows). For each group: NDCG@10 of SASRec
# (mean over seeds), the best baseline and most-popular. Two effects pull in opposite directions: a longer history tells the model
# more about the person, but long-time users have already seen the popular items (which
# are then excluded) and their next choice is harder to guess. The model only reads the
# last `max_len` items of the longest histories.

# %%
history_lengths = split.test.histories.lengths
by_length = pd.concat([
    metrics_by_history_length(
        {"SASRec": rankings[name].ranks, best_baseline: rankings[best_baseline].ranks,
         "most-popular": rankings["most-popular"].ranks}, history_lengths)
    for name in seed_names
]).groupby(["bucket", "users", "system"], sort=False).mean().reset_index()
by_length.pivot(index="bucket", columns="system", values="ndcg@10").loc[
    by_length["bucket"].unique()].round(4)

# %%
plots_results.bucket_figure(by_length)

# %% [markdown]
# ## Full ranking versus 100 sampled negatives
#
# Many papers rank the target against only 100 randomly sampled items instead of the whole
# catalogue. SASRec (the first seed), most-popular and random, scored both ways:

# %%
contrast = {"SASRec": scorers[seed_names[0]], "most-popular": scorers["most-popular"],
            "random": scorers["random"]}
sampled = {
    name: evaluate_sampled(scorer, split.test, n_items, sampled_negatives, requested.seed)
    for name, scorer in contrast.items()
}
side_by_side = pd.DataFrame({
    name: {
        "hr@10": results[seed_names[0] if name == "SASRec" else name]["hr@10"],
        "sampled_hr@10": sampled[name]["sampled_hr@10"],
        "ndcg@10": results[seed_names[0] if name == "SASRec" else name]["ndcg@10"],
        "sampled_ndcg@10": sampled[name]["sampled_ndcg@10"],
    }
    for name in contrast
}).T
side_by_side.style.format("{:.4f}")

# %%
plots_results.sampled_vs_full_figure(side_by_side)

# %% [markdown]
# Why the sampled numbers are so much higher, and why they mislead:
#
# * With 100 negatives the target only has to beat 100 items, not all of them. Even the
#   **random** system gets HR@10 near 10/101 ≈ 0.10 sampled, against
#   10 / (number of items) with full ranking.
# * Uniformly sampled negatives are mostly obscure items, which any popularity-aware system
#   ranks low, so **most-popular** looks far better than it is.
# * Sampling compresses the gaps between systems and can even **reorder** them (Krichene &
#   Rendle, "On Sampled Metrics for Item Recommendation", KDD 2020). A sampled metric
#   therefore is not a cheaper estimate of the full one; it measures something else.
#
# This project reports full ranking everywhere; sampled figures appear only here, labelled.

# %% [markdown]
# ## Published figures, each with its protocol
#
# The SASRec paper reports its figures with the sampled protocol above (100 random
# negatives), on MovieLens-1M and Amazon Beauty (each with its own preprocessing), not on
# ML-100k. Beside them, the same model's sampled figures measured
# here. Read the rows as orders of magnitude only: the datasets differ in size and
# history length, and the paper trained with binary cross-entropy. Full-ranking figures
# for ML-1M have been published (Klenitskiy & Vasilev, RecSys 2023; Petrov & Macdonald,
# RecSys 2023); the rule here and in `benchmarks/README.md` is the same: a published
# figure is quoted only once it has been checked against its source and protocol, and
# these have not been yet.

# %%
ours = {
    "source": "this report (SASRec, first seed)",
    "model": (f"SASRec ({cfg.loss}, the {preset} preset)" if preset
              else f"SASRec ({cfg.loss}, this project's defaults)" if cfg.loss == "ce"
              else f"SASRec ({cfg.loss})"),
    "dataset": f"{cfg.dataset} ({len(split.test):,} test users, {n_items:,} items)",
    "protocol": f"sampled: target against {sampled_negatives} random negatives, leave-one-out",
    "trained_on": trained_on(cfg),
    "hr@10": sampled["SASRec"]["sampled_hr@10"],
    "ndcg@10": sampled["SASRec"]["sampled_ndcg@10"],
}
if ours["trained_on"] != "train":  # never beside the papers' figures (report.protocol)
    print(f"This run's weights were trained on {ours['trained_on']} (refit_on_valid=True), the "
          "published ones on the training items only: ours is left out of the table.")
published_table(ours if ours["trained_on"] == "train" else None).style.format(
    "{:.4f}", subset=["hr@10", "ndcg@10"]).hide(axis="index")

# %% [markdown]
# ## Shopping data: Amazon Beauty
#
# *(This section shows the shopping benchmark's file as it is; nothing in it is computed
# by this notebook.)*
#
# Beside MovieLens's film ratings, the benchmarks hold a shop's log: **Amazon Beauty**,
# 22,363 shoppers and 12,101 products, a median of 6 purchases per shopper, short and
# sparse histories like a retail catalogue's (S3-Rec's preprocessed file, the one the
# published figures below use).
# `make bench-beauty` trains the `shopping` preset there, chosen on the validation items
# with selection seeds only, tests it once on held-out seeds, and chooses the simple
# baselines' settings on validation. Each row of its table says what its weights were
# trained on, SASRec's and the baselines' alike: the training items only (the papers'
# protocol) or training + validation items (`refit_on_valid`, as a shop deploys);
# `benchmarks/README.md` also lists the targets set for the preset against what was
# measured. It takes far longer than this report, so its figures are read from
# `reports/benchmark_beauty.json`: the first line says how and when they were produced.

# %%
beauty = find_benchmark(shopping.BENCHMARK_FILE, report_dir, REPOSITORY,
                        make_target="make bench-beauty")  # Beauty.txt in SASREC_DATA_DIR
if beauty is not None:
    print(shopping.provenance(beauty))
    print(f"sasrec below is {shopping.model_label(beauty['config'])}.")
    display(shopping.systems_table(beauty).style.format(
        {"ndcg@10": "{:.4f}", "ndcg@10 sd": "{:.4f}", "worst seed": "{:.4f}",
         "hr@10": "{:.4f}", "s to kept epoch": "{:.0f}"}, na_rep=""))
    for protocol in ("train", "train+valid"):
        if has_held_out(beauty, protocol):
            print(f"trained on {protocol}: {bootstrap_verdict(best_baseline_pair(beauty, protocol))}")

# %% [markdown]
# **Against the published figures on the same file.** Only figures measured on this very
# file under full ranking belong in this table; figures under sampled ranking (the SASRec
# paper's Beauty row above) or on other preprocessings are not comparable and are left
# out. The published model is a different architecture, trained and tuned by its authors;
# ours is the mean of the held-out seeds, every setting chosen on validation.

# %%
if beauty is not None and has_held_out(beauty, "train"):
    display(shopping.published_beside_ours(beauty).style.format(
        "{:.4f}", subset=["ndcg@10", "hr@10"]).hide(axis="index"))
elif beauty is not None:
    print("This file's SASRec rows were all retrained on the validation items "
          "(trained_on='train+valid'); the published figures trained on the training items "
          "only, so none is set beside them. `make bench-beauty` measures both.")

# %% [markdown]
# **Which parts of SASRec matter: the ablation ladder.** From the SASRec paper's model
# (one-negative binary cross-entropy, ReLU, 50 wide, one head) to the shopping preset, one
# change at a time, each step trained on the training items only and tested on the
# held-out seeds (bars: the mean; lines: its 95% interval over the seeds, Student's t,
# which holds the test users fixed; dots: each seed). The table's change is paired: each
# seed against the same seed one step before, with that change's own 95% interval over the
# seeds (an interval that spans 0 is a step the seeds cannot tell from none). After the
# preset, in orange, an ablation: the preset with its frequency filter (the extension)
# taken away, which is what plain SASRec reaches with the same training. The last row is a
# different protocol, labelled apart: the preset retrained on the validation item too, as
# a shop would deploy. The ablation and that row each change against the preset.

# %%
if beauty is not None and "ladder" in beauty:
    ladder = ladder_table(beauty)
    for note in (ladder_progress(beauty), reused_runs_note(beauty)):
        if note is not None:
            print(note)
    display(ladder_figure(ladder))
    display(ladder.style.format({"ndcg@10": "{:.4f}", "sd": "{:.4f}", "change": "{:+.4f}",
                                 "hr@10": "{:.4f}", "s per epoch": "{:.1f}"}, na_rep="—"))
elif beauty is not None:
    print("This benchmark file has no ablation ladder yet: `make bench-beauty` writes it.")

# %% [markdown]
# **Anonymous sessions in a shop.** NDCG@10 when a system may see only the last n clicks of
# the test history: what a visitor without an account gets after one, two, three or five
# clicks. The whole history, set apart on the right, also removes all of it from the
# ranking, as above: compare within the last-n columns.

# %%
if beauty is not None:
    display(plots_results.session_figure(shopping.sessions_long(beauty)))
    display(shopping.sessions_table(beauty).round(4))
    print(narrative.session_masking_sentence(shopping.sessions_long(beauty)))

# %% [markdown]
# **The loss: quality against cost.** Full cross-entropy scores every product at every
# position; a sampled softmax scores the target against 256 drawn products (corrected for
# how often each is drawn), optionally joined by the batch's other targets (in-batch
# negatives). Quality is validation NDCG@10 from the selection sweep (same settings but the
# loss); cost is one training step on the same batches, the losses taking turns in one
# process. For a retail catalogue of 300k products the full softmax's cost grows with the
# catalogue, which is why the retail preset uses a sampled loss.

# %%
if beauty is not None and "loss_times" in beauty:
    display(shopping.loss_table(beauty).style.format(
        {"valid ndcg@10": "{:.4f}", "step ms": "{:.0f}", "step vs ce": "{:.2f}"}, na_rep="—"))

# %% [markdown]
# ## What the trained model attends to
#
# Two real test users: the first whose next item SASRec (the first seed) ranked in its top
# 10 (a hit), and the first it missed. For each, the last layer's attention (mean over
# heads) over the last `attention_window` items (a shorter history is shown whole, and
# nothing is older than it), untrained (the same seed's initial weights, left) and
# trained (right), on one colour scale. The first column is the weight on all older items,
# so each row sums to 1 and nothing is cropped; the **bottom row** is the position that
# produces the recommendation. Below the figure, that row's weight on the older items and
# on the most recent item, for each panel.

# %%
model = models[next(iter(models))]  # the first seed
torch.manual_seed(cfg.seed)
initial = SASRec(n_items, cfg).to(run_device).eval()  # the same seed's starting weights
sasrec_ranks = rankings[seed_names[0]].ranks
hit_row = int(np.flatnonzero(sasrec_ranks <= 10)[0]) if (sasrec_ranks <= 10).any() else 0
miss_row = int(np.flatnonzero(sasrec_ranks > 10)[0]) if (sasrec_ranks > 10).any() else 0
titles = items.set_index("item_id")["title"] if items is not None else None
panels, bottom_rows = [], []
for row, kind in ((hit_row, "hit"), (miss_row, "miss")):
    history = split.test.histories[row]
    shown = data.to_original(history[-attention_window:])
    labels = titles.loc[shown].tolist() if titles is not None else [str(i) for i in shown]
    target = data.to_original([split.test.targets[row]])[0]
    target_name = plots.short_label(titles.loc[target] if titles is not None else target, 40)
    for name, net in (("untrained", initial), ("trained", model)):
        weights = window_weights(
            last_layer_attention(net, history, run_device), attention_window)
        panels.append((weights, labels, f"{kind} ({name}): next was {target_name}, "
                                        f"ranked {int(sasrec_ranks[row])}"))
        bottom_rows.append({"user": kind, "weights": name, "history length": len(history),
                            f"on items older than the last {attention_window}": weights[-1, 0],
                            "on the most recent item": weights[-1, -1],
                            "largest on one shown item": weights[-1, 1:].max()})
display(plots_attention.attention_grid_figure(panels))
pd.DataFrame(bottom_rows).set_index(["user", "weights"]).round(3)

# %% [markdown]
# Attention shows where the last step looked, not why an item was recommended: notebook
# 05 adds an item-by-item removal test. One user's map can differ widely from the average
# (compare the table above). Over all test users at once: the recommending position's
# mean weight on the item d steps back, against what equal attention to every item would
# give the same users.
#
# What the paper found: Kang & McAuley (ICDM 2018, the attention-weights figure) report
# that SASRec's attention focuses on recent items on the sparse Amazon Beauty and attends
# to a wider, longer range on the dense MovieLens-1M (notebook 01 prints this data's
# density). The sentence below says what this model does, from its numbers.

# %% tags=["remove-input"]
if cfg.dataset == "ml-100k":
    display(Markdown("ML-100k is a film-rating log like ML-1M."))

# %%
recency = weight_by_distance(model, split.test, run_device, max_distance=50)
print(narrative.recency_sentence(recency))
plots_attention.attention_distance_figure(recency)

# %% [markdown]
# ## Save the metrics
#
# `metrics.json` holds everything above with the config and data hash, so a later run (or
# a test) can compare against it. The report index and the README headline are generated
# from it.

# %%
evaluation = Evaluation(
    cfg=cfg, n_queries=len(split.test), n_items=n_items, seeds=list(models), systems=systems,
    tuned=tuned, best_baseline=best_baseline, pairs=pairs, sessions=sessions, sampled=sampled,
    n_negatives=sampled_negatives, by_history_length=by_length,
    training=read_training_summary(artifacts),
    describes=fingerprints.describes(data_fingerprint(data), cfg, checkpoints), preset=preset,
)
for path in write_metrics([artifacts, report_dir], evaluation):
    print("wrote", path)

# %% [markdown]
# ## Takeaways
#
# Generated from the figures above:

# %%
best_pair, sasrec_summary = pairs[0], systems["SASRec"]
spread = (f"{sasrec_summary['sd']['ndcg@10']:.4f} (sd over {len(models)} seeds)"
          if len(models) > 1 else "not measured (one seed)")
contrast_gap = sampled["SASRec"]["sampled_hr@10"] / max(results[seed_names[0]]["hr@10"], 1e-12)
for line in (
    "Full ranking, history masked, pessimistic ties, every choice on validation.",
    "Against the simple baseline chosen on validation (not most-popular): "
    + bootstrap_verdict(best_pair) + ".",
    f"SASRec's NDCG@10 is {sasrec_summary['mean']['ndcg@10']:.4f}; one seed's spread is "
    f"{spread}.",
    f"Sampled HR@10 ({sampled_negatives} negatives) is {contrast_gap:.1f}x the full-ranking "
    "HR@10 for the same model: sampled figures are not comparable with full ones.",
):
    print("*", line)

# %% [markdown]
# ## Reproducibility

# %%
reproducibility(cfg, data_fingerprint(data), run_device, started)
