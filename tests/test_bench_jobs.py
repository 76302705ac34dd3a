"""The benchmark's job list: which trainings `make bench-beauty` asks for, and in what order."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench

from sasrec_utils.config import SASRecConfig


def test_the_jobs_are_baselines_selection_held_out_then_bce_only_when_asked():
    cfg = SASRecConfig().replace(loss="ce", lr=5e-4)
    with_bce = bench.benchmark_jobs(cfg, (0, 1), (100, 101, 102), ("markov",), True)
    without = bench.benchmark_jobs(cfg, (0, 1), (100, 101, 102), ("markov",), False)
    assert [(kind, extra.get("role"), c.seed) for kind, c, extra in with_bce] == [
        ("baselines", None, cfg.seed),
        ("sasrec", "selection", 0),
        ("sasrec", "selection", 1),
        ("sasrec", "held-out", 100),
        ("sasrec", "held-out", 101),
        ("sasrec", "held-out", 102),
        ("sasrec", "held-out", 100),
        ("sasrec", "held-out", 101),
        ("sasrec", "held-out", 102),
    ]
    assert with_bce[0][2] == {"only": ["markov"]}
    assert [c.refit_on_valid for _, c, _ in with_bce[1:]] == [False] * 2 + [True] * 3 + [False] * 3
    bce = with_bce[-3:]
    assert all(c.replace(loss="ce", seed=cfg.seed) == cfg for _, c, _ in bce)  # only the loss
    assert all(c.loss == "bce" for _, c, _ in bce)
    assert without == with_bce[:-3]  # the same jobs, so their logged runs are read back


def test_without_bce_reaches_the_benchmark(monkeypatch):
    calls = []
    monkeypatch.setattr(bench, "benchmark", lambda *args: calls.append(args))
    bench.main(["--preset", "shopping", "--without-bce"])
    bench.main(["--preset", "shopping"])
    assert [args[-1] for args in calls] == [False, True]  # with_bce
