"""The ``sasrec`` command: train (alone or under torchrun) and write synthetic logs.

    sasrec train --config cfg.json --out artifacts/run [--set epochs=5 --set loss=gbce]
    torchrun --standalone --nproc_per_node=2 --no-python \\
        sasrec train --config cfg.json --out artifacts/ddp
    sasrec synthetic artifacts/synthetic --preset tiny|mid|retail [--seed N]

``cfg.json`` holds ``SASRecConfig`` fields (e.g. the retail layout's paths), or name a
preset with ``--preset retail``. ``train`` writes ``OUT/best.pt``, ``OUT/last.pt`` and
``OUT/metrics.json`` (history and test metrics). Under torchrun every process trains on
its share of each batch (gloo on CPU, nccl with one GPU per process); rank 0 validates,
tests and writes the files.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from .atomic import atomic_write_json
from .config import SASRecConfig, parse_overrides
from .data.prepared import prepare_data
from .data.synthetic import synthetic_events
from .evaluation.ranking import evaluate_model
from .presets import CONFIGS, LOG_SIZES
from .training import distributed
from .training.checkpoint import CheckpointError
from .training.early_stopping import BEST_VALID_KEY
from .training.failures import TrainingDiverged
from .training.loop import fit


def read_config_file(path: str) -> dict[str, Any]:
    """The ``SASRecConfig`` fields a ``--config`` JSON file holds; ``ValueError`` naming the
    file when it is missing, not JSON, or not one JSON object."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ValueError(
            f"--config {path}: file not found; pass a JSON file of SASRecConfig fields"
        ) from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--config {path} is not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise ValueError(
            f"--config {path} must hold a JSON object of SASRecConfig fields, e.g. "
            f'{{"epochs": 5}}, found a {type(values).__name__}'
        )
    return values


def train_command(args: argparse.Namespace) -> None:
    """Train one model from a config file and/or preset; under torchrun, on every process."""
    values = CONFIGS[args.preset].copy() if args.preset else {}
    if args.config:
        values.update(read_config_file(args.config))
    values.update(parse_overrides(args.set))
    cfg = SASRecConfig.from_dict(values)
    launched = "LOCAL_RANK" in os.environ  # set by torchrun
    if launched:
        use_cuda = cfg.device in ("auto", "cuda") and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
        dist.init_process_group("nccl" if use_cuda else "gloo")
    try:
        ctx = distributed.context()
        prepared = prepare_data(cfg)
        started = time.perf_counter()
        result = fit(cfg, prepared, out_dir=args.out, progress=ctx.is_main)
        seconds = time.perf_counter() - started
        if ctx.is_main:
            split = prepared.split
            test = evaluate_model(
                result.model, split.test, split.train, cfg, result.device, args.test_max_users
            )
            report = {
                "world_size": ctx.world_size,
                "best_epoch": result.best_epoch,
                BEST_VALID_KEY: result.best_valid,
                "fit_seconds": seconds,
                "test": test,
                "history": result.history.to_dict(orient="list"),
            }
            atomic_write_json(Path(args.out) / "metrics.json", report)
            print(json.dumps({k: v for k, v in report.items() if k != "history"}, indent=2))
    finally:
        if launched:
            dist.destroy_process_group()


def synthetic_command(args: argparse.Namespace) -> None:
    """Write a synthetic log in the retail layout and list its files."""
    files = synthetic_events(args.out_dir, seed=args.seed, **LOG_SIZES[args.preset])
    print(
        f"wrote {files.n_events:,} events ({files.n_duplicates:,} duplicates, "
        f"{files.n_unmapped_events:,} of retired offers) for preset {args.preset!r}:"
    )
    for path in [*files.events_paths, files.vocabulary_path, files.embeddings_path]:
        print(f"  {path}  ({path.stat().st_size / 2**20:.1f} MiB)")


def parser() -> argparse.ArgumentParser:
    """The ``sasrec`` argument parser with its ``train`` and ``synthetic`` commands."""
    top = argparse.ArgumentParser(prog="sasrec", description="SASRec training and data tools.")
    commands = top.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model (alone or under torchrun)")
    train.add_argument("--config", help="JSON file of SASRecConfig fields")
    train.add_argument("--preset", choices=sorted(CONFIGS), help="start from a named config")
    train.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    train.add_argument("--out", required=True, help="folder for checkpoints and metrics")
    train.add_argument("--test-max-users", type=int, help="test on the first N users only")
    train.set_defaults(run=train_command)
    synthetic = commands.add_parser("synthetic", help="write a synthetic retail-layout log")
    synthetic.add_argument("out_dir", help="folder for the parquet files")
    synthetic.add_argument("--preset", choices=sorted(LOG_SIZES), default="tiny")
    synthetic.add_argument("--seed", type=int, default=0)
    synthetic.set_defaults(run=synthetic_command)
    return top


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sasrec`` console script."""
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, TrainingDiverged, CheckpointError) as error:  # bad config or run
        raise SystemExit(f"sasrec {args.command}: {error}") from error
    except FileNotFoundError as error:  # our readers' messages name the file
        raise SystemExit(f"sasrec {args.command}: {error}") from error
