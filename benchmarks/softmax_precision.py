"""Seconds per training step with the full softmax's products in float32 and in bfloat16.

    SASREC_DATA_DIR=../shared/data .venv/bin/python benchmarks/softmax_precision.py \\
        --preset shopping --set dataset=amazon-beauty

The same batches (the first ``--batches`` of one epoch) are trained with each
``softmax_dtype`` in turn, ``--rounds`` times alternating, so a change in the machine's
load falls on both; one torch thread (the benchmarks' setting), the load average printed
before and after. A step is the whole of one: the model, the fused cross-entropy with its
gradient, the backward pass and AdamW. Prints a table and one JSON line. The quality of
the two precisions is measured by training (``benchmarks/README.md``), not here.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from sasrec_utils.config import SASRecConfig, parse_overrides
from sasrec_utils.data.batches import epoch_batches
from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.data.splits import Split
from sasrec_utils.model.losses import build_loss
from sasrec_utils.presets import preset_config
from sasrec_utils.training import distributed
from sasrec_utils.training.optimizers import build_training

PRECISIONS = ("float32", "bfloat16")


def step_seconds(
    cfg: SASRecConfig,
    split: Split,
    batches: list[tuple[np.ndarray, np.ndarray]],
    device: torch.device,
) -> float:
    """Mean seconds of one training step over ``batches`` ((B, L) inputs and targets)."""
    torch.manual_seed(cfg.seed)
    parts = build_training(cfg, split, device, distributed.Context())
    loss_fn = build_loss(cfg, split, device)
    parts.model.train()
    started = time.perf_counter()
    for inputs, targets in batches:
        loss = loss_fn(parts.train_model, torch.from_numpy(inputs), torch.from_numpy(targets))
        parts.zero_grad()
        loss.backward()
        parts.step(cfg.grad_clip)
    return (time.perf_counter() - started) / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="shopping")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = preset_config(args.preset, **parse_overrides(args.set), device="cpu", num_threads=1)
    # before any work: the config refuses bfloat16 beside a loss other than the full softmax
    configs = {name: cfg.replace(softmax_dtype=name) for name in PRECISIONS}
    split = prepare_data(cfg).split
    rng = np.random.default_rng(cfg.seed)
    batches = list(epoch_batches(cfg, split.train, rng))[: args.batches]
    load_before = os.getloadavg()[0]
    seconds: dict[str, list[float]] = {name: [] for name in PRECISIONS}
    for _ in range(args.rounds):
        for name, run_cfg in configs.items():
            seconds[name].append(step_seconds(run_cfg, split, batches, torch.device("cpu")))
    load_after = os.getloadavg()[0]
    best = {name: min(values) for name, values in seconds.items()}
    print(
        f"{len(batches)} steps x {args.rounds} rounds, {split.n_items:,} items, 1 thread, "
        f"load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print("| softmax products | ms per step (best round) | every round |")
    print("| --- | --- | --- |")
    for name in PRECISIONS:
        rounds = " / ".join(f"{1000 * value:.1f}" for value in seconds[name])
        print(f"| {name} | {1000 * best[name]:.1f} | {rounds} |")
    ratio = best["float32"] / best["bfloat16"]
    print(f"float32 / bfloat16: {ratio:.2f}x per step")
    print(
        json.dumps(
            {
                "preset": args.preset,
                "changes": args.set,
                "steps": len(batches),
                "ms_per_step": {name: round(1000 * best[name], 2) for name in PRECISIONS},
                "ratio": round(ratio, 3),
                "load_average": [load_before, load_after],
            }
        )
    )


if __name__ == "__main__":
    main()
