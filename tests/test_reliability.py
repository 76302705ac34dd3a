"""Bad input, faults and safety: every failure is clear and nothing on disk is lost."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sasrec_utils import atomic as io_module
from sasrec_utils import runtime
from sasrec_utils.atomic import atomic_write_text
from sasrec_utils.config import SASRecConfig
from sasrec_utils.data import batches as batches_module
from sasrec_utils.data import movielens as data_module
from sasrec_utils.data.event_files import load_event_parquets
from sasrec_utils.data.movielens import load_ml100k
from sasrec_utils.data.prepared import PreparedData, load_sequences, save_sequences
from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.serving import coherence
from sasrec_utils.serving.recommend import Recommender
from sasrec_utils.training import loop as train_module
from sasrec_utils.training.checkpoint import load_checkpoint
from sasrec_utils.training.failures import TrainingDiverged
from sasrec_utils.training.loop import fit

from .conftest import cycle_events

PACKAGE = Path(__file__).resolve().parents[1] / "sasrec_utils"


def write_events(path: Path, **columns) -> Path:
    base = {"user_id": [1, 1, 2, 2], "item_id": [10, 11, 10, 12], "timestamp": [1, 2, 1, 2]}
    pd.DataFrame({**base, **columns}).to_parquet(path)
    return path


# ------------------------------------------------------------------ bad data


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_event_parquets(tmp_path / "nope.parquet")
    (tmp_path / "empty.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_event_parquets(tmp_path / "empty.parquet")
    (tmp_path / "text.parquet").write_text("user_id,item_id\n1,2\n")
    with pytest.raises(ValueError, match="not a readable parquet"):
        load_event_parquets(tmp_path / "text.parquet")
    pd.DataFrame({"user_id": [], "item_id": [], "timestamp": []}).to_parquet(
        tmp_path / "rows0.parquet"
    )
    with pytest.raises(ValueError, match="no rows"):
        load_event_parquets(tmp_path / "rows0.parquet")


def test_wrong_columns_say_which_and_what_was_found(tmp_path):
    pd.DataFrame({"user": [1], "item_id": [2], "ts": [3]}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(ValueError) as error:
        load_event_parquets(tmp_path / "e.parquet")
    message = str(error.value)
    assert "['user_id', 'timestamp']" in message and "'user'" in message and "'ts'" in message


@pytest.mark.parametrize("bad", [["a", "b", "3", "4"], [1.0, np.nan, 3.0, 4.0]])
def test_non_numeric_or_nan_timestamps(tmp_path, bad):
    path = write_events(tmp_path / "e.parquet", timestamp=bad)
    with pytest.raises(ValueError, match="timestamp"):
        load_event_parquets(path)


def test_datetime_timestamps_are_accepted(tmp_path):
    stamps = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"])
    log = load_event_parquets(write_events(tmp_path / "e.parquet", timestamp=stamps))
    assert log.events["timestamp"].is_monotonic_increasing is False
    assert log.events["timestamp"].dtype == np.int64


def test_duplicates_and_single_event_users_are_counted(tmp_path, caplog):
    events = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 3],
            "item_id": [10, 10, 11, 10, 12],
            "timestamp": [1, 1, 2, 5, 6],
        }
    )
    events.to_parquet(tmp_path / "e.parquet")
    with caplog.at_level(logging.WARNING):
        log = load_event_parquets(tmp_path / "e.parquet")
        data = build_sequences(log.events)
    assert log.dropped["duplicate_events"] == 1
    assert data.dropped_users == 2 and data.n_users == 1
    assert "dropped 2 users with fewer than 2 events" in caplog.text
    assert "dropped 1 duplicate events" in caplog.text


def test_items_outside_vocabulary_are_dropped_not_fatal(tmp_path):
    path = write_events(tmp_path / "e.parquet")
    pd.DataFrame({"item_id": [10, 11], "index": [0, 1]}).to_parquet(tmp_path / "v.parquet")
    log = load_event_parquets(path, tmp_path / "v.parquet")
    assert log.dropped["unmapped_events"] == 1 and len(log.events) == 3
    pd.DataFrame({"item_id": [99], "index": [0]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="vocabulary belongs"):
        load_event_parquets(path, tmp_path / "other.parquet")


def test_no_network_and_no_registry_gives_instructions(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network unreachable")

    def pip_fails(*args, **kwargs):
        raise subprocess.CalledProcessError(1, "pip download")

    monkeypatch.setattr(data_module.urllib.request, "urlopen", refuse)
    monkeypatch.setattr(data_module.subprocess, "run", pip_fails)
    with pytest.raises(RuntimeError) as error:
        load_ml100k(tmp_path)
    assert "ml-100k.zip" in str(error.value) and str(tmp_path) in str(error.value)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_tampered_wheel_is_refused_and_deleted(tmp_path, monkeypatch):
    """The offline fallback checks the wheel's sha256 before reading it."""

    def refuse(*args, **kwargs):
        raise OSError("network unreachable")

    def fake_pip(command, **kwargs):
        target = Path(command[command.index("-d") + 1]) / data_module.RECBOLE_WHEEL
        target.write_bytes(b"not the real wheel")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(data_module.urllib.request, "urlopen", refuse)
    monkeypatch.setattr(data_module.subprocess, "run", fake_pip)
    with pytest.raises(data_module.ChecksumError, match="sha256"):
        load_ml100k(tmp_path)
    assert not (tmp_path / "ml-100k-recbole" / "ml-100k.inter").exists()


# ------------------------------------------------------------------ bad parameters


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("epochs", "ten", "epochs must be an integer >= 1, got 'ten'"),
        ("lr", "0.001", "lr must be a number > 0"),
        ("dropout", 1.5, "dropout must be a number in [0.0, 1.0)"),
        ("max_len", 1, "max_len must be an integer >= 2"),
        ("loss", "mse", "loss must be one of"),
    ],
)
def test_parameters_of_wrong_type_or_range(field, value, says):
    """Notebook parameters go through SASRecConfig, so papermill strings fail clearly."""
    with pytest.raises(ValueError, match=re.escape(says)):
        SASRecConfig(**{field: value})


# ------------------------------------------------------------------ faults


@pytest.fixture(scope="module")
def small_split():
    data = build_sequences(cycle_events(n_users=40, n_items=15, length=12))
    return data, leave_one_out_split(data)


def small_cfg(**changes) -> SASRecConfig:
    base = dict(
        max_len=8,
        hidden_dim=16,
        n_layers=1,
        n_heads=1,
        dropout=0.1,
        epochs=5,
        batch_size=8,
        device="cpu",
        patience=10,
    )
    return SASRecConfig(**{**base, **changes})


def test_interrupt_keeps_best_checkpoint_and_resume_finishes(small_split, tmp_path, monkeypatch):
    data, split = small_split
    cfg = small_cfg()
    real_batches = batches_module.training_batches
    calls = {"n": 0}

    def interrupt_in_epoch_3(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_batches(*args, **kwargs)

    monkeypatch.setattr(batches_module, "training_batches", interrupt_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, PreparedData(data, split), out_dir=tmp_path, progress=False)
    best_before = (tmp_path / "best.pt").read_bytes()
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 2
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] in (1, 2)
    monkeypatch.setattr(batches_module, "training_batches", real_batches)
    resumed = fit(cfg, PreparedData(data, split), out_dir=tmp_path, resume=True, progress=False)
    assert resumed.history["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 5
    if resumed.best_epoch <= 2:  # no better epoch later: best.pt untouched
        assert (tmp_path / "best.pt").read_bytes() == best_before


def test_resume_with_another_config_is_refused(small_split, tmp_path):
    data, split = small_split
    fit(small_cfg(epochs=1), PreparedData(data, split), out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="different config"):
        fit(
            small_cfg(epochs=1, hidden_dim=8),
            PreparedData(data, split),
            out_dir=tmp_path,
            resume=True,
            progress=False,
        )


def test_crash_mid_write_leaves_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(io_module.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new and longer")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left


def test_crash_while_saving_checkpoint_keeps_old_one(small_split, tmp_path, monkeypatch):
    data, split = small_split
    fit(small_cfg(epochs=1), PreparedData(data, split), out_dir=tmp_path, progress=False)
    before = (tmp_path / "best.pt").read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("killed while writing")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(RuntimeError, match="killed"):
        fit(small_cfg(epochs=1), PreparedData(data, split), out_dir=tmp_path, progress=False)
    assert (tmp_path / "best.pt").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]


def test_out_of_memory_suggests_smaller_batch(small_split, monkeypatch):
    data, split = small_split

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")

    monkeypatch.setattr(train_module, "build_loss", lambda *args: oom)  # the loop's loss
    with pytest.raises(RuntimeError, match="lower batch_size or max_len"):
        fit(small_cfg(epochs=1), PreparedData(data, split), progress=False)


def test_prepared_data_keeps_mixed_int_and_str_ids(tmp_path):
    events = cycle_events(n_users=4, n_items=3, length=3)
    events["item_id"] = events["item_id"].map({1: 7003, 2: "sku-2", 3: 18}).astype(object)
    events["user_id"] = events["user_id"].map(lambda u: f"u{u}" if u % 2 else u).astype(object)
    data = build_sequences(events)
    loaded = load_sequences(save_sequences(tmp_path / "seq.npz", data))
    assert loaded.item_ids.tolist() == data.item_ids.tolist()
    assert [type(v) for v in loaded.item_ids] == [type(v) for v in data.item_ids]
    assert sorted(map(str, loaded.user_ids)) == ["0", "2", "u1", "u3"]
    assert {type(v) for v in loaded.user_ids} == {int, str}


def test_prepared_data_round_trip_and_missing_file(tmp_path):
    data = build_sequences(cycle_events(n_users=5, n_items=4, length=3))
    loaded = load_sequences(save_sequences(tmp_path / "seq.npz", data))
    np.testing.assert_array_equal(loaded.sequences.items, data.sequences.items)
    np.testing.assert_array_equal(loaded.item_ids, data.item_ids)
    with pytest.raises(FileNotFoundError, match="first notebook"):
        load_sequences(tmp_path / "missing.npz")


# ------------------------------------------------------------------ safety


def test_no_unsafe_deserialisation_in_the_package():
    for path in PACKAGE.rglob("*.py"):  # the subpackages too
        source = path.read_text()
        for call in re.findall(r"torch\.load\([^)]*\)", source):
            assert "weights_only=True" in call, f"{path.name}: {call}"
        unsafe = r"import pickle|pickle\.loads?\(|(?<![\w.])eval\(|exec\(|allow_pickle=True"
        assert not re.search(unsafe, source), path.name


# ------------------------------------------------------------------ divergence


def test_a_diverging_lr_stops_training_and_keeps_the_good_checkpoints(
    small_split, tmp_path, monkeypatch
):
    """From epoch 3 the learning rate is 1e8 (a schedule gone wrong): the run must stop
    at the first NaN loss, naming where, and leave the epoch-2 files byte for byte."""
    data, split = small_split
    real_epoch = train_module.train_epoch
    files = {}

    def lr_explodes_in_epoch_3(cfg, parts, loss_fn, split, rng, device, ctx, epoch):
        if epoch == 3:
            files.update({name: (tmp_path / name).read_bytes() for name in ("best.pt", "last.pt")})
            parts.optimizer.param_groups[0]["lr"] = 1e8
        return real_epoch(cfg, parts, loss_fn, split, rng, device, ctx, epoch)

    monkeypatch.setattr(train_module, "train_epoch", lr_explodes_in_epoch_3)
    with pytest.raises(TrainingDiverged) as error:
        fit(small_cfg(dropout=0.0), PreparedData(data, split), out_dir=tmp_path, progress=False)
    best_epoch = load_checkpoint(tmp_path / "best.pt")["epoch"]
    assert str(error.value) == (
        "training stopped: loss became NaN at epoch 3, step 2; the weights diverged: lower lr "
        f"(now 0.001; try 0.0001); best.pt (epoch {best_epoch}) and last.pt (epoch 2) in "
        f"{tmp_path} were left as they were"
    )
    assert {name: (tmp_path / name).read_bytes() for name in files} == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
    assert len(Recommender.load(tmp_path / "best.pt").recommend([1, 2], k=10)) == 10


def test_lr_1e8_from_the_start_writes_nothing(small_split, tmp_path):
    data, split = small_split
    with pytest.raises(TrainingDiverged, match=r"^training stopped: loss became NaN at epoch 1, "):
        fit(small_cfg(lr=1e8), PreparedData(data, split), out_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


class NanGradient(torch.autograd.Function):
    """The identity forward, NaN gradients backward: finite loss, diverged weights."""

    @staticmethod
    def forward(ctx, loss):
        return loss.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


def test_weights_diverged_by_an_epochs_last_step_stop_training(small_split, tmp_path, monkeypatch):
    data, split = small_split
    build_loss, calls = train_module.build_loss, {"n": 0}

    def with_nan_gradient_at_step_2(*args):
        real_loss = build_loss(*args)

        def loss(*batch):
            calls["n"] += 1
            value = real_loss(*batch)
            return NanGradient.apply(value) if calls["n"] == 2 else value

        return loss

    monkeypatch.setattr(train_module, "build_loss", with_nan_gradient_at_step_2)
    cfg = small_cfg(batch_size=64, eval_every=5)  # one step per epoch, no validation due
    with pytest.raises(TrainingDiverged) as error:
        fit(cfg, PreparedData(data, split), out_dir=tmp_path, progress=False)
    assert str(error.value).startswith(
        "training stopped: weights (item_emb.weight, pos_emb.weight, blocks.0.ln_attn.weight) "
        "became NaN or inf at epoch 2, step 1;"
    )
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    assert not (tmp_path / "best.pt").exists()  # no validation was due yet


def test_nan_validation_scores_stop_training_before_the_best_update(
    small_split, tmp_path, monkeypatch
):
    data, split = small_split
    real_evaluate = train_module.evaluate_model
    calls, files = {"n": 0}, {}

    def scores_overflow_at_validation_3(model, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            files.update({name: (tmp_path / name).read_bytes() for name in ("best.pt", "last.pt")})
            with torch.no_grad():
                model.item_emb.weight.mul_(1e38)  # finite weights, infinite scores
        return real_evaluate(model, *args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_model", scores_overflow_at_validation_3)
    with pytest.raises(TrainingDiverged) as error, pytest.warns(RuntimeWarning, match="NaN"):
        fit(small_cfg(), PreparedData(data, split), out_dir=tmp_path, progress=False)
    n = len(split.valid)
    assert str(error.value).startswith(
        f"training stopped: validation scores became NaN or inf for {n} of {n} users after "
        "epoch 3 (its last step);"
    )
    assert {name: (tmp_path / name).read_bytes() for name in files} == files
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 2


# ------------------------------------------------------------------ second round (issue 22)


def test_calibrate_without_sessions_names_what_is_missing(rec):
    with pytest.raises(ValueError, match=r"calibrate needs at least one real session; got 0"):
        coherence.calibrate(rec, [], [[101, 102]])
    with pytest.raises(ValueError, match=r"calibrate needs at least one random session; got 0"):
        coherence.calibrate(rec, [[101, 102]], [])


@pytest.mark.parametrize(
    ("num_threads", "omp", "cores", "expected", "why"),
    [
        (0, None, 2, 1, "auto: 2 core(s), one left for the data path"),
        (0, None, 8, 7, "auto: 8 core(s), one left for the data path"),
        (0, None, 1, 1, "auto: 1 core(s), one left for the data path"),
        (0, "3", 8, 3, "OMP_NUM_THREADS=3"),
        (2, "3", 8, 2, "num_threads=2"),
    ],
)
def test_the_thread_count_comes_from_the_machine_unless_set(
    monkeypatch, num_threads, omp, cores, expected, why
):
    monkeypatch.setattr(runtime, "physical_cores", lambda: cores)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
        monkeypatch.setattr(torch, "get_num_threads", lambda: int(omp))  # as torch read it
    assert runtime.training_threads(num_threads) == (expected, why)


def test_processes_of_one_machine_share_its_cores(monkeypatch):
    monkeypatch.setattr(runtime, "physical_cores", lambda: 9)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # torchrun, two processes here
    why = "auto: 9 core(s), one left for the data path, shared by 2 processes"
    assert runtime.training_threads(0) == (4, why)


def test_the_first_line_says_threads_and_where_checkpoints_go(small_split, tmp_path, capsys):
    data, split = small_split
    before = torch.get_num_threads()
    try:
        fit(small_cfg(epochs=1, num_threads=1), PreparedData(data, split), progress="lines")
        first = capsys.readouterr().out.splitlines()[0]
        assert first.startswith("training on cpu with 1 CPU thread (num_threads=1); ")
        assert "no checkpoint is kept (out_dir=None)" in first and "pass out_dir" in first
        fit(small_cfg(epochs=1), PreparedData(data, split), tmp_path, progress="lines")
        first = capsys.readouterr().out.splitlines()[0]
        assert f"checkpoints in {tmp_path}" in first
    finally:
        torch.set_num_threads(before)
