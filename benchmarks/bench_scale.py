"""Scale benchmark: the retail-sized synthetic log on this machine's CPU.

    make bench-scale                             # python3 benchmarks/bench_scale.py
    python3 benchmarks/bench_scale.py --quality  # + losses compared on the mid-sized log

The full preset (9.2M events, 286k users, 316k items, 128-d embeddings) is generated once
into ``artifacts/synthetic-retail/`` (``--data`` to change). Each figure is printed as
*measured / estimate / ratio* against its target, and written to
``reports/benchmark_scale.json``:

- data: seconds and peak resident memory of loading the parquets (+ embeddings),
  building sequences, the split and one pass of batching;
- training: ``train.fit`` on a random 1% of the training users with the retail preset,
  its seconds extrapolated to the whole epoch, beside a matmul-bound estimate (the
  epoch's multiply-adds at this machine's measured matmul speed); the same for each
  variant of ``TRAIN_VARIANTS`` (dense AdamW over the item table, other losses);
- evaluation: seconds per 1,000 users of full ranking over all 316k items, the minutes
  for every user, and the matmul-bound estimate; how long early stopping on the preset's
  ``valid_users`` sample takes;
- seed style: one sample per prefix held in Python lists (memory measured with
  tracemalloc on a fraction of the users and extrapolated, never built in full);
- ``--quality``: each loss of ``QUALITY_LOSSES`` trained on the mid-sized log with early
  stopping on validation; the choice is made on validation NDCG@10, the test figure is
  reported beside it.

Every part runs in a child process of its own, so each peak memory (``ru_maxrss``) is
its own, with glibc's ``MALLOC_MMAP_THRESHOLD_`` fixed at 1 MiB (see ``MMAP_THRESHOLD``).
Workers use 2 torch threads (``--threads``): the issue's targets are for a quiet 2-core
machine. On a shared one the second thread mostly measures the other jobs, so the load
average is recorded with each figure.
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

from sasrec_utils.atomic import atomic_write_json
from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.batches import epoch_batches
from sasrec_utils.data.prepared import PreparedData, prepare_data
from sasrec_utils.data.sequences import item_popularity, users_per_item
from sasrec_utils.data.splits import Split
from sasrec_utils.data.synthetic import SyntheticFiles, synthetic_events
from sasrec_utils.evaluation.ranking import evaluate, evaluate_model
from sasrec_utils.evaluation.scorers import PopularityScorer
from sasrec_utils.presets import CONFIGS, LOG_SIZES
from sasrec_utils.runtime import peak_rss_mib, resident_mib
from sasrec_utils.training.loop import fit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "artifacts" / "synthetic-retail"
DEFAULT_OUT = ROOT / "reports" / "benchmark_scale.json"
RETAIL = CONFIGS["retail"]  # the retail defaults, chosen by this benchmark
# glibc keeps freed buffers under its (growing) mmap threshold in the heap: ~300 MB of
# freed activations stayed resident while training. A fixed 1 MiB threshold returns them.
MMAP_THRESHOLD = os.environ.get("MALLOC_MMAP_THRESHOLD_", str(2**20))
TARGETS = {
    "epoch_minutes": 3.0,
    "eval_all_users_minutes": 5.0,
    "peak_gb": 2.0,
    "quality_gap_to_ce": 0.02,  # relative, test NDCG@10 on the mid-sized log
    "step_ratio_to_k256": 1.5,
}
MID_SIZE = LOG_SIZES["mid"]
TRAIN_VARIANTS = [
    {"sparse_item_grad": False},
    {"in_batch_negatives": not RETAIL["in_batch_negatives"]},
    {"n_negatives": 1024},
    {"loss": "bce", "in_batch_negatives": False},
]
QUALITY_LOSSES = [
    {"loss": "ce", "sparse_item_grad": False, "in_batch_negatives": False},
    {"loss": "sampled_softmax", "n_negatives": 256, "in_batch_negatives": False},
    {"loss": "sampled_softmax", "n_negatives": 256, "in_batch_negatives": True},
    {"loss": "sampled_softmax", "n_negatives": 1024, "in_batch_negatives": False},
    {"loss": "sampled_softmax", "n_negatives": 1024, "in_batch_negatives": True},
    {"loss": "bce", "in_batch_negatives": False},
]


def peak_gb() -> float:
    """This process's peak resident memory so far, in GiB."""
    return peak_rss_mib() / 1024


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


# ---------------------------------------------------------------- estimates


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matmul speed (best of ``repeats``), GFLOP/s."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def forward_flops_per_position(cfg: SASRecConfig, window: float) -> float:
    """Multiply-adds x 2 of one position's forward pass through the blocks.

    Per layer: Q, K, V, O projections (4 D^2), scores and weighted sum over ``window``
    earlier positions (2 window D), the feed-forward layer (2 ffn_mult D^2, 3 for SwiGLU).
    """
    d = cfg.hidden_dim
    ffn = (3 if cfg.ffn_activation == "swiglu" else 2) * cfg.ffn_mult * d * d
    return 2 * cfg.n_layers * (4 * d * d + 2 * window * d + ffn)


def epoch_flops(cfg: SASRecConfig, positions: int, window: float, n_items: int) -> float:
    """Matmul FLOPs of one training epoch: forward + backward (3x) of the blocks and the
    loss's logits (K sampled negatives, or all items for full CE)."""
    negatives = n_items if cfg.loss == "ce" else (1 if cfg.loss == "bce" else cfg.n_negatives)
    logits = 2 * cfg.hidden_dim * (negatives + 1)
    return 3 * positions * (forward_flops_per_position(cfg, window) + logits)


def ranking_flops(cfg: SASRecConfig, users: int, n_items: int) -> float:
    """Matmul FLOPs of scoring every item for ``users`` users (+ their last position)."""
    return users * (2 * cfg.hidden_dim * n_items + forward_flops_per_position(cfg, cfg.max_len))


# ---------------------------------------------------------------- workers (child processes)


def data_figures(cfg: SASRecConfig) -> tuple[PreparedData, dict]:
    """Load the log for ``cfg`` and time the data pipeline."""
    out = {"baseline_peak_gb": peak_gb()}
    wall, cpu = time.perf_counter(), time.process_time()
    prepared = prepare_data(cfg)
    out["load_seconds"] = time.perf_counter() - wall
    split = prepared.split
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    n_batches = sum(1 for _ in epoch_batches(cfg, split.train, rng))
    positions = np.minimum(split.train.lengths - 1, cfg.max_len).clip(0)
    out |= {
        "batching_pass_seconds": time.perf_counter() - started,
        "data_seconds": time.perf_counter() - wall,
        "data_cpu_seconds": time.process_time() - cpu,
        "data_peak_gb": peak_gb(),
        "n_events": len(prepared.sequences.sequences.items),
        "n_users": prepared.sequences.n_users,
        "n_items": prepared.sequences.n_items,
        "batches_per_epoch": n_batches,
        "positions_per_epoch": int(positions.sum()),
        "mean_attended_positions": float((positions * (positions + 1) / 2).sum() / positions.sum()),
        "load_average_data": load_average(),
    }
    return prepared, out


def train_figures(cfg: SASRecConfig, prepared: PreparedData, data: dict, fraction: float) -> dict:
    """``fit`` for one epoch on ``fraction`` of the training users, extrapolated."""
    split = prepared.split
    trainable = np.flatnonzero(split.train.lengths >= 2)
    rng = np.random.default_rng(0)
    chosen = np.sort(
        rng.choice(trainable, size=math.ceil(fraction * len(trainable)), replace=False)
    )
    part = Split(
        split.train.select(chosen), split.valid.head(64), split.test.head(64), split.n_items
    )
    result = fit(
        cfg.replace(epochs=1, valid_users=0),
        PreparedData(prepared.sequences, part, None, prepared.pretrained),
        progress=False,
    )
    seconds = float(result.history["train_seconds"].iloc[0])
    share = len(chosen) / len(trainable)
    n_batches = sum(1 for _ in epoch_batches(cfg, part.train, np.random.default_rng(0)))
    gflops = matmul_gflops()
    flops = epoch_flops(
        cfg, data["positions_per_epoch"], data["mean_attended_positions"], data["n_items"]
    )
    return {
        "train_fraction": share,
        "train_seconds_fraction": seconds,
        "step_seconds": seconds / max(n_batches, 1),
        "epoch_minutes": seconds / share / 60,
        "epoch_tflop": flops / 1e12,
        "matmul_gflops": gflops,
        "epoch_minutes_estimate": flops / (gflops * 1e9) / 60,
        "train_peak_gb": peak_gb(),
        "load_average_train": load_average(),
        "model": result.model,
    }


def eval_figures(cfg: SASRecConfig, prepared: PreparedData, model, eval_users: int) -> dict:
    """Full ranking of ``eval_users`` validation users, extrapolated to all users."""
    split = prepared.split
    started = time.perf_counter()
    counts = users_per_item(split.train, split.n_items)
    fixed = time.perf_counter() - started
    started = time.perf_counter()
    evaluate_model(model, split.valid, split.train, cfg, max_users=eval_users)
    ranking = time.perf_counter() - started - fixed
    per_user = ranking / eval_users
    gflops = matmul_gflops()
    every = len(split.valid)
    sample = min(cfg.valid_users or every, every)
    return {
        "eval_users": eval_users,
        "eval_seconds_per_1k_users": per_user * 1000,
        "eval_fixed_seconds": fixed,
        "eval_all_users_minutes": (per_user * every + fixed) / 60,
        "eval_all_users_minutes_estimate": ranking_flops(cfg, every, split.n_items)
        / (gflops * 1e9)
        / 60,
        "early_stopping_users": sample,
        "early_stopping_seconds": per_user * sample + fixed,
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


def scale_worker(folder: Path, changes: dict, fraction: float, eval_users: int) -> dict:
    """Data pipeline, ``fraction`` of an epoch through ``fit``, and (``eval_users`` > 0)
    evaluation, with the retail preset changed by ``changes``."""
    cfg = files_in(folder).config(**{**RETAIL, **changes})
    prepared, data = data_figures(cfg)
    train = train_figures(cfg, prepared, data, fraction)
    model = train.pop("model")
    out = {"changes": changes, **data, **train}
    if eval_users:
        out |= eval_figures(cfg, prepared, model, eval_users)
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


def seed_worker(folder: Path, fraction: float) -> dict:
    """Memory of the seed style's per-prefix lists, measured on ``fraction`` of the users."""
    cfg = files_in(folder).config(**RETAIL)
    split = prepare_data(cfg).split
    train = split.train
    n_samples = int(np.maximum(train.lengths - 1, 0).sum())
    rng = np.random.default_rng(0)
    chosen = np.sort(rng.choice(len(train), size=math.ceil(fraction * len(train)), replace=False))
    part = train.select(chosen)
    base_gb = resident_mib() / 1024  # the loaded data, not the loading's transient peak
    started = time.perf_counter()
    tracemalloc.start()
    rows = [part[r].tolist() for r in range(len(part))]  # the seed's per-user lists
    _, targets = prefix_lists(rows, cfg.max_len)
    list_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_sample = list_bytes / max(len(targets), 1)
    full_gb = per_sample * n_samples / 2**30
    return {
        "fraction_of_users": len(chosen) / len(train),
        "samples_full": n_samples,
        "build_minutes_estimate": (time.perf_counter() - started)
        / max(len(targets), 1)
        * n_samples
        / 60,
        "bytes_per_sample": per_sample,
        "lists_gb_estimate": full_gb,
        "fits_target": base_gb + full_gb <= TARGETS["peak_gb"],
        "all_positions_logits_gb": cfg.batch_size * cfg.max_len * split.n_items * 4 / 2**30,
    }


def quality_worker(folder: Path, changes: dict, epochs: int) -> dict:
    """One loss on the mid-sized log, early-stopped on validation; valid and test."""
    cfg = files_in(folder).config(**{**RETAIL, **changes, "epochs": epochs, "patience": 2})
    prepared = prepare_data(cfg)
    split = prepared.split
    result = fit(cfg, prepared, progress=False)
    test = evaluate_model(result.model, split.test, split.train, cfg)
    n_batches = sum(1 for _ in epoch_batches(cfg, split.train, np.random.default_rng(0)))
    seconds = float(result.history["train_seconds"].mean())
    return {
        "changes": changes,
        "valid_ndcg@10": result.best_valid,
        "test_ndcg@10": test["ndcg@10"],
        "test_hr@10": test["hr@10"],
        "best_epoch": result.best_epoch,
        "seconds_per_epoch": seconds,
        "step_seconds": seconds / n_batches,
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
    threads = str(job["threads"])  # fit's automatic count keeps OMP_NUM_THREADS
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD, "OMP_NUM_THREADS": threads}
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"worker {job['kind']} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def run_worker(job: dict) -> dict:
    torch.set_num_threads(job["threads"])
    folder = Path(job["data"])
    if job["kind"] == "scale":
        return scale_worker(folder, job["changes"], job["fraction"], job["eval_users"])
    if job["kind"] == "seed":
        return seed_worker(folder, job["fraction"])
    return quality_worker(folder, job["changes"], job["epochs"])


# ---------------------------------------------------------------- report


def label(changes: dict) -> str:
    cfg = SASRecConfig().replace(**{**RETAIL, **changes})
    if cfg.loss in ("ce", "bce"):
        text = cfg.loss
    else:
        text = f"{cfg.loss} K={cfg.n_negatives}" + (" + in-batch" if cfg.in_batch_negatives else "")
    return text + ("" if cfg.loss == "ce" or cfg.sparse_item_grad else ", dense AdamW")


def ratio_line(name: str, measured: float, estimate: float, target: float, unit: str) -> str:
    met = "met" if measured <= target else "NOT met"
    return (
        f"{name:34s} {measured:7.2f} {unit} measured / {estimate:6.2f} estimate = "
        f"{measured / estimate:4.1f}x; target <= {target:g} {unit}: {met}"
    )


def print_report(result: dict) -> None:
    s = result["scale"]
    print(
        f"\n== retail preset on the full synthetic log: {s['n_events']:,} events, "
        f"{s['n_users']:,} users, {s['n_items']:,} items ({label({})}, "
        f"{result['threads']} torch threads, matmul {s['matmul_gflops']:.0f} GFLOP/s, "
        f"load average {s['load_average_train']:.1f})"
    )
    print(f"load + sequences + split       {s['load_seconds']:7.1f} s")
    print(
        f"one pass of batching           {s['batching_pass_seconds']:7.1f} s "
        f"({s['batches_per_epoch']:,} batches)"
    )
    print(
        ratio_line(
            "training epoch",
            s["epoch_minutes"],
            s["epoch_minutes_estimate"],
            TARGETS["epoch_minutes"],
            "min",
        )
    )
    print(
        f"  ({s['train_fraction']:.0%} of the users timed: {s['train_seconds_fraction']:.1f} s;"
        f" {s['epoch_tflop']:.1f} TFLOP of matmuls per epoch; step {s['step_seconds']:.2f} s)"
    )
    print(
        ratio_line(
            "evaluation, all users",
            s["eval_all_users_minutes"],
            s["eval_all_users_minutes_estimate"],
            TARGETS["eval_all_users_minutes"],
            "min",
        )
    )
    print(
        f"  ({s['eval_seconds_per_1k_users']:.2f} s per 1k users over {s['eval_users']:,} "
        f"users; early stopping on a sample of {s['early_stopping_users']:,}: "
        f"{s['early_stopping_seconds']:.0f} s per validation)"
    )
    peak = max(s["data_peak_gb"], s["train_peak_gb"], s["eval_peak_gb"])
    print(
        f"peak memory (data, training, evaluation) {s['data_peak_gb']:.2f} / "
        f"{s['train_peak_gb']:.2f} / {s['eval_peak_gb']:.2f} GB; target <= "
        f"{TARGETS['peak_gb']:g} GB: {'met' if peak <= TARGETS['peak_gb'] else 'NOT met'}"
    )
    print(f"\n== training variants ({s['train_fraction']:.0%} of an epoch each, the same users)")
    for row in [s, *result["variants"]]:
        print(
            f"{label(row['changes']):40s} epoch {row['epoch_minutes']:5.2f} min  step "
            f"{row['step_seconds']:.3f} s ({row['step_seconds'] / s['step_seconds']:.2f}x the "
            f"preset)  peak {row['train_peak_gb']:.2f} GB"
        )
    seed = result["seed_style"]
    print(
        f"\n== seed style: one Python-list sample per prefix ({seed['samples_full']:,} samples)"
        f": {seed['lists_gb_estimate']:.1f} GB of lists ({seed['bytes_per_sample']:.0f} B "
        f"each), {seed['build_minutes_estimate']:.1f} min to build; full logits of one batch "
        f"{seed['all_positions_logits_gb']:.0f} GB"
    )
    if result.get("quality"):
        print_quality(result["quality"])


def print_quality(rows: list[dict]) -> None:
    print(
        f"\n== quality on the mid-sized log {MID_SIZE} (early stopping on validation; "
        "chosen by validation NDCG@10)"
    )
    ce = next(row for row in rows if row["changes"]["loss"] == "ce")
    k256 = next(r for r in rows if label(r["changes"]) == "sampled_softmax K=256")
    for row in rows:
        print(
            f"{label(row['changes']):36s} valid {row['valid_ndcg@10']:.4f}  "
            f"test {row['test_ndcg@10']:.4f}"
            f" ({row['test_ndcg@10'] / ce['test_ndcg@10'] - 1:+.1%} vs CE)  step "
            f"{row['step_seconds']:.3f} s ({row['step_seconds'] / k256['step_seconds']:.2f}x "
            f"K=256)  best epoch {row['best_epoch']}"
        )
    print(f"{'most-popular':36s} test {rows[0]['popular_ndcg@10']:.4f}")
    chosen = max(rows, key=lambda row: row["valid_ndcg@10"])
    print(f"chosen by validation NDCG@10: {label(chosen['changes'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--fraction", type=float, default=0.01, help="share of an epoch timed")
    parser.add_argument("--eval-users", type=int, default=4096)
    parser.add_argument("--seed-fraction", type=float, default=0.02)
    parser.add_argument("--quality", action="store_true", help="also compare losses' quality")
    parser.add_argument("--quality-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per worker")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return
    ensure_data(args.data, LOG_SIZES["retail"])

    def job(kind: str, data: Path = args.data, **fields) -> dict:
        return child({"kind": kind, "data": str(data), "threads": args.threads, **fields})

    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "threads": args.threads,
        "malloc_mmap_threshold": MMAP_THRESHOLD,
        "torch": torch.__version__,
        "retail_defaults": RETAIL,
        "targets": TARGETS,
        "scale": job("scale", changes={}, fraction=args.fraction, eval_users=args.eval_users),
        "variants": [
            job("scale", changes=c, fraction=args.fraction, eval_users=0) for c in TRAIN_VARIANTS
        ],
        "seed_style": job("seed", fraction=args.seed_fraction),
    }
    if args.quality:
        mid = args.data.parent / "synthetic-mid"
        ensure_data(mid, MID_SIZE)
        result["quality"] = [
            job("quality", mid, changes=c, epochs=args.quality_epochs) for c in QUALITY_LOSSES
        ]
    print_report(result)
    atomic_write_json(args.out, result)
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
