"""The benchmark's run log: resumes with the same code, never reuses another code's runs."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench
from ml100k_jobs import model_file
from run_log import RunLog, compute_fingerprint, job_key

from sasrec_utils.config import SASRecConfig
from sasrec_utils.presets import (
    CONFIGS,
    SHOPPING_ABLATIONS,
    SHOPPING_LADDER,
    ablation_configs,
    ladder_configs,
)


def test_a_logged_job_is_read_back_only_by_the_same_code(tmp_path):
    path = tmp_path / "runs.jsonl"
    key = job_key("sasrec", {"seed": 100, "lr": 5e-4}, {"role": "held-out"})
    RunLog(path, fingerprint="code-a").add(key, [{"ndcg@10": 0.0606}])
    same, other = RunLog(path, fingerprint="code-a"), RunLog(path, fingerprint="code-b")
    assert same.get(key) == [{"ndcg@10": 0.0606}] and len(same) == 1 and same.stale == 0
    assert other.get(key) is None and other.stale == 1
    # the key is canonical: the same job written in another order is the same job
    assert job_key("sasrec", {"lr": 5e-4, "seed": 100}, {"role": "held-out"}) == key
    assert same.get(job_key("sasrec", {"seed": 101, "lr": 5e-4}, {"role": "held-out"})) is None


def test_a_line_cut_short_by_a_crash_is_skipped_and_the_next_run_starts_a_new_line(
    tmp_path, capsys
):
    path = tmp_path / "runs.jsonl"
    first, second = job_key("sasrec", {"seed": 1}, {}), job_key("sasrec", {"seed": 2}, {})
    RunLog(path, fingerprint="c").add(first, {"ndcg@10": 0.05})
    with path.open("a") as stream:
        stream.write('{"job": "cut short')  # a crash mid-line
    log = RunLog(path, fingerprint="c")
    assert "line 2 was cut short" in capsys.readouterr().err
    assert log.get(first) == {"ndcg@10": 0.05} and len(log) == 1
    log.add(second, {"ndcg@10": 0.06})
    reread = RunLog(path, fingerprint="c")
    assert reread.get(first) == {"ndcg@10": 0.05} and reread.get(second) == {"ndcg@10": 0.06}
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["result"] == {"ndcg@10": 0.06}


def test_the_fingerprint_follows_the_training_code_and_ignores_the_rest(tmp_path):
    for source in ("sasrec_utils/model/sasrec.py", "sasrec_utils/report/plots.py"):
        (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / source).write_text("x = 1\n")
    for source in ("config.py", "runtime.py"):
        (tmp_path / "sasrec_utils" / source).write_text("")
    for folder in ("data", "training", "evaluation"):
        (tmp_path / "sasrec_utils" / folder).mkdir()
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "ml100k_jobs.py").write_text("")
    before = compute_fingerprint(tmp_path)
    (tmp_path / "sasrec_utils/report/plots.py").write_text("x = 2\n")
    assert compute_fingerprint(tmp_path) == before  # a figure's code trains nothing
    (tmp_path / "sasrec_utils/model/sasrec.py").write_text("x = 2\n")
    assert compute_fingerprint(tmp_path) != before


def test_the_real_fingerprint_reads_every_compute_source():
    assert len(compute_fingerprint()) == 64
    with pytest.raises(FileNotFoundError):
        compute_fingerprint(Path("/nonexistent"))


def test_run_children_runs_only_the_jobs_the_log_lacks_and_logs_each(tmp_path, monkeypatch):
    ran = []

    def fake_child(kind, cfg, **extra):
        ran.append(cfg.seed)
        return [{"seed": cfg.seed, "ndcg@10": cfg.seed / 1000}]

    monkeypatch.setattr(bench, "run_child", fake_child)
    jobs = bench.sasrec_jobs(SASRecConfig(), (100, 101, 102), "held-out", save_models=False)
    assert all(extra["models"] is None for _, _, extra in jobs)  # the ladder saves no weights
    log = RunLog(tmp_path / "runs.jsonl", fingerprint="c")
    kind, cfg, extra = jobs[1]
    log.add(job_key(kind, cfg.to_dict(), extra), [{"seed": 101, "ndcg@10": 0.5}])
    results = bench.run_children(jobs, 1, log)
    assert ran == [100, 102]  # seed 101 read back, not trained
    assert [rows[0]["ndcg@10"] for rows in results] == [0.1, 0.5, 0.102]  # in job order
    assert len(RunLog(tmp_path / "runs.jsonl", fingerprint="c")) == 3


def test_a_logged_job_that_saves_weights_is_read_back_only_while_they_are_on_disk(
    tmp_path, monkeypatch
):
    ran = []

    def fake_child(kind, cfg, **extra):
        ran.append(cfg.seed)
        return [{"seed": cfg.seed, "ndcg@10": 0.06}]

    monkeypatch.setattr(bench, "run_child", fake_child)
    monkeypatch.setattr(bench, "MODELS", tmp_path / "models")
    refit = SASRecConfig(refit_on_valid=True)
    jobs = bench.sasrec_jobs(refit, (100,), "held-out")  # saves the model and its refit
    log = RunLog(tmp_path / "runs.jsonl", fingerprint="c")
    bench.run_children(jobs, 1, log)
    (tmp_path / "models").mkdir()
    early = (
        tmp_path / "models" / model_file(refit.replace(seed=100, refit_on_valid=False), "held-out")
    )
    early.write_bytes(b"weights")
    bench.run_children(jobs, 1, log)
    assert ran == [100, 100]  # the refitted model's weights are missing: trained again
    (tmp_path / "models" / model_file(refit.replace(seed=100), "held-out")).write_bytes(b"w")
    bench.run_children(jobs, 1, log)
    assert ran == [100, 100]  # both weights on disk: read back


def test_a_sweep_run_again_reads_its_finished_trainings_back(tmp_path, monkeypatch):
    ran = []

    def fake_child(kind, cfg, **extra):
        ran.append((cfg.dropout, cfg.seed))
        row = {"system": "sasrec", "role": "selection", "split": "valid", "trained_on": "train"}
        return [{**row, "seed": cfg.seed, "ndcg@10": 0.05, "best_epoch": 3, "s_per_epoch": 1.0}]

    monkeypatch.setattr(bench, "run_child", fake_child)
    monkeypatch.setattr(bench, "SWEEP", {"regularisation": [{"dropout": 0.1}, {"dropout": 0.3}]})
    monkeypatch.setattr(bench, "MODELS", tmp_path / "models")
    log = RunLog(tmp_path / "runs.jsonl", fingerprint="c")
    bench.sweep(SASRecConfig(), ["regularisation"], (0, 1), None, 1, log)
    assert ran == [(0.1, 0), (0.1, 1), (0.3, 0), (0.3, 1)]
    (tmp_path / "models").mkdir()
    for seed in (0, 1):  # the weights each job saves (the fake child saved none)
        for dropout in (0.1, 0.3):
            cfg = SASRecConfig(dropout=dropout, seed=seed)
            (tmp_path / "models" / model_file(cfg, "selection")).write_bytes(b"w")
    bench.sweep(SASRecConfig(), ["regularisation"], (0, 1), None, 1, log)
    assert len(ran) == 4  # the second sweep trained nothing


def test_the_ladder_so_far_comes_from_the_log_alone_and_never_replaces_a_fuller_one(
    tmp_path, monkeypatch
):
    def no_training(kind, cfg, **extra):
        raise AssertionError("--so-far trains nothing")

    monkeypatch.setattr(bench, "run_child", no_training)
    base = SASRecConfig().replace(**CONFIGS["shopping"])
    steps, seeds = ladder_configs(base), (100, 101, 102)
    log = RunLog(tmp_path / "runs.jsonl", fingerprint="c")
    first_step = bench.as_run(bench.sasrec_jobs(steps[0][2], seeds, "held-out", False), 2)
    for (kind, cfg, extra), ndcg in zip(first_step[:2], (0.027, 0.029), strict=True):
        run = {"system": "sasrec", "role": "held-out", "split": "test", "trained_on": "train"}
        run |= {"seed": cfg.seed, "ndcg@10": ndcg, "hr@10": 0.05, "s_per_epoch": 3.0, "train_s": 9}
        log.add(job_key(kind, cfg.to_dict(), extra), [run])
    out = tmp_path / "benchmark_beauty.json"
    out.write_text(json.dumps({"dataset": "amazon-beauty"}))
    bench.ladder(base, seeds, out, 2, log, so_far=True)
    written = json.loads(out.read_text())
    assert written["dataset"] == "amazon-beauty"  # the rest of the file is kept
    first, *rest = written["ladder"]
    assert first["seeds"] == [100, 101] and first["seeds_planned"] == [100, 101, 102]
    assert first["ndcg@10"] == pytest.approx(0.028) and first["ndcg@10_sd"] == 0.00141
    assert len(rest) == len(steps) - 1 + len(SHOPPING_ABLATIONS)  # the ablations after
    assert [step["ablation"] for step in written["ladder"]] == [False] * len(steps) + [True]
    assert all(step["seeds"] == [] and "ndcg@10" not in step for step in rest)
    # one job at a time runs (and logs) other jobs than two one-thread ones: none found
    with pytest.raises(SystemExit, match="holds a ladder of 2 finished runs; this one has 0"):
        bench.ladder(base, seeds, out, 1, log, so_far=True)
    assert json.loads(out.read_text()) == written
    with pytest.raises(SystemExit):
        bench.main(["--so-far"])  # only with --ladder


def test_a_rerun_benchmark_keeps_the_ladder_of_its_own_configuration_only(tmp_path):
    out = tmp_path / "benchmark_beauty.json"
    assert bench.kept_ladder(out, {"lr": 5e-4}) == {}  # no file yet
    ladder = [{"name": "paper", "seeds": [100]}]
    kept = {"ladder": ladder, "ladder_fingerprint": "code"}
    out.write_text(json.dumps({"config": {"lr": 5e-4}, "rows": []} | kept))
    assert bench.kept_ladder(out, {"lr": 5e-4}) == kept
    assert bench.kept_ladder(out, {"lr": 1e-3}) == {}  # it ended at another configuration


@pytest.fixture
def trained(monkeypatch):
    """The configs of the held-out runs ``bench.ladder`` trains, each faked (NDCG@10 0.05,
    3 s per epoch) with the current code's fingerprint "code"."""
    configs = []

    def fake_child(kind, cfg, **extra):
        configs.append(cfg)
        run = {"system": "sasrec", "role": "held-out", "split": "test", "trained_on": "train"}
        run |= {"seed": cfg.seed, "ndcg@10": 0.05, "hr@10": 0.09, "s_per_epoch": 3.0}
        return [run | {"train_s": 9.0}]

    monkeypatch.setattr(bench, "run_child", fake_child)
    monkeypatch.setattr(bench, "compute_fingerprint", lambda: "code")
    return configs


def test_the_ladders_last_step_reads_the_benchmarks_own_runs_of_that_configuration(
    tmp_path, trained
):
    base = SASRecConfig().replace(**CONFIGS["shopping"])
    steps, seeds = ladder_configs(base), (100, 101)
    row = {"system": "sasrec", "role": "held-out", "split": "test", "threads": 1}
    row |= {"hr@10": 0.1, "s_per_epoch": 30.0, "train_s": 900.0}
    benchmark = {
        "config": base.to_dict(),
        "compute_fingerprint": "code",
        "rows": [
            row | {"seed": 100, "trained_on": "train", "ndcg@10": 0.061},
            row | {"seed": 100, "trained_on": "train+valid", "ndcg@10": 0.068},  # not this
            row | {"seed": 101, "trained_on": "train", "ndcg@10": 0.059},
            row | {"seed": 102, "trained_on": "train", "ndcg@10": 0.070},  # not planned
        ],
    }
    out = tmp_path / "benchmark_beauty.json"
    out.write_text(json.dumps(benchmark))
    bench.ladder(base, seeds, out, 2, None)
    rungs = len(steps) + len(SHOPPING_ABLATIONS)
    assert len(trained) == 2 * (rungs - 1)  # every step but the preset, and the ablations
    assert base.replace(seed=100, num_threads=1) not in trained
    last = json.loads(out.read_text())["ladder"][len(steps) - 1]
    assert last["ndcg@10_per_seed"] == [0.061, 0.059] and last["runs_from_benchmark"] == [100, 101]
    assert last["s_per_epoch"] == 30.0 and last["hr@10"] == 0.1

    for changed in ({"compute_fingerprint": "other code"}, {"config": {**base.to_dict(), "lr": 1}}):
        trained.clear()
        out.write_text(json.dumps(benchmark | changed))
        bench.ladder(base, seeds, out, 2, None)
        assert len(trained) == 2 * rungs  # other code or configuration: trained here
        assert "runs_from_benchmark" not in json.loads(out.read_text())["ladder"][len(steps) - 1]
    trained.clear()
    out.write_text(json.dumps(benchmark))
    bench.ladder(base, seeds, out, 1, None)  # one job at a time: threads not fixed (0)
    assert len(trained) == 2 * rungs


def test_a_ladder_that_gains_a_step_reads_the_steps_measured_before_and_trains_the_rest(
    tmp_path, trained
):
    base = SASRecConfig().replace(**CONFIGS["shopping"])
    seeds = (100, 101)
    figures = {"ndcg@10_sd": 0.001, "hr@10": 0.08, "hr@10_per_seed": [0.08, 0.08]}
    figures |= {"s_per_epoch": 20.0, "train_s": 300.0, "seeds": [100, 101]}

    def measured(name, changes, ablation, ndcg):
        row = {"name": name, "changes": changes, "ablation": ablation, "trained_on": "train"}
        return row | figures | {"ndcg@10": ndcg, "ndcg@10_per_seed": [ndcg, ndcg]}

    # measured before the preset's last step was added: its ablation was another config
    before = [
        measured(n, c, False, 0.03 + i / 1000) for i, (n, c) in enumerate(SHOPPING_LADDER[:-1])
    ]
    before += [measured(n, c, True, 0.02) for n, c in SHOPPING_ABLATIONS]
    previous = tmp_path / "before.json"
    report = {"config": base.to_dict(), "compute_fingerprint": "code", "ladder": before}
    previous.write_text(json.dumps(report))
    out = tmp_path / "benchmark_beauty.json"

    bench.ladder(base, seeds, out, 2, None, previous=previous)
    steps = ladder_configs(base)
    new_rungs = [steps[-1][2], *(cfg for _, _, cfg in ablation_configs(base))]
    assert trained == [cfg.replace(seed=s, num_threads=1) for cfg in new_rungs for s in seeds]
    rows = json.loads(out.read_text())["ladder"]
    for i, row in enumerate(rows[: len(steps) - 1]):
        assert row["read_back"] and row["ndcg@10_per_seed"] == [0.03 + i / 1000] * 2
        assert row["s_per_epoch"] == 20.0 and row["seeds"] == [100, 101]
    assert "read_back" not in rows[len(steps) - 1] and rows[-1]["ndcg@10"] == 0.05

    changed_first_step = [{**before[0], "changes": {**before[0]["changes"], "n_layers": 3}}]
    for changed in (
        {"compute_fingerprint": "other code"},  # measured by other code
        {"ladder_fingerprint": "other code"},  # the ladder measured by other code
        {"ladder": changed_first_step + before[1:]},  # so every later step's config moved
        {"ladder": [{**row, "seeds": [100]} for row in before]},  # fewer seeds than planned
    ):
        trained.clear()
        previous.write_text(json.dumps(report | changed))
        out.unlink()
        bench.ladder(base, seeds, out, 2, None, previous=previous)
        assert len(trained) == 2 * (len(steps) + len(SHOPPING_ABLATIONS))
    trained.clear()
    out.unlink()
    bench.ladder(base, seeds, out, 2, None, previous=tmp_path / "never-written.json")
    assert len(trained) == 2 * (len(steps) + len(SHOPPING_ABLATIONS))  # nothing to read
    assert json.loads(out.read_text())["ladder_fingerprint"] == "code"
    with pytest.raises(SystemExit):
        bench.main(["--reuse-ladder", str(previous)])  # only with --ladder


def test_rungs_measured_by_other_code_are_read_back_only_when_this_code_reproduces_one(
    tmp_path, trained
):
    base = SASRecConfig().replace(**CONFIGS["shopping"])
    seeds = (100, 101)
    steps = ladder_configs(base)
    check_step = len(steps) - 2  # the last step read back: the preset before its new step

    def measured(name, changes, ablation, ndcg, hr):
        row = {"name": name, "changes": changes, "ablation": ablation, "trained_on": "train"}
        row |= {"ndcg@10": ndcg, "ndcg@10_sd": 0.0, "ndcg@10_per_seed": [ndcg, ndcg]}
        row |= {"hr@10": hr, "hr@10_per_seed": [hr, hr], "seeds": [100, 101]}
        return row | {"s_per_epoch": 20.0, "train_s": 300.0}

    def previous_ladder(check_hr):
        rows = [measured(n, c, False, 0.03, 0.08) for n, c in SHOPPING_LADDER[:check_step]]
        rows.append(measured(*SHOPPING_LADDER[check_step], False, 0.05, check_hr))
        return rows + [measured(n, c, True, 0.02, 0.07) for n, c in SHOPPING_ABLATIONS]

    previous, out = tmp_path / "before.json", tmp_path / "benchmark_beauty.json"
    report = {"config": base.to_dict(), "ladder_fingerprint": "old code"}
    # the fake child trains every run to NDCG@10 0.05, HR@10 0.09: the check step's figures
    previous.write_text(json.dumps(report | {"ladder": previous_ladder(0.09)}))
    bench.ladder(base, seeds, out, 2, None, previous=previous)
    check_run = steps[check_step][2].replace(seed=100, num_threads=1)
    new_rungs = [steps[-1][2], *(cfg for _, _, cfg in ablation_configs(base))]
    new_runs = [cfg.replace(seed=s, num_threads=1) for cfg in new_rungs for s in seeds]
    assert trained == [check_run, *new_runs]
    written = json.loads(out.read_text())
    assert written["ladder_reproduction"] == {
        "step": check_step,
        "seed": 100,
        "reproduced": True,
        "ndcg@10": [0.05, 0.05],
        "hr@10": [0.09, 0.09],
    }
    assert all(row["read_back"] for row in written["ladder"][: check_step + 1])
    assert written["ladder"][0]["ndcg@10_per_seed"] == [0.03, 0.03]
    assert written["ladder_fingerprint"] == "code"

    trained.clear()  # HR@10 stored 0.08 where this code gives 0.09: nothing read back
    previous.write_text(json.dumps(report | {"ladder": previous_ladder(0.08)}))
    out.unlink()
    bench.ladder(base, seeds, out, 2, None, previous=previous)
    assert len(trained) == 2 * (len(steps) + len(SHOPPING_ABLATIONS))  # the check's run once
    assert trained.count(check_run) == 1
    written = json.loads(out.read_text())
    assert written["ladder_reproduction"]["reproduced"] is False
    assert not any(row.get("read_back") for row in written["ladder"])
    assert written["ladder"][check_step]["ndcg@10_per_seed"] == [0.05, 0.05]

    trained.clear()  # --so-far trains nothing, so it cannot check: it reads nothing back
    previous.write_text(json.dumps(report | {"ladder": previous_ladder(0.09)}))
    out.unlink()
    with pytest.raises(SystemExit, match="runs log"):
        bench.ladder(base, seeds, out, 2, None, so_far=True, previous=previous)
    assert trained == []
