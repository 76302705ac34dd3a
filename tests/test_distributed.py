"""Two processes (torchrun, gloo, CPU) train exactly like one process."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.data.synthetic import synthetic_events
from sasrec_utils.evaluation.ranking import evaluate_model
from sasrec_utils.training.distributed import Context, shard
from sasrec_utils.training.loop import fit

ROOT = Path(__file__).resolve().parent.parent


def test_shards_partition_each_batch_and_weights_restore_the_mean():
    rng = np.random.default_rng(0)
    targets = rng.integers(1, 50, (7, 6)) * (rng.random((7, 6)) < 0.6)  # varied padding
    inputs = np.roll(targets, 1, axis=1)
    values = rng.random((7, 6)) * (targets > 0)  # a per-position loss
    whole = values.sum() / np.count_nonzero(targets)
    parts = [next(shard([(inputs, targets)], Context(rank, 3))) for rank in range(3)]
    rows = sorted(r for rank in range(3) for r in range(rank, 7, 3))
    assert rows == list(range(7))
    # DDP averages the processes' gradients; the weights make that the whole batch's mean
    shares = [
        weight * values[rank::3].sum() / np.count_nonzero(part_targets)
        for rank, (_, part_targets, weight) in enumerate(parts)
    ]
    assert np.mean(shares) == pytest.approx(whole)
    (_, _, weight), *_ = shard([(inputs[:1], targets[:1])], Context(1, 2))
    assert weight == 0.0  # no row for rank 1: it still steps, contributing nothing


@pytest.mark.slow
def test_two_processes_give_the_single_process_metrics(tmp_path):
    files = synthetic_events(tmp_path / "data", seed=1)
    cfg = files.config(
        max_len=8,
        hidden_dim=16,
        n_layers=1,
        n_heads=2,
        dropout=0.0,  # dropout masks depend on each process's share: not comparable
        epochs=3,
        batch_size=32,
        lr=5e-3,
        device="cpu",
        eval_batch_size=64,
    )
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    sasrec = Path(sys.executable).parent / "sasrec"  # the console script of this install
    assert sasrec.exists(), f"{sasrec} missing: install the package (make install)"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "--no-python",
        str(sasrec),
        "train",
        "--config",
        str(tmp_path / "cfg.json"),
        "--out",
        str(tmp_path / "ddp"),
    ]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert report["world_size"] == 2
    assert (tmp_path / "ddp" / "best.pt").exists() and (tmp_path / "ddp" / "last.pt").exists()

    data = prepare_data(cfg)
    single = fit(cfg, data, progress=False)
    test = evaluate_model(single.model, data.split.test, data.split.train, cfg)
    # Same batches, same steps, and the all-reduced gradient is the whole batch's: the runs
    # differ only by float rounding (two partial sums instead of one), ~1e-6 in the loss.
    np.testing.assert_allclose(
        report["history"]["train_loss"], single.history["train_loss"], rtol=1e-4
    )
    assert report["best_epoch"] == single.best_epoch
    # Rankings are then identical unless rounding flips a near-tie: at most one query of
    # the test set may move, i.e. 1 / n_queries in a mean over queries.
    one_query = 1 / len(data.split.test)
    for key in ("hr@5", "hr@10", "ndcg@10", "mrr"):
        assert report["test"][key] == pytest.approx(test[key], abs=one_query), key


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("loss", r"loss became NaN at epoch 1, step 3; "),
        ("validation", r"validation scores became NaN or inf for \d+ of \d+ users after epoch 2 "),
    ],
)
def test_divergence_on_one_process_stops_every_process(tmp_path, where, says):
    """Rank 1 alone gets a NaN loss, or rank 0 alone (the validator) sees infinite scores:
    both processes stop with the same error at the same point, none waits forever."""
    files = synthetic_events(tmp_path / "data", seed=1)
    cfg = files.config(
        max_len=8, hidden_dim=16, n_layers=1, n_heads=2, epochs=3, batch_size=32, device="cpu"
    )
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(ROOT / "tests" / "ddp_divergence.py"),
        str(tmp_path),
        where,
    ]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    outcomes = [(tmp_path / f"rank{rank}.txt").read_text() for rank in (0, 1)]
    assert outcomes[0] == outcomes[1], outcomes
    assert re.match(f"^training stopped: {says}", outcomes[0]), outcomes[0]
    kept = "no checkpoint was written" if where == "loss" else "last.pt (epoch 1) in"
    assert kept in outcomes[0]
