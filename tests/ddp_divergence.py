"""Run by tests/test_distributed.py under torchrun: divergence on one process stops all.

    torchrun --standalone --nproc_per_node=2 tests/ddp_divergence.py OUT loss|validation

``OUT/cfg.json`` holds the config. ``loss``: rank 1 alone gets a NaN loss at its 3rd
step. ``validation``: rank 0's second validation sees infinite scores (rank 0 alone
validates). Each process writes ``OUT/rank<r>.txt``: the error it stopped with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.training import loop as train


def main(out: Path, where: str) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    cfg = SASRecConfig.from_dict(json.loads((out / "cfg.json").read_text()))
    prepared = prepare_data(cfg)
    calls = {"n": 0}
    build_loss, real_evaluate = train.build_loss, train.evaluate_model

    def with_nan_loss_at_step_3(*args):
        real_loss = build_loss(*args)

        def loss(*batch):
            calls["n"] += 1
            value = real_loss(*batch)
            return value * float("nan") if calls["n"] == 3 else value

        return loss

    def infinite_scores_at_validation_2(model, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            with torch.no_grad():
                model.item_emb.weight.mul_(1e38)
        return real_evaluate(model, *args, **kwargs)

    if where == "loss" and rank == 1:
        train.build_loss = with_nan_loss_at_step_3
    if where == "validation" and rank == 0:
        train.evaluate_model = infinite_scores_at_validation_2
    try:
        train.fit(cfg, prepared, out_dir=out / "run", progress=False)
        outcome = "finished"
    except train.TrainingDiverged as error:
        outcome = str(error)
    (out / f"rank{rank}.txt").write_text(outcome)
    # both ranks reach teardown before either closes its connections: gloo aborted rank 0
    # ("terminate called without an active exception") once in CI when rank 1 closed first
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
