"""ML-100k benchmark: SASRec against strong simple baselines, every choice on validation.

    make bench                                        # python3 benchmarks/bench.py
    python3 benchmarks/bench.py --sweep loss,regularisation   # choose settings (validation)
    python3 benchmarks/bench.py --speed               # + per-prefix training, FLOP estimate
    python3 benchmarks/bench.py --preset ml1m-t4      # Colab T4 with ML-1M

``make bench`` (leave-one-out, full ranking over all items, history masked, pessimistic
ties; jobs in ``ml100k_jobs.py``, one child process each):

1. baselines: most-popular, random, Markov, co-occurrence, EASE, each tuned on the
   validation items by a small grid (printed), then scored once on test;
2. SASRec with the default config on the *selection seeds*: scored on the validation
   items of the selection split (role ``selection``) — the figures every choice used;
3. SASRec default and SASRec-BCE (the paper's loss) on *held-out seeds* that no choice
   used: scored once on test (role ``held-out``);
4. seed ensembles (mean scores of 3 models) on both, paired bootstrap intervals of the
   NDCG@10 differences, and HR/NDCG when only the last 1, 2, 3, 5, 10 items are known.

Writes ``reports/benchmark.json``: one row per system and seed, the summaries, the
bootstrap entries, the ensembles and the session table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from ml100k_jobs import model_file
from run_log import RunLog, compute_fingerprint, job_key

from sasrec_utils.atomic import as_read_back, atomic_write_json
from sasrec_utils.config import SASRecConfig, parse_overrides
from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.data.sequences import item_popularity
from sasrec_utils.data.splits import Split, selection_split
from sasrec_utils.evaluation.baselines import BASELINE_GRIDS, BASELINES
from sasrec_utils.evaluation.metrics import paired_bootstrap, per_query_ndcg
from sasrec_utils.evaluation.ranking import evaluate, session_metrics
from sasrec_utils.evaluation.scorers import EnsembleScorer, ModelScorer, PopularityScorer
from sasrec_utils.model.sasrec import SASRec
from sasrec_utils.presets import CONFIGS, ablation_configs, ladder_configs
from sasrec_utils.report.protocol import TRAIN, TRAIN_VALID
from sasrec_utils.training.final_model import final_train

ROOT = Path(__file__).resolve().parent.parent
JOBS = Path(__file__).resolve().parent / "ml100k_jobs.py"
DEFAULT_OUT = ROOT / "reports" / "benchmark.json"
MODELS = ROOT / "artifacts" / "bench-models"
SELECTION_SEEDS = (0, 1, 2)
HELD_OUT_SEEDS = (100, 101, 102, 103, 104)
ENSEMBLE_SIZE = 3
BOOTSTRAP_RESAMPLES = 10_000
# Each sweep group changes one or two settings of the default config; rows are scored on
# the validation items of the selection split (never on test).
SWEEP = {
    "default": [{}],
    "loss": [
        {"mask_seen_in_loss": False},
        {"loss_horizon": 3, "horizon_decay": 0.5},
        {"label_smoothing": 0.1},
    ],
    "protocol": [{"refit_on_valid": True}, {"patience": 20}],
    "regularisation": [{"dropout": 0.1}, {"dropout": 0.3}, {"weight_decay": 0.1}],
    "model": [
        {"n_heads": 1},
        {"n_layers": 3},
        {"hidden_dim": 128, "dropout": 0.3},
    ],
    "batch": [{"batch_tokens": 6400}, {"batch_tokens": 0, "batch_size": 128}],
    "optimiser": [{"lr": 2e-3}, {"lr": 5e-4}],
    # the shopping preset's choices, on Amazon Beauty: `--set dataset=amazon-beauty --sweep
    # shopping` (absolute settings: each row is one candidate recipe)
    "shopping": [
        {"max_len": 50, "dropout": 0.5},
        {"max_len": 50, "dropout": 0.5, "hidden_dim": 128},
        {"max_len": 50, "dropout": 0.3},
        {"max_len": 50, "dropout": 0.5, "weight_decay": 0.1},
        {"max_len": 50, "dropout": 0.5, "lr": 2e-3},
        {"max_len": 50, "dropout": 0.5, "mask_seen_in_loss": False},
        {"max_len": 50, "dropout": 0.5, "loss": "sampled_softmax", "in_batch_negatives": True},
        {"max_len": 50, "dropout": 0.5, "label_smoothing": 0.1},
        {"max_len": 50, "dropout": 0.5, "hidden_dim": 128, "refit_on_valid": True},
        {"max_len": 50, "dropout": 0.5, "loss": "sampled_softmax"},
        {"max_len": 50, "dropout": 0.5, "hidden_dim": 256},
        {"max_len": 50, "dropout": 0.4, "hidden_dim": 128},
        {"max_len": 50, "dropout": 0.5, "lr": 5e-4},
        {"max_len": 50, "dropout": 0.5, "n_heads": 1},
    ],
}
COLUMNS = ("ndcg@10", "hr@10", "hr@5", "hr@20", "mrr", "coverage@10", "train_s", "peak_rss_mb")


# ------------------------------------------------------------------ children


def run_child(kind: str, cfg: SASRecConfig, **extra) -> dict | list:
    """Run one job of ``ml100k_jobs.py`` in a fresh Python process; its JSON result."""
    job = json.dumps({"kind": kind, "config": cfg.to_dict(), **extra})
    done = subprocess.run(
        [sys.executable, str(JOBS), job], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_children(
    jobs: list[tuple[str, SASRecConfig, dict]], parallel: int, log: RunLog | None = None
) -> list:
    """``run_child`` of every ``(kind, cfg, extra)``, ``parallel`` processes at a time, each
    on one torch thread when ``parallel > 1``; results in the order of ``jobs``.

    With a ``log``, a job it holds (same job, same code) is read back instead of run, and
    each job that finishes is appended to it at once (``run_log.py``); a job that saves
    weights is read back only while its weights are still on disk.
    """
    jobs = as_run(jobs, parallel)
    keys = [job_key(kind, cfg.to_dict(), extra) for kind, cfg, extra in jobs]
    results = logged_results(jobs, log) if log is not None else {}
    if results:
        print(f"{len(results)} of {len(jobs)} runs read back from {log.path}", file=sys.stderr)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {
            pool.submit(run_child, kind, cfg, **extra): i
            for i, (kind, cfg, extra) in enumerate(jobs)
            if i not in results
        }
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if log is not None:
                log.add(keys[i], results[i])
            for row in results[i] if isinstance(results[i], list) else [results[i]]:
                shown = {k: v for k, v in row.items() if k not in ("ranks", "grid")}
                print(json.dumps(shown), file=sys.stderr, flush=True)
    return [results[i] for i in range(len(jobs))]


def as_run(jobs: list[tuple[str, SASRecConfig, dict]], parallel: int) -> list[tuple]:
    """``jobs`` as ``run_children`` runs (and logs) them: one torch thread each when more
    than one runs at a time."""
    if parallel <= 1:
        return jobs
    return [(kind, cfg.replace(num_threads=1), extra) for kind, cfg, extra in jobs]


def logged_results(jobs: list[tuple[str, SASRecConfig, dict]], log: RunLog) -> dict[int, Any]:
    """The results ``log`` holds for ``jobs`` (as run: ``as_run``), by position: same job,
    same code, and for a job that saves weights, its weights still on disk."""
    return {
        i: hit
        for i, (kind, cfg, extra) in enumerate(jobs)
        if (hit := log.get(job_key(kind, cfg.to_dict(), extra))) is not None
        and weights_on_disk(cfg, extra)
    }


def weights_on_disk(cfg: SASRecConfig, extra: dict) -> bool:
    """Whether every weights file a ``sasrec`` job saves into ``extra["models"]`` exists
    (the early-stopped model and, with ``refit_on_valid``, the refitted one); True for a
    job that saves none."""
    if not extra.get("models"):
        return True
    files = {
        model_file(tested, extra["role"]) for tested in (cfg.replace(refit_on_valid=False), cfg)
    }
    return all((Path(extra["models"]) / name).exists() for name in files)


def sasrec_jobs(
    cfg: SASRecConfig, seeds: tuple[int, ...], role: str, save_models: bool = True
) -> list[tuple]:
    """One ``sasrec`` job per seed (``role``: ``selection`` or ``held-out``); with
    ``save_models`` each saves its weights into ``MODELS`` (for the ensembles)."""
    extra = {"role": role, "models": str(MODELS) if save_models else None}
    return [("sasrec", cfg.replace(seed=seed), extra) for seed in seeds]


def benchmark_jobs(
    cfg: SASRecConfig,
    selection_seeds: tuple[int, ...],
    held_out_seeds: tuple[int, ...],
    baselines_run: tuple[str, ...],
    with_bce: bool,
) -> list[tuple]:
    """The benchmark's jobs in order: the baselines, SASRec on the selection seeds, SASRec on
    the held-out seeds (each also refitted on the validation item), and with ``with_bce``
    SASRec-BCE on the held-out seeds (``cfg`` with the paper's loss swapped in)."""
    deploy = cfg.replace(refit_on_valid=True)  # held-out seeds: the papers' model + refit
    return [
        ("baselines", deploy, {"only": list(baselines_run)}),
        *sasrec_jobs(cfg, selection_seeds, "selection"),
        *sasrec_jobs(deploy, held_out_seeds, "held-out"),
        *(sasrec_jobs(cfg.replace(loss="bce"), held_out_seeds, "held-out") if with_bce else []),
    ]


# ------------------------------------------------------------------ summaries


def summary(runs: list[dict]) -> dict:
    """Mean, sd (ddof 1), min, max and per-seed values of each metric over ``runs``."""
    row = {key: runs[0][key] for key in ("system", "role", "split", "trained_on")}
    row["seeds"] = [run["seed"] for run in runs]
    for key in COLUMNS:
        values = np.array([run[key] for run in runs if run.get(key) is not None], float)
        if len(values) == 0:
            continue
        row[key] = round(float(values.mean()), 5)
        row[f"{key}_sd"] = round(float(values.std(ddof=1)), 5) if len(values) > 1 else 0.0
        if key in ("ndcg@10", "hr@10"):
            row[f"{key}_per_seed"] = values.tolist()
            row[f"{key}_min"], row[f"{key}_max"] = float(values.min()), float(values.max())
    return row


def _baseline(baselines: list[dict], name: str, protocol: str) -> dict:
    """Baseline ``name``'s row fitted on ``protocol`` (``trained_on``)."""
    return next(r for r in baselines if r["system"] == name and r["trained_on"] == protocol)


def bootstraps(groups: dict[tuple, list[dict]], baselines: list[dict], best: str) -> dict:
    """Paired bootstraps of held-out test NDCG@10, each pair trained on the same items:
    SASRec against the best baseline (papers' protocol, and retrained on the validation
    items too) and against SASRec-BCE (papers' protocol)."""
    entries = {}
    for protocol in (TRAIN, TRAIN_VALID):
        runs = groups.get(("sasrec", "held-out", protocol))
        if not runs:
            continue
        sasrec = mean_query_ndcg(runs)
        suffix = "" if protocol == TRAIN else f" ({protocol})"
        baseline = per_query_ndcg(np.array(_baseline(baselines, best, protocol)["ranks"]))
        entries[f"sasrec - {best}{suffix}"] = {
            **paired_bootstrap(sasrec, baseline, BOOTSTRAP_RESAMPLES),
            "trained_on": protocol,
        }
        bce = groups.get(("sasrec-bce", "held-out", protocol))
        if bce:
            entries[f"sasrec - sasrec-bce{suffix}"] = {
                **paired_bootstrap(sasrec, mean_query_ndcg(bce), BOOTSTRAP_RESAMPLES),
                "trained_on": protocol,
            }
    return entries


def mean_query_ndcg(runs: list[dict]) -> np.ndarray:
    """(n,) each query's NDCG@10, averaged over the runs (seeds) of one system."""
    return np.mean([per_query_ndcg(np.array(run["ranks"])) for run in runs], axis=0)


def load_models(cfg: SASRecConfig, seeds: tuple[int, ...], role: str, n_items: int) -> list:
    models = []
    for seed in seeds:
        model = SASRec(n_items, cfg)
        state = torch.load(MODELS / model_file(cfg.replace(seed=seed), role), weights_only=True)
        model.load_state_dict(state)
        models.append(model.eval())
    return models


def ensembles(cfg: SASRecConfig, seeds: tuple[int, ...], role: str) -> dict:
    """Test (held-out) or validation (selection) NDCG@10 of rolling 3-seed ensembles."""
    prepared = prepare_data(cfg)
    split = selection_split(prepared.sequences) if role == "selection" else prepared.split
    models = load_models(cfg, seeds, role, split.n_items)
    size = min(ENSEMBLE_SIZE, len(seeds))
    groups = [tuple(range(i, i + size)) for i in range(len(seeds) - size + 1)]
    figures = []
    for group in groups:
        scorer = EnsembleScorer([models[i] for i in group], cfg.max_len)
        metrics = evaluate(scorer, split.test, split.n_items)
        figures.append({"seeds": [seeds[i] for i in group], **_rounded(metrics)})
    values = np.array([f["ndcg@10"] for f in figures])
    return {
        "role": role,
        "size": size,
        "ensembles": figures,
        "ndcg@10": round(float(values.mean()), 5),
        "ndcg@10_sd": round(float(values.std(ddof=1)), 5) if len(values) > 1 else 0.0,
    }


def sessions(cfg: SASRecConfig, seeds: tuple[int, ...], markov: dict, best: dict) -> pd.DataFrame:
    """Test NDCG@10 with only the last n items known: SASRec (mean over the held-out
    seeds), the tuned Markov chain, the best baseline by validation and most-popular."""
    prepared = prepare_data(cfg)
    split = prepared.split
    train = final_train(split, cfg)
    models = load_models(cfg, seeds, "held-out", split.n_items)
    tables = [
        session_metrics({"SASRec": ModelScorer(model, cfg.max_len)}, split.test, split.n_items)
        for model in models
    ]
    sasrec = pd.concat(tables).groupby(["items_seen", "system"], sort=False).mean()
    tuned = {row["system"]: row["params"] for row in (markov, best)}  # one entry if the same
    others = session_metrics(
        {
            **{name: BASELINES[name](train, split.n_items, **p) for name, p in tuned.items()},
            "most-popular": PopularityScorer(item_popularity(train, split.n_items)),
        },
        split.test,
        split.n_items,
    )
    both = pd.concat([sasrec.reset_index(), others])
    order = list(dict.fromkeys(others["items_seen"]))
    return both.pivot(index="items_seen", columns="system", values="ndcg@10").loc[order]


def skip_reason(name: str, split: Split) -> str:
    """Why a baseline left out by ``--baselines`` costs too much here (EASE: its FLOPs)."""
    if name != "ease":
        return "left out by --baselines"
    vocab, users = split.n_items + 1, len(split.valid)
    tflop = (2 * vocab**3 + 2 * users * vocab**2) / 1e12
    grid = len(BASELINE_GRIDS["ease"]["l2"])
    return (
        f"left out by --baselines: each of its {grid} l2 values inverts a dense "
        f"{vocab:,} x {vocab:,} float64 matrix and scores {users:,} users against it, "
        f"about {tflop:.1f} TFLOP per value"
    )


def _rounded(metrics: dict) -> dict:
    return {k: round(v, 5) for k, v in metrics.items() if k in COLUMNS}


# ------------------------------------------------------------------ printing


def markdown(rows: list[dict], columns: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for key in columns:
            value = row.get(key, "")
            cells.append(f"{value:.4f}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_results(report: dict) -> None:
    print("\n== baselines (tuned on the validation items, tested once)")
    for row in report["baselines"]:
        tuned = f"valid {row['valid_ndcg@10']:.4f}, " if row["valid_ndcg@10"] else ""
        print(f"{row['system']:14s} {tuned}test NDCG@10 {row['ndcg@10']:.4f}  {row['params']}")
    for name, reason in report["skipped_baselines"].items():
        print(f"{name:14s} skipped: {reason}")
    print("\n== SASRec and SASRec-BCE: mean ± sd over seeds (per-seed values in the JSON)")
    shown = [
        {**s, "ndcg@10": f"{s['ndcg@10']:.4f} ± {s['ndcg@10_sd']:.4f}", "seeds": s["seeds"]}
        for s in report["summaries"]
    ]
    print(markdown(shown, ("system", "role", "split", "seeds", "ndcg@10", "hr@10", "train_s")))
    for ensemble in report["ensembles"].values():
        split = "valid" if ensemble["role"] == "selection" else "test"
        print(
            f"ensembles of {ensemble['size']} {ensemble['role']} seeds, {split} NDCG@10 "
            f"{ensemble['ndcg@10']:.4f} ± {ensemble['ndcg@10_sd']:.4f} over "
            f"{len(ensemble['ensembles'])} groups"
        )
    print("\n== paired bootstrap of test NDCG@10 differences (95% intervals, per-user)")
    for name, entry in report["bootstrap"].items():
        print(
            f"{name}: {entry['difference']:+.4f} [{entry['difference_low']:+.4f}, "
            f"{entry['difference_high']:+.4f}], lift {entry['lift']:+.1%} "
            f"[{entry['lift_low']:+.1%}, {entry['lift_high']:+.1%}], "
            f"{entry['n_resamples']:.0f} resamples"
        )
    if "epoch_vs_estimate" in report:
        speed = report["epoch_vs_estimate"]
        print(
            f"\nepoch: measured {speed['measured_s_per_epoch']:.2f} s (mean of the held-out "
            f"runs), matmul estimate {speed['matmul_estimate_s']:.2f} s: "
            f"measured / estimate {speed['ratio']:.2f}"
        )
    if "loss_times" in report:
        times = report["loss_times"]
        shown = ", ".join(
            f"{name} {times['step_ms'][name]:.0f} ms ({times['relative_to_ce'][name]:.2f}x CE)"
            for name in times["step_ms"]
        )
        print(f"training step by loss, same batches, {times['threads']} thread(s): {shown}")
    print("\n== test NDCG@10 when only the last n items are known (anonymous sessions)")
    table = pd.DataFrame(report["sessions"])
    rows = [{"items seen": index, **row} for index, row in table.round(4).iterrows()]
    print(markdown(rows, ("items seen", *table.columns)))


# ------------------------------------------------------------------ the benchmark


def benchmark(
    cfg: SASRecConfig,
    out: Path,
    speed: bool,
    selection_seeds: tuple[int, ...] = SELECTION_SEEDS,
    held_out_seeds: tuple[int, ...] = HELD_OUT_SEEDS,
    parallel: int = 1,
    baselines_run: tuple[str, ...] = tuple(BASELINES),
    sweep_table: Path | None = None,
    log: RunLog | None = None,
    with_bce: bool = True,
) -> None:
    """Baselines, SASRec on selection and held-out seeds, ensembles, bootstrap, sessions
    (a ladder already in ``out`` for the same configuration is kept: ``kept_ladder``).

    ``parallel`` child processes run at once (one torch thread each when more than one);
    ``baselines_run`` names the tuned baselines fitted (most-popular and random always);
    ``sweep_table`` (a ``--sweep-log`` file: the validation sweep that chose the settings)
    is read when the report is written and kept in it; with a ``log``, an interrupted
    benchmark resumes at the first training not yet finished (``run_children``);
    ``with_bce`` adds SASRec-BCE, the configuration with the paper's loss swapped in.
    """
    load_start, started = os.getloadavg(), time.perf_counter()
    deploy = cfg.replace(refit_on_valid=True)  # held-out seeds: the papers' model + refit
    jobs = benchmark_jobs(cfg, selection_seeds, held_out_seeds, baselines_run, with_bce)
    read_back = len(logged_results(as_run(jobs, parallel), log)) if log is not None else 0
    results = run_children(jobs, parallel, log)
    baselines, runs = results[0], [row for rows in results[1:] for row in rows]
    split = prepare_data(cfg).split
    tuned = [row for row in baselines if row["valid_ndcg@10"] is not None]
    best = max(tuned, key=lambda row: row["valid_ndcg@10"])["system"]  # chosen on validation
    groups = {}
    for run in runs:
        groups.setdefault((run["system"], run["role"], run["trained_on"]), []).append(run)
    report = {
        "dataset": cfg.dataset,
        "protocol": "leave-one-out, full ranking, history masked, pessimistic ties",
        "selection_seeds": list(selection_seeds),
        "held_out_seeds": list(held_out_seeds),
        "rows": [
            {k: v for k, v in run.items() if k not in ("ranks", "grid")}
            for run in [*baselines, *runs]
        ],
        "baselines": [{k: v for k, v in r.items() if k != "ranks"} for r in baselines],
        "summaries": [summary(group) for group in groups.values()],
        "ensembles": {
            "selection": ensembles(cfg, selection_seeds, "selection"),
            "held-out": ensembles(cfg, held_out_seeds, "held-out"),
            f"held-out {TRAIN_VALID}": ensembles(deploy, held_out_seeds, "held-out"),
        },
        "bootstrap": bootstraps(groups, baselines, best),
        "best_baseline": best,
        "skipped_baselines": {
            name: skip_reason(name, split) for name in BASELINES if name not in baselines_run
        },
        "sessions": sessions(
            cfg, held_out_seeds, *(_baseline(baselines, name, TRAIN) for name in ("markov", best))
        )
        .round(5)
        .to_dict(),
        "config": cfg.to_dict(),
        "compute_fingerprint": compute_fingerprint(),  # the training code of its rows
        "n_users": len(split.test),
        "n_items": split.n_items,
    }
    if sweep_table is not None:
        lines = sweep_table.read_text().splitlines()
        report["selection_sweep"] = [json.loads(line) for line in lines if line]
    if speed:
        timed = cfg.replace(num_threads=1) if parallel > 1 else cfg  # as the runs above
        report["speed"] = [
            run_child("prefix", timed.replace(seed=held_out_seeds[0]), seconds=60.0),
            run_child("flops", timed),
        ]
        report["loss_times"] = run_child("loss_times", timed)
        held_out = groups[("sasrec", "held-out", TRAIN)]
        measured = float(np.mean([run["s_per_epoch"] for run in held_out]))
        estimate = report["speed"][1]["estimate_s_per_epoch"]
        report["epoch_vs_estimate"] = {
            "measured_s_per_epoch": round(measured, 3),
            "matmul_estimate_s": estimate,
            "ratio": round(measured / estimate, 2),
        }
    report["machine"] = {
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_start": load_start,
        "load_avg_end": os.getloadavg(),
        "seconds": round(time.perf_counter() - started),
        "trainings": len(jobs),
        "trainings_read_back": read_back,  # from the runs log: their time is not in seconds
    }
    print_results(report)
    print(
        f"\nload average (1 min) {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at "
        f"end; {os.cpu_count()} CPUs; {report['machine']['seconds']} s in all"
    )
    atomic_write_json(out, report | kept_ladder(out, report["config"]))
    print(f"wrote {out}")


# what a benchmark file holds of its ladder: the rows, the code that measured them, and
# whether that code reproduced the rungs it read back from other code (``reproduced_rungs``)
LADDER_KEYS = ("ladder", "ladder_fingerprint", "ladder_reproduction")


def kept_ladder(out: Path, config: dict) -> dict:
    """The ``LADDER_KEYS`` (``{"ladder": ..., ...}``) of the benchmark file ``out`` when it
    was written for the same ``config`` (the ladder is run apart, ``--ladder``, and ends at
    that configuration); else ``{}``: a rerun of the benchmark keeps its ladder, a new
    configuration drops it."""
    previous = json.loads(out.read_text()) if out.exists() else {}
    if "ladder" in previous and previous.get("config") == as_read_back(config):
        return {key: previous[key] for key in LADDER_KEYS if key in previous}
    return {}


def sweep(
    cfg: SASRecConfig,
    groups: list[str],
    seeds: tuple[int, ...],
    log: Path | None,
    parallel: int,
    run_log: RunLog | None = None,
) -> None:
    """Each variant of ``groups`` on the selection seeds: NDCG@10 on the validation items
    (a row per variant appended to ``log``; finished trainings kept in ``run_log``)."""
    unknown = sorted(set(groups) - set(SWEEP) - {"all"})
    if unknown:
        raise SystemExit(f"unknown sweep group(s) {unknown}; known: {sorted(SWEEP)} or all")
    chosen = list(SWEEP) if "all" in groups else groups
    rows = []
    for variant in [v for group in chosen for v in SWEEP[group]]:
        jobs = sasrec_jobs(cfg.replace(**variant), seeds, "selection")
        results = run_children(jobs, parallel, run_log)
        runs = [rows[0] for rows in results]  # the early-stopped model: validation NDCG@10
        row = {"variant": ", ".join(f"{k}={v}" for k, v in variant.items()) or "default"}
        row |= {k: v for k, v in summary(runs).items() if k not in ("system", "role", "split")}
        row["best_epoch"] = float(np.mean([run["best_epoch"] for run in runs]))
        row["s_per_epoch"] = float(np.mean([run["s_per_epoch"] for run in runs]))
        rows.append(row)
        print(json.dumps(row), flush=True)
        if log is not None:
            with log.open("a") as stream:
                stream.write(json.dumps({**row, "changes": variant}) + "\n")
    shown = [{**r, "ndcg@10": f"{r['ndcg@10']:.4f} ± {r['ndcg@10_sd']:.4f}"} for r in rows]
    print(markdown(shown, ("variant", "ndcg@10", "hr@10", "best_epoch", "train_s", "s_per_epoch")))


def benchmark_runs(
    out: Path, base: SASRecConfig, seeds: tuple[int, ...], threads: int
) -> dict[int, dict]:
    """The held-out runs, papers' protocol, that the benchmark file ``out`` holds for
    ``seeds``, by seed, when it was measured for ``base`` by the current training code (its
    ``compute_fingerprint``) with ``threads`` torch threads per run (0: not fixed, so none).

    The ladder ends at ``base``, whose held-out trainings (the refit jobs' first part)
    already are its last step's runs; training is deterministic for a seed, code and
    thread count, so they are read, not trained again.
    """
    report = json.loads(out.read_text()) if out.exists() else {}
    same_code = report.get("compute_fingerprint") == compute_fingerprint()
    if not (same_code and threads > 0 and report.get("config") == as_read_back(base.to_dict())):
        return {}
    held_out = ("sasrec", "held-out", TRAIN)
    return {
        row["seed"]: row
        for row in report["rows"]
        if (row.get("system"), row.get("role"), row.get("trained_on")) == held_out
        and row["seed"] in seeds
        and row["threads"] == threads
    }


# what a ladder row holds of its finished runs (and reads back from an earlier ladder)
LADDER_FIGURES = (
    "seeds",
    "ndcg@10",
    "ndcg@10_sd",
    "hr@10",
    "ndcg@10_per_seed",
    "hr@10_per_seed",
    "s_per_epoch",
    "train_s",
)


def measured_rungs(
    previous: Path, rungs: list[tuple[str, dict, SASRecConfig]], seeds: tuple[int, ...]
) -> tuple[dict[int, dict], str | None]:
    """Rung index -> the row of the benchmark file ``previous``'s ladder that measured that
    rung's whole config on ``seeds``, and the code that measured them (its
    ``ladder_fingerprint``; ``reproduced_rungs`` says whether they hold for this code).

    A row's whole config is rebuilt as the ladder built it: its steps' changes on the
    default config with ``previous``'s data and machine, an ablation's on its last step.
    So a ladder that gains a step (a new preset) trains only the new step and the
    ablations, whose configs moved with the preset.
    """
    report = json.loads(previous.read_text()) if previous.exists() else {}
    old = report.get("ladder", [])
    # the code the ladder was measured with (files written before the key: the benchmark's)
    measured_by = report.get("ladder_fingerprint", report.get("compute_fingerprint"))
    if not old:
        return {}, measured_by
    steps = [row for row in old if not row["ablation"]]
    ablations = [row for row in old if row["ablation"]]
    ladder_steps = tuple((row["name"], row["changes"]) for row in steps)
    ablation_steps = tuple((row["name"], row["changes"]) for row in ablations)
    base = SASRecConfig().replace(**report["config"])
    configs = [
        *ladder_configs(base, ladder_steps),
        *ablation_configs(base, ladder_steps, ablation_steps),
    ]
    by_config = {
        _config_key(cfg): row
        for (_, _, cfg), row in zip(configs, steps + ablations, strict=True)
        if row["seeds"] == list(seeds)
    }
    found = {}
    for index, (_, _, cfg) in enumerate(rungs):
        row = by_config.get(_config_key(cfg))
        if row is not None:
            found[index] = {key: row[key] for key in LADDER_FIGURES}
    return found, measured_by


def reproduced_rungs(
    read_back: dict[int, dict],
    n_steps: int,
    jobs: list,
    seeds: tuple[int, ...],
    parallel: int,
    log: RunLog | None,
) -> tuple[dict[int, dict], dict, list[dict] | None]:
    """``read_back`` when this code reproduces it, else ``{}``; with the check and its run.

    Rungs an earlier ladder measured with other training code hold for this code only if
    the change left their training as it was (a new option, off in them): the last step
    read back is trained again on the first seed, and its test NDCG@10 and HR@10 must equal
    the stored ones to the 5 decimals stored (training is deterministic for a seed, code
    and thread count). The check's run (one of ``jobs``, the ladder's) serves that step's
    first seed either way.
    """
    step = max((index for index in read_back if index < n_steps), default=None)
    if step is None:
        return {}, {}, None
    result = run_children([jobs[step * len(seeds)]], parallel, log)[0]
    run, stored = result[0], read_back[step]
    same = all(run[key] == stored[f"{key}_per_seed"][0] for key in ("ndcg@10", "hr@10"))
    check = {"step": step, "seed": seeds[0], "reproduced": same}
    check |= {key: [stored[f"{key}_per_seed"][0], run[key]] for key in ("ndcg@10", "hr@10")}
    print(f"the rungs measured by other code {'hold' if same else 'do not hold'}: {check}")
    return (read_back if same else {}), check, result


def _config_key(cfg: SASRecConfig) -> str:
    return json.dumps(as_read_back(cfg.to_dict()), sort_keys=True)


def ladder(
    base: SASRecConfig,
    seeds: tuple[int, ...],
    out: Path,
    parallel: int,
    log: RunLog | None,
    so_far: bool = False,
    previous: Path | None = None,
) -> None:
    """Each step of ``presets.SHOPPING_LADDER`` on the held-out seeds (papers' protocol,
    tested once), then each of ``presets.SHOPPING_ABLATIONS`` (``"ablation": true``),
    written into ``out`` as its ``ladder`` list (the rest is kept).

    Its runs save no weights (the benchmark's ensembles read theirs); with a ``log``, an
    interrupted ladder resumes at the first run not yet finished. ``so_far`` trains
    nothing: the ladder is written from the runs ``log`` holds, each step with the seeds
    finished (``seeds``) beside those planned (``seeds_planned``; a step with none finished
    keeps its name and changes only). A ladder already in ``out`` with more finished runs
    than the new one is never replaced. The last step, the configuration benchmarked,
    takes the benchmark's own held-out runs from ``out`` where it has them
    (``benchmark_runs``; the step lists those seeds as ``runs_from_benchmark``). With a
    ``previous`` benchmark file, a rung it measured for the same whole config is read from
    it, not trained (``measured_rungs``; the row says ``"read_back": true``), when the same
    code measured it or this code reproduces it (``reproduced_rungs``: one run, recorded
    as the file's ``ladder_reproduction``).
    """
    steps = ladder_configs(base)
    final = steps[-1][2].replace(seed=base.seed)
    if final != base.replace(refit_on_valid=False):
        raise SystemExit("the ladder does not end at the configuration benchmarked")
    rungs = [*steps, *ablation_configs(base)]
    jobs = [job for _, _, cfg in rungs for job in sasrec_jobs(cfg, seeds, "held-out", False)]
    threads = as_run(jobs, parallel)[-1][1].num_threads
    measured = benchmark_runs(out, base.replace(refit_on_valid=False), seeds, threads)
    last_step = (len(steps) - 1) * len(seeds)  # the preset: the benchmark's runs if measured
    reused = {last_step + seeds.index(seed): [run] for seed, run in measured.items()}
    read_back, measured_by = measured_rungs(previous, rungs, seeds) if previous else ({}, None)
    if measured:  # the preset's runs: the benchmark's own
        read_back.pop(len(steps) - 1, None)
    check, check_run = {}, None
    if read_back and measured_by != compute_fingerprint():  # other code: check it first
        # (--so-far trains nothing, so it cannot check: it reads nothing back)
        read_back, check, check_run = (
            ({}, {}, None)
            if so_far
            else reproduced_rungs(read_back, len(steps), jobs, seeds, parallel, log)
        )
    if check_run is not None and not check["reproduced"]:  # the check's run is that rung's
        reused[check["step"] * len(seeds)] = check_run
    reused |= {r * len(seeds) + k: None for r in read_back for k in range(len(seeds))}
    to_run = [i for i in range(len(jobs)) if i not in reused]
    if so_far:
        if log is None:
            raise SystemExit("--so-far writes the ladder from the runs log: give --runs-log")
        finished = logged_results(as_run([jobs[i] for i in to_run], parallel), log)
        trained = [finished.get(position) for position in range(len(to_run))]
    else:
        trained = run_children([jobs[i] for i in to_run], parallel, log)
    results = {**reused, **dict(zip(to_run, trained, strict=True))}  # by job, None: unfinished
    rows = []
    for index, (name, step, _) in enumerate(rungs):
        per_seed = [results[i] for i in range(index * len(seeds), (index + 1) * len(seeds))]
        runs = [result[0] for result in per_seed if result is not None]  # early-stopped
        row = {"name": name, "changes": step, "trained_on": TRAIN, "seeds": []}
        row["ablation"] = index >= len(steps)
        if index in read_back:
            row |= read_back[index] | {"read_back": True}
        elif runs:
            done = summary(runs) | {"s_per_epoch": float(np.mean([r["s_per_epoch"] for r in runs]))}
            row |= {key: done[key] for key in LADDER_FIGURES}
        if index == len(steps) - 1 and measured:
            row["runs_from_benchmark"] = sorted(measured)  # seeds not trained again here
        rows.append({**row, "seeds_planned": list(seeds)})
        print(json.dumps(rows[-1]), flush=True)
    report = json.loads(out.read_text()) if out.exists() else {}
    before, now = (sum(len(r["seeds"]) for r in rs) for rs in (report.get("ladder", []), rows))
    if now < before:
        raise SystemExit(
            f"{out} holds a ladder of {before} finished runs; this one has {now}: not replaced"
        )
    written = {key: value for key, value in report.items() if key != "ladder_reproduction"}
    written |= {"ladder": rows, "ladder_fingerprint": compute_fingerprint()}
    if check:  # rungs of other code: whether this code reproduced them
        written["ladder_reproduction"] = check
    atomic_write_json(out, written)
    print(f"wrote the ladder ({now} of {len(jobs)} runs) into {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--preset", choices=sorted(CONFIGS), help="a named configuration")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="benchmark JSON")
    parser.add_argument("--speed", action="store_true", help="+ per-prefix run, FLOP estimate")
    parser.add_argument("--sweep", help="comma-separated groups of " + ",".join(SWEEP))
    parser.add_argument("--sweep-log", type=Path, help="append each sweep row to this JSONL")
    parser.add_argument("--selection-seeds", default=",".join(map(str, SELECTION_SEEDS)))
    parser.add_argument("--held-out-seeds", default=",".join(map(str, HELD_OUT_SEEDS)))
    parser.add_argument("--jobs", type=int, default=1, help="child processes at once")
    parser.add_argument(
        "--sweep-table", type=Path, help="a --sweep-log JSONL to keep in the benchmark JSON"
    )
    parser.add_argument(
        "--baselines", default=",".join(BASELINES), help="tuned baselines to fit (names)"
    )
    parser.add_argument(
        "--ladder", action="store_true", help="only the ablation ladder, written into --out"
    )
    parser.add_argument(
        "--so-far",
        action="store_true",
        help="with --ladder: train nothing, write the runs --runs-log holds (steps unfinished)",
    )
    parser.add_argument(
        "--runs-log", type=Path, help="finished runs kept here, reused when run again"
    )
    parser.add_argument(
        "--reuse-ladder",
        type=Path,
        metavar="BENCHMARK_JSON",
        help="with --ladder: steps this file's ladder measured (same config, same code) are read",
    )
    parser.add_argument(
        "--without-bce",
        action="store_true",
        help="no SASRec-BCE rows (the configuration with only the loss swapped)",
    )
    args = parser.parse_args(argv)
    if (args.so_far or args.reuse_ladder) and not args.ladder:
        parser.error("--so-far and --reuse-ladder are about the ladder: give --ladder too")
    selection_seeds = tuple(int(s) for s in args.selection_seeds.split(","))
    held_out_seeds = tuple(int(s) for s in args.held_out_seeds.split(","))
    settings = {**CONFIGS.get(args.preset, {}), **parse_overrides(args.set)}
    cfg = SASRecConfig().replace(**settings)
    log = RunLog(args.runs_log) if args.runs_log else None
    if log is not None and log.stale:
        print(f"{log.stale} run(s) in {log.path} came from other code: run again")
    if args.sweep:
        sweep(cfg, args.sweep.split(","), selection_seeds, args.sweep_log, args.jobs, log)
    elif args.ladder:
        ladder(cfg, held_out_seeds, args.out, args.jobs, log, args.so_far, args.reuse_ladder)
    else:
        baselines = tuple(args.baselines.split(","))
        unknown = sorted(set(baselines) - set(BASELINES))
        if unknown:
            raise SystemExit(f"unknown baseline(s) {unknown}; known: {sorted(BASELINES)}")
        benchmark(
            cfg,
            args.out,
            args.speed,
            selection_seeds,
            held_out_seeds,
            args.jobs,
            baselines,
            args.sweep_table,
            log,
            not args.without_bce,
        )


if __name__ == "__main__":
    main()
