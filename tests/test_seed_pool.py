"""Seeds trained side by side (``report.seed_pool``): when, on how many threads, same runs."""

import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.report import artifacts, seed_pool
from sasrec_utils.runtime import peak_memory
from tests.conftest import cycle_events


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(seed_pool, "physical_cores", lambda: 2)


def test_up_to_two_processes_per_core_and_no_more_than_the_seeds(two_cores):
    cfg = SASRecConfig(device="cpu")
    assert seed_pool.seed_processes(cfg, 3) == 3
    assert seed_pool.seed_processes(cfg, 5) == 4
    assert seed_pool.seed_processes(cfg, 1) == 1
    assert seed_pool.threads_per_process(3) == 1  # 2 cores: one thread each


def test_a_single_core_trains_the_seeds_in_turn(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(seed_pool, "physical_cores", lambda: 1)
    assert seed_pool.seed_processes(SASRecConfig(device="cpu"), 3) == 1


def test_threads_fixed_by_hand_keep_the_seeds_in_turn(two_cores, monkeypatch):
    assert seed_pool.seed_processes(SASRecConfig(device="cpu", num_threads=2), 3) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert seed_pool.seed_processes(SASRecConfig(device="cpu"), 3) == 1


def test_a_large_machine_shares_its_cores_out(monkeypatch):
    monkeypatch.setattr(seed_pool, "physical_cores", lambda: 16)
    assert seed_pool.threads_per_process(3) == 4  # (16 - 3) // 3: a core each for data


def test_side_by_side_trains_the_same_models_as_in_turn(tmp_path, monkeypatch, capsys):
    events = tmp_path / "events.parquet"
    cycle_events(n_users=30, n_items=15, length=10).to_parquet(events)
    cfg = SASRecConfig(
        dataset="events",
        events_paths=[str(events)],
        max_len=6,
        hidden_dim=8,
        n_heads=1,
        n_layers=1,
        epochs=2,
        batch_size=8,
        device="cpu",
    )
    prepared = prepare_data(cfg)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # in turn, on one thread (checked above)
    torch.set_num_threads(1)
    in_turn = artifacts.train_seeds(tmp_path / "a", cfg, prepared, [5, 6], progress=False)
    monkeypatch.setattr(artifacts, "seed_processes", lambda cfg, n: 2)
    monkeypatch.setattr(artifacts, "threads_per_process", lambda processes: 1)
    side = artifacts.train_seeds(tmp_path / "b", cfg, prepared, [5, 6], progress="lines")
    for seed in (5, 6):
        assert side[seed].selected.best_valid == in_turn[seed].selected.best_valid
        weights, expected = side[seed].model.state_dict(), in_turn[seed].model.state_dict()
        assert all(torch.equal(weights[name], expected[name]) for name in expected)
        assert (tmp_path / "b" / f"seed-{seed}" / "best.pt").exists()
        log = (tmp_path / "b" / f"seed-{seed}" / seed_pool.SEED_LOG_FILE).read_text()
        assert "epoch 2/2" in log
    printed = capsys.readouterr().out
    assert printed.index("== seed 5") < printed.index("== seed 6")  # each seed's lines, in order
    assert peak_memory("cpu")["MiB"] > 0
