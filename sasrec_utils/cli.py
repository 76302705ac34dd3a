"""The ``sasrec`` command: train (alone or under torchrun) and write synthetic logs.

    sasrec train --config cfg.json --out artifacts/run [--set epochs=5 --set loss=gbce]
    torchrun --standalone --nproc_per_node=2 --no-python \\
        sasrec train --config cfg.json --out artifacts/ddp
    sasrec synthetic artifacts/synthetic --preset tiny|mid|retail [--seed N]

``cfg.json`` holds ``SASRecConfig`` fields (e.g. the retail layout's paths), or name a
preset with ``--preset retail``. ``train`` trains the final model the config describes
(``train_final``) and writes ``OUT/best.pt``, ``OUT/last.pt`` (the run that chose the
epochs on validation), ``OUT/final.pt`` (with ``refit_on_valid``: the refit, which is
tested) and ``OUT/metrics.json`` (history and test metrics). Every argument is checked
before any work (``cli_checks``); ``OUT`` must not hold an earlier run's files. Under
torchrun every process trains on its share of each batch (gloo on CPU, nccl with one GPU
per process); rank 0 validates, tests and writes the files.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist

from . import cli_checks
from .atomic import atomic_write_json
from .config import SASRecConfig, parse_overrides
from .data.prepared import PreparedData, prepare_data
from .data.synthetic import synthetic_events
from .evaluation.ranking import evaluate_model
from .presets import CONFIGS, LOG_SIZES
from .training import distributed
from .training.checkpoint import CheckpointError
from .training.early_stopping import BEST_VALID_KEY
from .training.failures import TrainingDiverged
from .training.final_model import FinalModel, train_final

TRAIN_FILES = ("best.pt", "last.pt", "final.pt", "metrics.json")
SYNTHETIC_FILES = (
    "events_retail.parquet",
    "events_marketplace.parquet",
    "item_vocabulary.parquet",
    "item_embeddings.parquet",
)


def train_config(args: argparse.Namespace) -> SASRecConfig:
    """The run's config from ``--preset``, ``--config`` and ``--set``, after checking every
    argument (nothing is read but the config file, nothing written)."""
    cli_checks.at_least("--test-max-users", args.test_max_users, 1)
    cli_checks.output_folder("--out", args.out, TRAIN_FILES)
    values = CONFIGS[args.preset].copy() if args.preset else {}
    if args.config:
        values.update(cli_checks.read_config_file(args.config))
    values.update(parse_overrides(args.set))
    return SASRecConfig.from_dict(values)


def train_command(args: argparse.Namespace) -> None:
    """Train the final model the config describes (``refit_on_valid``: also the refit, in
    ``final.pt``), test it, write ``metrics.json``; under torchrun, on every process."""
    cfg = train_config(args)
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
        final = train_final(cfg, prepared, out_dir=args.out, progress=ctx.is_main)
        seconds = time.perf_counter() - started
        if ctx.is_main:
            write_report(args, cfg, prepared, final, ctx.world_size, seconds)
        if launched:  # no rank closes its connections while rank 0 still writes the report
            dist.barrier()
    finally:
        if launched:
            dist.destroy_process_group()


def write_report(
    args: argparse.Namespace,
    cfg: SASRecConfig,
    prepared: PreparedData,
    final: FinalModel,
    world_size: int,
    seconds: float,
) -> None:
    """Test the final model and write ``OUT/metrics.json`` (and print it, history aside)."""
    split, selected = prepared.split, final.selected
    device = selected.device
    test = evaluate_model(final.model, split.test, split.train, cfg, device, args.test_max_users)
    report = {
        "world_size": world_size,
        "best_epoch": selected.best_epoch,
        BEST_VALID_KEY: selected.best_valid,
        "tested": "final.pt" if final.refitted is not None else "best.pt",
        "refit_on_valid": cfg.refit_on_valid,
        "fit_seconds": seconds,
        "test": test,
        "history": selected.history.to_dict(orient="list"),
    }
    atomic_write_json(Path(args.out) / "metrics.json", report)
    print(json.dumps({k: v for k, v in report.items() if k != "history"}, indent=2))


def synthetic_command(args: argparse.Namespace) -> None:
    """Write a synthetic log in the retail layout and list its files."""
    cli_checks.at_least("--seed", args.seed, 0)
    cli_checks.output_folder("out_dir", args.out_dir, SYNTHETIC_FILES)
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
    except OSError as error:  # our readers' messages name the file; OSError's its path
        raise SystemExit(f"sasrec {args.command}: {error}") from error
