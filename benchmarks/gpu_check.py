"""The figures of ``gpu_check.sh`` on a CUDA machine, written to one JSON file.

    python3 benchmarks/gpu_check.py --out reports/gpu_check.json

1. ML-100k, default config, one seed, on CUDA with mixed precision: test NDCG@10/HR@10,
   seconds to the kept epoch, seconds per epoch, peak GPU memory (skipped with a note when
   the data cannot be had: the machine may reach no network; carry ``data/``);
2. the retail preset on the synthetic full-size log: 2% of an epoch timed and extrapolated,
   full-ranking evaluation per 1k users, peak GPU memory.

Without CUDA it prints why and writes ``{"cuda": false, "reason": ...}`` (exit status 0):
the CPU figures are ``make bench`` and ``make bench-scale``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from bench_scale import DEFAULT_DATA, ensure_data, files_in

from sasrec_utils.atomic import atomic_write_json
from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.prepared import PreparedData, prepare_data
from sasrec_utils.data.splits import Split
from sasrec_utils.evaluation.ranking import evaluate_model
from sasrec_utils.presets import CONFIGS, LOG_SIZES
from sasrec_utils.training.loop import fit


def cuda_status() -> tuple[bool, str]:
    """Whether torch sees a CUDA device, and what it is (or why not)."""
    if not torch.cuda.is_available():
        build = torch.version.cuda or "none (a CPU build)"
        return False, f"torch {torch.__version__} sees no CUDA device (its CUDA: {build})"
    return True, torch.cuda.get_device_name(0)


def peak_gpu_gib() -> float:
    return torch.cuda.max_memory_allocated() / 2**30


def ml100k_check() -> dict:
    """The default config on CUDA with AMP, one seed: quality, time, memory."""
    cfg = SASRecConfig(device="cuda", amp=True, seed=100)
    try:
        prepared = prepare_data(cfg)
    except (OSError, RuntimeError) as error:  # no data and no network
        return {"skipped": f"ML-100k unavailable ({error}); carry data/ to run this part"}
    torch.cuda.reset_peak_memory_stats()
    result = fit(cfg, prepared, progress="lines")
    split = prepared.split
    test = evaluate_model(result.model, split.test, split.train, cfg, "cuda")
    return {
        "test_ndcg@10": test["ndcg@10"],
        "test_hr@10": test["hr@10"],
        "best_epoch": result.best_epoch,
        "seconds_to_best": result.seconds_to_best,
        "seconds_per_epoch": float(result.history["train_seconds"].mean()),
        "peak_gpu_gib": peak_gpu_gib(),
    }


def retail_check(folder: Path, fraction: float, eval_users: int) -> dict:
    """The retail preset on CUDA: an epoch estimate from ``fraction`` of it, evaluation."""
    ensure_data(folder, LOG_SIZES["retail"])
    cfg = files_in(folder).config(**{**CONFIGS["retail"], "device": "cuda", "amp": True})
    started = time.perf_counter()
    prepared = prepare_data(cfg)
    load_seconds = time.perf_counter() - started
    split = prepared.split
    generator = torch.Generator().manual_seed(0)
    count = max(1, int(fraction * len(split.train)))
    chosen = torch.randperm(len(split.train), generator=generator)[:count].sort().values
    part = Split(
        split.train.select(chosen.numpy()), split.valid.head(64), split.test.head(64), split.n_items
    )
    torch.cuda.reset_peak_memory_stats()
    result = fit(
        cfg.replace(epochs=1),
        PreparedData(prepared.sequences, part, None, prepared.pretrained),
        progress=False,
    )
    seconds = float(result.history["train_seconds"].iloc[0])
    started = time.perf_counter()
    evaluate_model(result.model, split.valid, split.train, cfg, "cuda", max_users=eval_users)
    torch.cuda.synchronize()
    per_1k = (time.perf_counter() - started) / eval_users * 1000
    return {
        "load_seconds": load_seconds,
        "train_fraction": count / len(split.train),
        "epoch_minutes_estimate": seconds / (count / len(split.train)) / 60,
        "eval_seconds_per_1k_users": per_1k,
        "eval_all_users_minutes_estimate": per_1k * len(split.valid) / 1000 / 60,
        "peak_gpu_gib": peak_gpu_gib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/gpu_check.json"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--fraction", type=float, default=0.02)
    parser.add_argument("--eval-users", type=int, default=5000)
    args = parser.parse_args()
    cuda, what = cuda_status()
    report = {"cuda": cuda, "torch": torch.__version__}
    if not cuda:
        print(
            f"gpu_check: no CUDA: {what}. Nothing to measure here; the CPU figures are "
            "`make bench` and `make bench-scale`."
        )
        report["reason"] = what
    else:
        print(f"gpu_check: {what}")
        report["device"] = what
        report["ml100k"] = ml100k_check()
        print(json.dumps(report["ml100k"], indent=1), flush=True)
        report["retail"] = retail_check(args.data, args.fraction, args.eval_users)
        print(json.dumps(report["retail"], indent=1), flush=True)
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
