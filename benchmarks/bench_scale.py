"""Scale benchmark: the retail-sized synthetic log on this machine's CPU.

    make bench-scale                             # python3 benchmarks/bench_scale.py
    python3 benchmarks/bench_scale.py --quality  # + losses compared on a mid-sized log

The full preset (9.2M events, 286k users, 316k items, 128-d embeddings) is generated once
into ``artifacts/synthetic-retail/`` (``--data`` to change). Printed, and written to
``reports/benchmark_scale.json``:

- data: seconds and peak resident memory of loading the parquets (+ embeddings),
  building sequences, the split and one full pass of batching;
- training: ``train.fit`` on a random 1% of the training users, its epoch seconds
  extrapolated to the whole epoch; the training process's peak memory;
- evaluation: seconds per 1,000 users of full ranking over all 316k items;
- seed style: one sample per prefix held in Python lists, full softmax on each sample's
  last position. Its memory is measured (tracemalloc) on a fraction of the users and
  extrapolated, never built in full; its training seconds per batch are timed;
- per loss, one training step over the full catalogue: seconds and extra peak memory;
- ``--quality``: each loss trained on a mid-sized synthetic log, test NDCG@10 / HR@10.

Every part runs in a child process of its own, so each peak memory (``ru_maxrss``) is
its own, with glibc's ``MALLOC_MMAP_THRESHOLD_`` fixed at 1 MiB (see ``MMAP_THRESHOLD``).
Workers use one torch thread by default (``--threads``): on a CPU shared with other jobs
a second thread mostly measures their load (its spin-waits and preemptions inflated a
step 3-6x here), while one thread's time is what one core needs, so a dedicated 2-core
machine is at least as fast. The load average is recorded with each figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sasrec_utils import losses
from sasrec_utils.batches import epoch_batches
from sasrec_utils.config import SASRecConfig
from sasrec_utils.evaluation import evaluate, evaluate_model
from sasrec_utils.io import atomic_write_json
from sasrec_utils.model import SASRec
from sasrec_utils.prepared import PreparedData, prepare_data
from sasrec_utils.presets import CONFIGS, LOG_SIZES
from sasrec_utils.runinfo import peak_rss_mib, resident_mib, set_seed
from sasrec_utils.scorers import PopularityScorer
from sasrec_utils.sequences import item_popularity, users_per_item
from sasrec_utils.splits import Split
from sasrec_utils.synthetic import SyntheticFiles, synthetic_events
from sasrec_utils.train import fit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "artifacts" / "synthetic-retail"
DEFAULT_OUT = ROOT / "reports" / "benchmark_scale.json"
RETAIL = CONFIGS["retail"]  # the retail defaults, chosen by this benchmark
# glibc keeps freed buffers under its (growing) mmap threshold in the heap: ~300 MB of
# freed activations stayed resident while training. A fixed 1 MiB threshold returns them.
MMAP_THRESHOLD = os.environ.get("MALLOC_MMAP_THRESHOLD_", str(2**20))
TARGET_EPOCH_MINUTES = 20.0
TARGET_PEAK_GB = 2.0
MID_SIZE = LOG_SIZES["mid"]
QUALITY_LOSSES = [
    {"loss": "ce"},
    {"loss": "sampled_softmax", "n_negatives": 256},
    {"loss": "sampled_softmax", "n_negatives": 1024},
    {"loss": "gbce", "n_negatives": 256},
    {"loss": "bce"},
]
STEP_LOSSES = [*QUALITY_LOSSES[1:], {"loss": "ce", "batch_size": 8}]


def peak_gb() -> float:
    """This process's peak resident memory so far, in GiB."""
    return peak_rss_mib() / 1024


def resident_gb() -> float:
    """This process's resident memory now, in GiB."""
    return resident_mib() / 1024


def load_average() -> float:
    return os.getloadavg()[0]


def files_in(folder: Path) -> SyntheticFiles:
    """The files ``synthetic_events`` wrote into ``folder`` (stats unknown: zeros)."""
    events = [folder / "events_retail.parquet", folder / "events_marketplace.parquet"]
    return SyntheticFiles(
        events, folder / "item_vocabulary.parquet", folder / "item_embeddings.parquet", 0, 0, 0, 0
    )


def ensure_data(folder: Path, size: dict, seed: int = 0) -> SyntheticFiles:
    """Generate the synthetic log into ``folder`` unless it is already there."""
    files = files_in(folder)
    if all(p.exists() for p in [*files.events_paths, files.vocabulary_path, files.embeddings_path]):
        return files
    started = time.perf_counter()
    files = synthetic_events(folder, seed=seed, **size)
    print(f"generated {files.n_events:,} events in {time.perf_counter() - started:.0f} s")
    return files


# ---------------------------------------------------------------- workers (child processes)


def scale_worker(folder: Path, fraction: float, eval_users: int) -> dict:
    """Data pipeline, ``fraction`` of an epoch through ``fit``, and evaluation, on the log."""
    cfg = files_in(folder).config(**RETAIL)
    out = {"baseline_peak_gb": peak_gb()}
    wall, cpu = time.perf_counter(), time.process_time()
    prepared = prepare_data(cfg)
    out["load_seconds"] = time.perf_counter() - wall
    split = prepared.split
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    n_batches = sum(1 for _ in epoch_batches(cfg, split.train, rng))
    out |= {
        "batching_pass_seconds": time.perf_counter() - started,
        "data_seconds": time.perf_counter() - wall,
        "data_cpu_seconds": time.process_time() - cpu,
        "data_peak_gb": peak_gb(),
        "n_events": len(prepared.sequences.sequences.items),
        "n_users": prepared.sequences.n_users,
        "n_items": prepared.sequences.n_items,
        "batches_per_epoch": n_batches,
        "rows_per_epoch": int(np.minimum(split.train.lengths - 1, cfg.max_len).clip(0).sum()),
        "load_average_data": load_average(),
    }

    trainable = np.flatnonzero(split.train.lengths >= 2)
    chosen = np.sort(
        rng.choice(trainable, size=math.ceil(fraction * len(trainable)), replace=False)
    )
    part = Split(
        split.train.select(chosen), split.valid.head(64), split.test.head(64), split.n_items
    )
    cpu = time.process_time()
    result = fit(
        cfg.replace(epochs=1),
        PreparedData(prepared.sequences, part, None, prepared.pretrained),
        progress=False,
    )
    seconds = float(result.history["train_seconds"].iloc[0])
    share = len(chosen) / len(trainable)
    out |= {
        "train_fraction": share,
        "train_seconds_fraction": seconds,
        "train_cpu_seconds_fraction": time.process_time() - cpu,
        "epoch_minutes_estimate": seconds / share / 60,
        "train_peak_gb": peak_gb(),
        "load_average_train": load_average(),
    }

    started = time.perf_counter()
    counts = users_per_item(split.train, split.n_items)
    fixed = time.perf_counter() - started
    started = time.perf_counter()
    evaluate_model(result.model, split.valid, split.train, cfg, max_users=eval_users)
    ranking = time.perf_counter() - started - fixed
    out |= {
        "eval_users": eval_users,
        "eval_seconds_per_1k_users": ranking / eval_users * 1000,
        "eval_fixed_seconds": fixed,
        "eval_full_valid_minutes_estimate": (ranking / eval_users * len(split.valid) + fixed) / 60,
        "eval_peak_gb": peak_gb(),
        "load_average_eval": load_average(),
        "popular_ndcg@10_on_eval_users": evaluate(
            PopularityScorer(item_popularity(split.train, split.n_items)),
            split.valid.head(eval_users),
            split.n_items,
            counts,
            len(split.train),
        )["ndcg@10"],
    }
    return out


def prefix_lists(rows: list[list[int]], max_len: int) -> tuple[list[list[int]], list[int]]:
    """The seed notebook's samples: every prefix, left-padded to ``max_len``, as lists."""
    inputs, targets = [], []
    for items in rows:
        for t in range(1, len(items)):
            window = items[max(0, t - max_len) : t]
            inputs.append([0] * (max_len - len(window)) + window)
            targets.append(items[t])
    return inputs, targets


def seed_worker(folder: Path, fraction: float, steps: int) -> dict:
    """Seed-style per-prefix lists on ``fraction`` of the users, extrapolated; step time."""
    cfg = files_in(folder).config(**{**RETAIL, "loss": "ce", "batch_size": 128})
    prepared = prepare_data(cfg)
    train = prepared.split.train
    n_samples = int(np.maximum(train.lengths - 1, 0).sum())
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(len(train), size=math.ceil(fraction * len(train)), replace=False))
    part = train.select(chosen)
    base_gb = resident_gb()  # the loaded data, not the loading's transient peak
    started = time.perf_counter()
    tracemalloc.start()
    rows = [part[r].tolist() for r in range(len(part))]  # the seed's per-user lists
    inputs, targets = prefix_lists(rows, cfg.max_len)
    list_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    build_seconds = time.perf_counter() - started
    per_sample = list_bytes / max(len(targets), 1)
    full_gb = per_sample * n_samples / 2**30
    room = max(TARGET_PEAK_GB - base_gb, 0.0) * 2**30

    set_seed(0)
    model = SASRec(prepared.split.n_items, cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    times = []
    for step in range(steps + 1):
        batch = slice(step * cfg.batch_size, (step + 1) * cfg.batch_size)
        x = torch.tensor(inputs[batch])
        y = torch.tensor(targets[batch])
        started = time.perf_counter()
        last = model(x)[:, -1]  # (B, D): the prefix's last position only
        logits = last @ model.item_matrix()[1:].T  # (B, n_items): the full softmax
        loss = F.cross_entropy(logits, y - 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step:  # the first step warms up allocations
            times.append(time.perf_counter() - started)
    step_seconds = float(np.median(times))
    n_items = prepared.split.n_items
    all_positions_gb = cfg.batch_size * cfg.max_len * n_items * 4 / 2**30
    return {
        "fraction_of_users": len(chosen) / len(train),
        "samples_built": len(targets),
        "samples_full": n_samples,
        "build_seconds_fraction": build_seconds,
        "build_minutes_estimate": build_seconds * n_samples / max(len(targets), 1) / 60,
        "bytes_per_sample": per_sample,
        "lists_gb_estimate": full_gb,
        "process_gb_before_lists": base_gb,
        "fits_target": base_gb + full_gb <= TARGET_PEAK_GB,
        "users_fraction_fitting_target": min(1.0, room / (per_sample * n_samples)),
        "step_seconds": step_seconds,
        "batch_size": cfg.batch_size,
        "epoch_hours_estimate": step_seconds * n_samples / cfg.batch_size / 3600,
        "all_positions_logits_gb": all_positions_gb,
        "peak_gb": peak_gb(),
        "load_average": load_average(),
    }


def step_worker(n_items: int, changes: dict, steps: int) -> dict:
    """One training step over ``n_items`` items: seconds and extra peak memory."""
    cfg = SASRecConfig(**{**RETAIL, **changes})
    set_seed(0)
    model = SASRec(n_items, cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    generator = torch.Generator().manual_seed(0)
    shape = (cfg.batch_size, cfg.max_len)
    counts = torch.randint(1, 1000, (n_items + 1,), generator=generator)
    log_q = losses.log_popularity_proposal(counts)
    times, model_gb = [], peak_gb()  # model + optimizer (its state comes with the 1st step)
    for step in range(steps + 1):
        inputs = torch.randint(1, n_items + 1, shape, generator=generator)
        targets = torch.randint(1, n_items + 1, shape, generator=generator)
        started = time.perf_counter()
        hidden = model(inputs).reshape(-1, cfg.hidden_dim)
        items = model.item_matrix()
        flat = targets.reshape(-1)
        if cfg.loss == "ce":
            loss = losses.full_cross_entropy(hidden, flat, items, 0.0, cfg.loss_chunk_rows)
        elif cfg.loss == "bce":
            loss = losses.bce_one_negative(hidden, flat, items)
        elif cfg.loss == "gbce":
            loss = losses.gbce(hidden, flat, items, cfg.n_negatives, cfg.gbce_t)
        else:
            loss = losses.sampled_softmax(hidden, flat, items, cfg.n_negatives, log_q)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step:  # the first step allocates the gradients and AdamW's state
            times.append(time.perf_counter() - started)
    return {
        **changes,
        "rows": cfg.batch_size * cfg.max_len,
        "step_seconds": float(np.median(times)),
        "seconds_per_1k_rows": float(np.median(times)) / (cfg.batch_size * cfg.max_len) * 1000,
        "model_gb": model_gb,
        "peak_gb": peak_gb(),
        "training_state_and_step_gb": peak_gb() - model_gb,
        "load_average": load_average(),
    }


def quality_worker(folder: Path, changes: dict, epochs: int) -> dict:
    """Train with one loss on the mid-sized log; test metrics, time and peak memory."""
    cfg = files_in(folder).config(**{**RETAIL, **changes, "epochs": epochs, "patience": epochs})
    prepared = prepare_data(cfg)
    split = prepared.split
    result = fit(cfg, prepared, progress=False)
    test = evaluate_model(result.model, split.test, split.train, cfg)
    return {
        **changes,
        "test_ndcg@10": test["ndcg@10"],
        "test_hr@10": test["hr@10"],
        "best_epoch": result.best_epoch,
        "seconds_per_epoch": float(result.history["train_seconds"].mean()),
        "peak_gb": peak_gb(),
        "load_average": load_average(),
        "popular_ndcg@10": evaluate(
            PopularityScorer(item_popularity(split.train, split.n_items)),
            split.test,
            split.n_items,
        )["ndcg@10"],
    }


def child(job: dict) -> dict:
    """Run ``job`` in a fresh Python process; its last stdout line is the JSON result."""
    command = [sys.executable, __file__, "--worker", json.dumps(job)]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD}
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"worker {job['kind']} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def run_worker(job: dict) -> dict:
    torch.set_num_threads(job.get("threads", torch.get_num_threads()))
    folder = Path(job.get("data", DEFAULT_DATA))
    if job["kind"] == "scale":
        return scale_worker(folder, job["fraction"], job["eval_users"])
    if job["kind"] == "seed":
        return seed_worker(folder, job["fraction"], job["steps"])
    if job["kind"] == "step":
        return step_worker(job["n_items"], job["changes"], job["steps"])
    return quality_worker(folder, job["changes"], job["epochs"])


# ---------------------------------------------------------------- report


def label(changes: dict) -> str:
    loss = changes["loss"]
    return f"{loss} K={changes['n_negatives']}" if "n_negatives" in changes else loss


def print_report(result: dict) -> None:
    s, seed = result["scale"], result["seed_style"]
    target_note = f"(targets: <= {TARGET_EPOCH_MINUTES:.0f} min, <= {TARGET_PEAK_GB:.0f} GB)"
    print(
        f"\n== full preset: {s['n_events']:,} events, {s['n_users']:,} users, "
        f"{s['n_items']:,} items, {result['cpu_threads']} CPU threads {target_note}"
    )
    print(f"load + sequences + split       {s['load_seconds']:7.1f} s")
    print(
        f"one pass of batching           {s['batching_pass_seconds']:7.1f} s "
        f"({s['batches_per_epoch']:,} batches of {RETAIL['batch_size']})"
    )
    print(f"data pipeline peak memory      {s['data_peak_gb']:7.2f} GB")
    print(
        f"{s['train_fraction']:.0%} of an epoch (its users)    "
        f"{s['train_seconds_fraction']:7.1f} s "
        f"-> epoch estimate {s['epoch_minutes_estimate']:.1f} min "
        f"(loss={RETAIL['loss']}, K={RETAIL['n_negatives']})"
    )
    print(f"training process peak memory   {s['train_peak_gb']:7.2f} GB")
    print(
        f"evaluation per 1k users        {s['eval_seconds_per_1k_users']:7.1f} s "
        f"(full ranking over {s['n_items']:,} items; all {s['n_users']:,} users: "
        f"~{s['eval_full_valid_minutes_estimate']:.0f} min)"
    )
    print(f"evaluation process peak memory {s['eval_peak_gb']:7.2f} GB")
    print(
        f"load average during training   {s['load_average_train']:7.1f} (other jobs share the CPU)"
    )
    print(
        f"(torch threads per worker: {result['cpu_threads']}; glibc MALLOC_MMAP_THRESHOLD_="
        f"{result['malloc_mmap_threshold']})"
    )
    print(
        f"\n== seed style: one Python-list sample per prefix "
        f"(measured on {seed['fraction_of_users']:.0%} of users, extrapolated)"
    )
    print(f"samples                        {seed['samples_full']:,}")
    print(
        f"memory of the lists            {seed['lists_gb_estimate']:7.2f} GB "
        f"({seed['bytes_per_sample']:.0f} B per sample); fits {TARGET_PEAK_GB:.0f} GB: "
        f"{seed['fits_target']} (up to {seed['users_fraction_fitting_target']:.0%} of users)"
    )
    print(f"building the lists             {seed['build_minutes_estimate']:7.1f} min")
    print(
        f"training step (B={seed['batch_size']}, full softmax) {seed['step_seconds']:5.2f} s "
        f"-> epoch estimate {seed['epoch_hours_estimate']:.1f} h"
    )
    print(f"all-position logits of one batch {seed['all_positions_logits_gb']:5.1f} GB (not run)")
    print(
        f"\n== one training step over all {s['n_items']:,} items, per loss "
        f"(epoch = {s['rows_per_epoch']:,} rows x seconds per row; peak = model + training)"
    )
    for row in result["steps"]:
        row["epoch_minutes_estimate"] = row["seconds_per_1k_rows"] * s["rows_per_epoch"] / 6e4
        print(
            f"{label(row):24s} {row['seconds_per_1k_rows']:6.2f} s per 1k rows  epoch "
            f"~{row['epoch_minutes_estimate']:5,.0f} min  peak {row['peak_gb']:.2f} GB = "
            f"{row['model_gb']:.2f} + {row['training_state_and_step_gb']:.2f} "
            f"({row['rows']:,} rows a step)"
        )
    for row in result.get("quality", []):
        if row is result["quality"][0]:
            print(f"\n== quality on a mid-sized log {MID_SIZE} (test, full ranking)")
        print(
            f"{label(row):28s} NDCG@10 {row['test_ndcg@10']:.4f}  HR@10 {row['test_hr@10']:.4f}"
            f"  {row['seconds_per_epoch']:6.1f} s/epoch  peak {row['peak_gb']:.2f} GB"
        )
    if result.get("quality"):
        print(f"{'most-popular':28s} NDCG@10 {result['quality'][0]['popular_ndcg@10']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fraction", type=float, default=0.01, help="share of an epoch timed")
    parser.add_argument("--eval-users", type=int, default=2000)
    parser.add_argument("--seed-fraction", type=float, default=0.02)
    parser.add_argument("--quality", action="store_true", help="also compare losses' quality")
    parser.add_argument("--quality-epochs", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads per worker (see the docstring)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return
    ensure_data(args.data, LOG_SIZES["retail"])

    def job(kind: str, data: Path = args.data, **fields) -> dict:
        return child({"kind": kind, "data": str(data), "threads": args.threads, **fields})

    n_items = LOG_SIZES["retail"]["n_items"]
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "cpu_threads": args.threads,
        "malloc_mmap_threshold": MMAP_THRESHOLD,
        "torch": torch.__version__,
        "retail_defaults": RETAIL,
        "scale": job("scale", fraction=args.fraction, eval_users=args.eval_users),
        "seed_style": job("seed", fraction=args.seed_fraction, steps=3),
        "steps": [job("step", n_items=n_items, changes=c, steps=2) for c in STEP_LOSSES],
    }
    if args.quality:
        mid = args.data.parent / "synthetic-mid"
        ensure_data(mid, MID_SIZE)
        result["quality"] = [
            job("quality", mid, changes=c, epochs=args.quality_epochs) for c in QUALITY_LOSSES
        ]
    s = result["scale"]
    result["targets"] = {
        "epoch_minutes": TARGET_EPOCH_MINUTES,
        "peak_gb": TARGET_PEAK_GB,
        "epoch_met": s["epoch_minutes_estimate"] <= TARGET_EPOCH_MINUTES,
        "data_memory_met": s["data_peak_gb"] <= TARGET_PEAK_GB,
        "training_memory_met": s["train_peak_gb"] <= TARGET_PEAK_GB,
    }
    print_report(result)
    atomic_write_json(args.out, result)
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
