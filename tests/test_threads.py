"""One thread rule for every entry point: training, Recommender and benchmarks/latency.py."""

import importlib.util
from pathlib import Path

import pytest
import torch

from sasrec_utils import runtime
from sasrec_utils.serving.recommend import Recommender

LATENCY = Path(__file__).resolve().parents[1] / "benchmarks" / "latency.py"
spec = importlib.util.spec_from_file_location("latency", LATENCY)
latency = importlib.util.module_from_spec(spec)
spec.loader.exec_module(latency)


@pytest.fixture
def two_cores(monkeypatch):
    """A 2-core machine without OMP_NUM_THREADS, torch at its default of 2 threads."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr(runtime, "physical_cores", lambda: 2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_use_threads_applies_the_training_rule(two_cores):
    assert runtime.use_threads(0) == (1, "auto: 2 core(s), one left for the data path")
    assert torch.get_num_threads() == 1
    assert runtime.use_threads(3)[0] == 3 and torch.get_num_threads() == 3


def test_a_recommender_on_cpu_uses_the_rule(two_cores, rec, tmp_path):
    rec.save(tmp_path / "bundle.pt")
    torch.set_num_threads(2)
    Recommender.load(tmp_path / "bundle.pt")
    assert torch.get_num_threads() == 1


def test_latency_uses_the_rule_and_checks_its_arguments_first(two_cores, rec, tmp_path, capsys):
    rec.save(tmp_path / "bundle.pt")
    args = ["--checkpoint", str(tmp_path / "bundle.pt"), "--requests", "3", "--batches", "1"]
    summary = latency.main([*args, "--batch-size", "2"])
    assert summary["threads"] == 1
    assert "torch threads: 1 (auto: 2 core(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        latency.main(["--requests", "0"])
    assert "--requests must be an integer >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        latency.main(["--checkpoint", str(tmp_path / "absent.pt")])
    assert "absent.pt: file not found" in capsys.readouterr().err
