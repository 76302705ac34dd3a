"""ML-100k benchmark: quality, training time and memory of SASRec against two baselines.

    python benchmarks/bench.py                    # `make bench`: table + reports/benchmark.json
    python benchmarks/bench.py --sweep dropout,lr --sweep-seeds 0,1 --sweep-epochs 40
    python benchmarks/bench.py --preset ml1m-t4   # Colab T4 with ML-1M (benchmarks/README.md)

Systems (leave-one-out, full ranking over all items, test split):

- ``sasrec``: this package's default ``SASRecConfig`` trained by ``train.fit`` (every
  position of one window per user is a training target), seeds 0, 1, 2: mean and spread;
- ``sasrec-prefix``: the seed notebook's way with the same model and settings: one padded
  sample per prefix of every training sequence, loss on its last position only. It is
  capped in wall time (``--prefix-seconds``) and its seconds per epoch are extrapolated
  from the part it completed: it shows the time and memory cost of per-prefix copies;
- ``most-popular``: items ranked by their training interaction counts.

Each system runs in a child process of its own, so each peak resident memory is its own.
The FLOP estimate counts the matmul FLOPs (forward + backward) of one training epoch of the
benchmarked configuration and prices each kind at the speed of a plain matmul of that
shape timed on this machine; the ratio is the measured training seconds per epoch over it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sasrec_utils import losses
from sasrec_utils.batches import epoch_batches
from sasrec_utils.config import SASRecConfig, parse_overrides
from sasrec_utils.evaluation import evaluate, evaluate_model
from sasrec_utils.io import atomic_write_json
from sasrec_utils.model import SASRec
from sasrec_utils.prepared import prepare_data
from sasrec_utils.presets import CONFIGS
from sasrec_utils.runinfo import peak_rss_mib, resolve_device, set_seed
from sasrec_utils.scorers import PopularityScorer
from sasrec_utils.sequences import Sequences, item_popularity, users_per_item
from sasrec_utils.train import fit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "reports" / "benchmark.json"
SEED_BATCH_SIZE = 128  # samples per batch of the seed notebook's per-prefix training
# Each sweep group changes one or two settings of the benchmarked configuration.
SWEEP = {
    "default": [{}],
    "dims": [{"hidden_dim": 32}, {"hidden_dim": 128}, {"hidden_dim": 128, "n_heads": 4}],
    "layers": [{"n_layers": 1}, {"n_layers": 3}, {"n_heads": 1}, {"n_heads": 4}],
    "ffn": [{"ffn_mult": 2}, {"ffn_mult": 4}],
    "dropout": [{"dropout": 0.1}, {"dropout": 0.2}, {"dropout": 0.4}, {"dropout": 0.5}],
    "max_len": [{"max_len": 50}, {"max_len": 100}, {"max_len": 300}],
    "window": [{"window": "random"}],
    "lr": [{"lr": 2e-3}, {"lr": 5e-4}, {"lr_schedule": "cosine"}],
    "batch": [
        {"batch_tokens": 0, "batch_size": 128, "lr": 2e-3},  # the former default
        {"batch_tokens": 6400},
        {"batch_tokens": 2048},
    ],
    "smoothing": [{"label_smoothing": 0.1}, {"label_smoothing": 0.2}],
    "weight_decay": [{"weight_decay": 0.01}, {"weight_decay": 0.1}],
    "loss": [{"loss": "sampled_softmax"}, {"loss": "gbce"}, {"loss": "bce"}],
    "eval": [{"eval_every": 2}, {"eval_batch_size": 512}],
}
TABLE_COLUMNS = [
    ("system", "system", "{}"),
    ("NDCG@10", "ndcg@10", "{:.4f}"),
    ("±", "ndcg@10_std", "{:.4f}"),
    ("HR@10", "hr@10", "{:.4f}"),
    ("±", "hr@10_std", "{:.4f}"),
    ("MRR", "mrr", "{:.4f}"),
    ("cov@10", "coverage", "{:.3f}"),
    ("epochs", "epochs", "{:g}"),
    ("train_s", "train_s", "{:.1f}"),
    ("s/epoch", "s_per_epoch", "{:.2f}"),
    ("RSS MB", "peak_rss_mb", "{:.0f}"),
]


# ------------------------------------------------------------ one system, in a child


def _common(cfg: SASRecConfig, system: str, device: torch.device) -> dict:
    return {
        "dataset": cfg.dataset,
        "system": system,
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def _metrics(result: dict[str, float]) -> dict[str, float]:
    return {
        "hr@10": round(result["hr@10"], 4),
        "ndcg@10": round(result["ndcg@10"], 4),
        "mrr": round(result["mrr"], 4),
        "coverage": round(result["coverage@10"], 4),
    }


def run_sasrec(cfg: SASRecConfig) -> dict:
    """Train ``cfg`` with ``fit`` (early stopping on validation) and score the test split.

    ``train_s`` is the wall time to the best checkpoint (training + validation passes);
    ``s_per_epoch`` the mean training-only seconds of an epoch.
    """
    prepared = prepare_data(cfg)
    split = prepared.split
    result = fit(cfg, prepared, progress=False)
    test = evaluate_model(result.model, split.test, split.train, cfg, result.device)
    history = result.history
    evaluated = history.dropna(subset=["valid_ndcg@10"])
    return {
        **_common(cfg, "sasrec", torch.device(result.device)),
        "seed": cfg.seed,
        **_metrics(test),
        "epochs": len(history),
        "best_epoch": result.best_epoch,
        "train_s": round(result.seconds_to_best, 1),
        "train_total_s": round(result.train_seconds, 1),
        "s_per_epoch": round(float(history["train_seconds"].mean()), 3),
        "eval_s": round(float((evaluated["seconds"] - evaluated["train_seconds"]).mean()), 3),
        "valid_ndcg@10": round(result.best_valid, 4),
        "peak_rss_mb": round(peak_rss_mib()),
    }


def prefix_samples(train: Sequences, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """One left-padded sample per prefix: inputs (P, max_len) int64, targets (P,) int64.

    Sample ``(u, t)`` holds the last ``max_len`` items of row ``u`` before its position
    ``t`` and targets the item at ``t``: the per-prefix copies the seed notebook made.
    """
    lengths = train.lengths
    prefixes = np.maximum(lengths - 1, 0)
    starts = np.repeat(train.offsets[:-1], prefixes)  # (P,) first item of the row
    first = np.repeat(np.cumsum(prefixes) - prefixes, prefixes)
    steps = np.arange(len(starts)) - first + 1  # (P,) prefix length t = 1 .. len - 1
    ends = starts + steps  # (P,) index of the target in train.items
    index = ends[:, None] + np.arange(-max_len, 0)[None, :]  # (P, max_len)
    inputs = np.where(index >= starts[:, None], train.items[np.maximum(index, 0)], 0)
    return inputs.astype(np.int64), train.items[ends].astype(np.int64)


def run_prefix_baseline(cfg: SASRecConfig, seconds: float) -> dict:
    """The seed notebook's training: per-prefix samples, loss at the last position only.

    Same model, optimizer and loss as ``fit``, batches of ``SEED_BATCH_SIZE`` samples as
    in the seed notebook; no validation or early stopping. Stops after ``seconds`` of
    training (or ``cfg.epochs`` epochs).
    """
    prepared = prepare_data(cfg)
    split = prepared.split
    device = resolve_device(cfg.device)
    set_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    inputs, targets = prefix_samples(split.train, cfg.max_len)
    model = SASRec(split.n_items, cfg).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    done, started = 0, time.perf_counter()
    while done < cfg.epochs * len(targets) and time.perf_counter() - started < seconds:
        order = rng.permutation(len(targets))
        for lo in range(0, len(order), SEED_BATCH_SIZE):
            batch = order[lo : lo + SEED_BATCH_SIZE]
            seq = torch.from_numpy(inputs[batch]).to(device)
            hidden = model(seq)[:, -1]  # (B, D): only the last position is trained
            target = torch.from_numpy(targets[batch]).to(device)
            loss = losses.full_cross_entropy(
                hidden, target, model.item_matrix(), cfg.label_smoothing
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            done += len(batch)
            if time.perf_counter() - started >= seconds:
                break
    train_s = time.perf_counter() - started
    epochs = done / len(targets)
    test = evaluate_model(model.eval(), split.test, split.train, cfg, device)
    return {
        **_common(cfg, "sasrec-prefix", device),
        "seed": cfg.seed,
        **_metrics(test),
        "epochs": round(epochs, 3),
        "train_s": round(train_s, 1),
        "s_per_epoch": round(train_s / epochs, 1),
        "samples_per_epoch": len(targets),
        "capped_at_s": seconds,
        "peak_rss_mb": round(peak_rss_mib()),
    }


def run_most_popular(cfg: SASRecConfig) -> dict:
    split = prepare_data(cfg).split
    counts = item_popularity(split.train, split.n_items)
    popular = PopularityScorer(counts)
    test = evaluate(popular, split.test, split.n_items, users_per_item(split.train, split.n_items))
    return {
        **_common(cfg, "most-popular", torch.device("cpu")),
        **_metrics(test),
        "epochs": 0,
        "train_s": 0.0,
        "s_per_epoch": 0.0,
        "peak_rss_mb": round(peak_rss_mib()),
    }


# --------------------------------------------------------------------- FLOP estimate


def epoch_matmul_flops(cfg: SASRecConfig) -> dict[str, float]:
    """Matmul FLOPs of one training epoch by kind, forward + backward (3x the forward).

    ``linear``: Q/K/V, output and feed-forward projections at every (padded) position;
    ``attention``: ``q k^T`` and ``weights v`` over each batch's full (L, L) grid;
    ``logits``: real positions' hidden states times the (V - 1, D) item table.
    Also the epoch's mean batch shape, to time matmuls of that size.
    """
    split = prepare_data(cfg).split
    dim, layers, ffn = cfg.hidden_dim, cfg.n_layers, cfg.ffn_mult * cfg.hidden_dim
    flops = {"linear": 0.0, "attention": 0.0, "logits": 0.0}
    rows, widths = [], []
    rng = np.random.default_rng(cfg.seed)
    for inputs, targets in epoch_batches(cfg, split.train, rng):
        batch, length = inputs.shape
        flops["linear"] += 3 * layers * 2 * batch * length * dim * (4 * dim + 2 * ffn)
        flops["attention"] += 3 * layers * 2 * 2 * batch * length * length * dim
        flops["logits"] += 3 * 2 * int((targets > 0).sum()) * dim * split.n_items
        rows.append(batch)
        widths.append(length)
    return {
        **flops,
        "batch_rows": float(np.mean(rows)),
        "batch_width": float(np.mean(widths)),
        "n_items": float(split.n_items),
    }


def matmul_seconds_per_flop(batch: int, rows: int, inner: int, cols: int) -> float:
    """Best-of-7 seconds per FLOP of a plain (batch, rows, inner) @ (batch, inner, cols)."""
    left, right = torch.randn(batch, rows, inner), torch.randn(batch, inner, cols)
    out = torch.empty(batch, rows, cols)
    torch.bmm(left, right, out=out)
    best = float("inf")
    for _ in range(7):
        started = time.perf_counter()
        torch.bmm(left, right, out=out)
        best = min(best, time.perf_counter() - started)
    return best / (2 * batch * rows * inner * cols)


def run_flop_estimate(cfg: SASRecConfig) -> dict:
    """Seconds one training epoch would take if it ran only its matmuls at plain speed."""
    counts = epoch_matmul_flops(cfg)
    dim, heads = cfg.hidden_dim, cfg.n_heads
    tokens = round(counts["batch_rows"] * counts["batch_width"])
    width, n_items = round(counts["batch_width"]), int(counts["n_items"])
    chunk = max(1, losses.AUTO_CHUNK_LOGITS["cpu"] // (n_items + 1))
    per_flop = {  # shapes: one projection, one head's scores, one chunk of logits
        "linear": matmul_seconds_per_flop(1, tokens, dim, 3 * dim),
        "attention": matmul_seconds_per_flop(
            round(counts["batch_rows"]) * heads, width, dim // heads, width
        ),
        "logits": matmul_seconds_per_flop(1, chunk, dim, n_items),
    }
    square = matmul_seconds_per_flop(1, 2048, 2048, 2048)
    total = sum(counts[k] for k in per_flop)
    return {
        "system": "flop-estimate",
        "gflop_per_epoch": {k: round(counts[k] / 1e9, 2) for k in per_flop},
        "gflop_per_epoch_total": round(total / 1e9, 2),
        "matmul_gflops": {k: round(1e-9 / v, 1) for k, v in per_flop.items()},
        "estimate_s_per_epoch": round(sum(counts[k] * per_flop[k] for k in per_flop), 3),
        "square_matmul_gflops": round(1e-9 / square, 1),
        "estimate_at_square_speed_s": round(total * square, 3),
        "threads": torch.get_num_threads(),
    }


JOBS = {
    "sasrec": lambda cfg, job: run_sasrec(cfg),
    "prefix": lambda cfg, job: run_prefix_baseline(cfg, job["seconds"]),
    "popular": lambda cfg, job: run_most_popular(cfg),
    "flops": lambda cfg, job: run_flop_estimate(cfg),
}


def child_main(job: dict) -> None:
    """Run one job in this (child) process and print its result as the last stdout line."""
    cfg = SASRecConfig.from_dict(job["config"])
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    print(json.dumps(JOBS[job["kind"]](cfg, job)), flush=True)


# ------------------------------------------------------------------------ the parent


def run_child(kind: str, cfg: SASRecConfig, **extra) -> dict:
    """Run one job in a fresh Python process; its own peak memory is measured there."""
    job = json.dumps({"kind": kind, "config": cfg.to_dict(), **extra})
    done = subprocess.run(
        [sys.executable, __file__, "--child", job], stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarize(runs: list[dict], system: str) -> dict:
    """One row for several seeds: means, standard deviations and min/max of the metrics."""
    row = {k: v for k, v in runs[0].items() if not isinstance(v, (int, float)) or k == "threads"}
    row["system"] = system
    row["seeds"] = [r["seed"] for r in runs]
    for key in ("hr@10", "ndcg@10", "mrr", "coverage", "epochs", "train_s", "s_per_epoch"):
        values = np.array([r[key] for r in runs], dtype=float)
        row[key] = round(float(values.mean()), 4)
        if key in ("hr@10", "ndcg@10"):
            row[f"{key}_std"] = round(float(values.std(ddof=1)) if len(values) > 1 else 0.0, 4)
            row[f"{key}_min_max"] = [float(values.min()), float(values.max())]
            row[f"{key}_per_seed"] = values.tolist()
    for key in ("best_epoch", "train_total_s", "eval_s"):
        if key in runs[0]:
            row[key] = round(float(np.mean([r[key] for r in runs])), 3)
    row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return row


def table(rows: list[dict]) -> str:
    """Markdown table of the rows (missing values left blank)."""
    lines = [
        "| " + " | ".join(name for name, _, _ in TABLE_COLUMNS) + " |",
        "|" + "---|" * len(TABLE_COLUMNS),
    ]
    for row in rows:
        cells = [fmt.format(row[key]) if key in row else "" for _, key, fmt in TABLE_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def benchmark(cfg: SASRecConfig, seeds: list[int], prefix_seconds: float, out: Path) -> None:
    """The three systems and the FLOP estimate; prints JSON lines and the table."""
    load_start = os.getloadavg()
    started = time.perf_counter()
    runs = []
    for seed in seeds:
        runs.append(run_child("sasrec", cfg.replace(seed=seed)))
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    rows = [summarize(runs, "sasrec")]
    if prefix_seconds > 0:
        rows.append(run_child("prefix", cfg.replace(seed=seeds[0]), seconds=prefix_seconds))
    rows.append(run_child("popular", cfg))
    flops = run_child("flops", cfg) if rows[0]["device"] == "cpu" else None
    for row in rows:
        print(json.dumps(row))
    print()
    print(table(rows))
    if flops is not None:
        ratio = rows[0]["s_per_epoch"] / flops["estimate_s_per_epoch"]
        flops["measured_s_per_epoch"] = rows[0]["s_per_epoch"]
        flops["ratio"] = round(ratio, 2)
        print(
            f"\nFLOP estimate: {flops['gflop_per_epoch_total']} GFLOP per epoch "
            f"(fwd+bwd matmuls {flops['gflop_per_epoch']}) at plain-matmul speeds "
            f"{flops['matmul_gflops']} GFLOP/s -> {flops['estimate_s_per_epoch']:.2f} s/epoch; "
            f"measured {rows[0]['s_per_epoch']:.2f} s/epoch: ratio {ratio:.2f} "
            f"(at the 2048^3 matmul speed {flops['square_matmul_gflops']} GFLOP/s: "
            f"{flops['estimate_at_square_speed_s']:.2f} s/epoch)"
        )
    prefix = next((r for r in rows if r["system"] == "sasrec-prefix"), None)
    if prefix is not None:
        time_ratio = prefix["s_per_epoch"] / rows[0]["s_per_epoch"]
        memory_ratio = prefix["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(
            f"per-prefix training (capped at {prefix['capped_at_s']:.0f} s, "
            f"{prefix['epochs']:.2f} epoch done): {time_ratio:.0f}x the seconds per epoch and "
            f"{memory_ratio:.1f}x the peak memory of all-position training"
        )
    load_end = os.getloadavg()
    print(
        f"load average (1 min) {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; "
        f"{os.cpu_count()} CPUs; {time.perf_counter() - started:.0f} s in all"
    )
    report = {
        "dataset": cfg.dataset,
        "protocol": "leave-one-out, full ranking, history masked, test split",
        "systems": rows,
        "per_seed": runs,
        "flop_estimate": flops,
        "config": cfg.to_dict(),
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_avg_start": load_start,
            "load_avg_end": load_end,
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(out, report)
    print(f"wrote {out}")


def sweep(
    cfg: SASRecConfig, groups: list[str], seeds: list[int], epochs: int, log: Path | None
) -> None:
    """Train each variant of the chosen groups for ``seeds``; print a table of seed means."""
    unknown = sorted(set(groups) - set(SWEEP) - {"all"})
    if unknown:
        raise SystemExit(f"unknown sweep group(s) {unknown}; known: {sorted(SWEEP)} or all")
    chosen = list(SWEEP) if "all" in groups else groups
    variants = [v for g in chosen for v in SWEEP[g]]
    base = cfg.replace(epochs=min(cfg.epochs, epochs))
    rows = []
    for variant in variants:
        label = ", ".join(f"{k}={v}" for k, v in variant.items()) or "default"
        runs = [run_child("sasrec", base.replace(**variant, seed=seed)) for seed in seeds]
        rows.append(summarize(runs, label))
        print(json.dumps(rows[-1]), flush=True)
        if log is not None:
            with log.open("a") as stream:
                stream.write(json.dumps({**rows[-1], "variant": variant}) + "\n")
    print()
    print(table(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="seeds of the sasrec runs")
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides, e.g. --set num_threads=1 max_len=100",
    )
    parser.add_argument("--preset", choices=sorted(CONFIGS), help="a named configuration")
    parser.add_argument(
        "--prefix-seconds",
        type=float,
        default=60.0,
        help="training time cap of the per-prefix baseline (0: skip it)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="benchmark JSON")
    parser.add_argument("--sweep", help="comma-separated groups of " + ",".join(SWEEP))
    parser.add_argument("--sweep-seeds", default="0,1,2")
    parser.add_argument("--sweep-epochs", type=int, default=60, help="epoch cap of sweep runs")
    parser.add_argument("--sweep-log", type=Path, help="append each sweep row to this JSONL")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return
    settings = {**CONFIGS.get(args.preset, {}), **parse_overrides(args.set)}
    cfg = SASRecConfig().replace(**settings)
    if args.sweep:
        seeds = [int(s) for s in args.sweep_seeds.split(",")]
        sweep(cfg, args.sweep.split(","), seeds, args.sweep_epochs, args.sweep_log)
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    prefix_seconds = 0.0 if args.preset else args.prefix_seconds
    benchmark(cfg, seeds, prefix_seconds, args.out)


if __name__ == "__main__":
    main()
