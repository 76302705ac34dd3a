"""The Makefile's tooling: papermill arguments, the index, failure messages, Colab links."""

import json
from pathlib import Path

import numpy as np
import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.evaluation.metrics import BootstrapPair
from sasrec_utils.presets import CONFIGS, preset_config
from sasrec_utils.report.contracts import METRICS_KEYS, NOTEBOOK_PARAMETERS, read_metrics
from tools import report_tools
from tools.report_tools import (
    HEADLINE_END,
    HEADLINE_START,
    README_END,
    README_START,
    build_index,
    check_parameters,
    colab_cell,
    colab_link_problems,
    colab_url,
    describe_failure,
    headline_text,
    notebook_install_cell,
    papermill_args,
    read_benchmark,
    repository_url,
    sync_colab_links,
    sync_readme_headline,
    sync_readme_timings,
    timings_table,
    write_parameter_stamps,
)

ROOT = Path(__file__).resolve().parents[1]


def test_papermill_args_pass_only_set_variables_of_that_notebook():
    variables = {"EPOCHS": "5", "ARTIFACTS": "art", "DROPOUT": " ", "REPORTS": "rep"}
    assert papermill_args("03_training", variables) == [
        "-p",
        "artifacts",
        "art",
        "-p",
        "epochs",
        "5",
    ]
    assert papermill_args("04_evaluation", variables) == [
        "-p",
        "artifacts",
        "art",
        "-p",
        "report_dir",
        "rep",
    ]
    assert set(report_tools.NOTEBOOKS) == set(NOTEBOOK_PARAMETERS)


def _executed(cells: list[dict], duration: float = 12.0) -> dict:
    return {"cells": cells, "metadata": {"papermill": {"duration": duration}}}


def _system(ndcg, hr, seeds=None):
    metrics = {"ndcg@10": ndcg, "hr@10": hr, "mrr": ndcg * 0.9, "coverage@10": 0.5}
    per_seed = seeds or {"None": metrics}
    frame = {k: [values[k] for values in per_seed.values()] for k in metrics}
    sd = {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in frame.items()}
    return {"n_seeds": len(per_seed), "mean": metrics, "sd": sd, "per_seed": per_seed}


def _metrics():
    seeds = {
        "42": {"ndcg@10": 0.11, "hr@10": 0.2, "mrr": 0.099, "coverage@10": 0.5},
        "43": {"ndcg@10": 0.13, "hr@10": 0.22, "mrr": 0.117, "coverage@10": 0.5},
        "44": {"ndcg@10": 0.12, "hr@10": 0.21, "mrr": 0.108, "coverage@10": 0.5},
    }
    pair = BootstrapPair("SASRec", "markov", 0.02, 0.01, 0.03, 0.2, 0.1, 0.3, 1000, 943)
    metrics = {
        "dataset": "ml-100k",
        "n_queries": 943,
        "n_items": 1682,
        "systems": {
            "SASRec": _system(0.12, 0.21, seeds),
            "ensemble": _system(0.125, 0.22),
            "markov": _system(0.1, 0.18),
            "most-popular": _system(0.0432, 0.08),
        },
        "bootstrap": {"best_baseline": "markov", "pairs": [pair.to_dict()]},
        "training": {"device": "cpu", "runs": [{"seconds_to_best": 40.2}, {"seconds_to_best": 55}]},
        "seeds": [42, 43, 44],
        "config": json.loads(json.dumps(SASRecConfig().to_dict())),
    }
    return {**{key: None for key in METRICS_KEYS}, **metrics}


def _quick_run() -> dict:
    """What `make report EPOCHS=2 N_SEEDS=1` leaves: one seed, two epochs."""
    metrics = _metrics()
    seed = {"42": metrics["systems"]["SASRec"]["per_seed"]["42"]}
    metrics["systems"]["SASRec"] = _system(0.11, 0.2, seed)
    metrics["config"] = {**metrics["config"], "epochs": 2}
    return {
        **metrics,
        "seeds": [42],
        "training": {"device": "cpu", "runs": [{"seconds_to_best": 41}]},
    }


def test_headline_text_takes_every_figure_from_the_metrics():
    text = headline_text(_metrics())
    assert "SASRec with the default settings, 3 seeds" in text
    assert "**NDCG@10 0.1200 ± 0.0100** (per seed 42: 0.1100, 43: 0.1300, 44: 0.1200)" in text
    assert "**markov 0.1000**" in text and "ensemble of the seeds 0.1250" in text
    assert "SASRec − markov: +0.0200 NDCG@10 (+20.0%)" in text
    assert "95% interval [+0.0100, +0.0300]" in text
    assert "40–55 s to the kept epoch" in text and "about ±0.010 on these 943" in text


def test_headline_of_a_quick_run_says_what_it_is_and_shows_no_spread():
    text = headline_text(_quick_run())
    assert "SASRec with EPOCHS=2, 1 seed (not the default): **NDCG@10 0.1100** (seed 42)" in text
    assert "±" not in text and "41–41" not in text and "ensemble" not in text
    assert "Training took 41 s to the kept epoch" in text
    assert "One seed only: how much another seed would move these figures is not measured" in text


def _benchmark():
    sasrec = {
        "system": "sasrec",
        "role": "held-out",
        "trained_on": "train",
        "seeds": [100, 101, 102],
        "ndcg@10": 0.118,
        "ndcg@10_sd": 0.004,
        "ndcg@10_min": 0.113,
        "ndcg@10_max": 0.121,
        "hr@10": 0.22,
    }
    return {
        "summaries": [{**sasrec, "role": "selection", "ndcg@10": 0.5}, sasrec],
        "best_baseline": "cooccurrence",
        "baselines": [
            {"system": "markov", "trained_on": "train", "ndcg@10": 0.2},
            {"system": "cooccurrence", "trained_on": "train", "ndcg@10": 0.1026},
        ],
        "bootstrap": {
            "sasrec - cooccurrence": {
                **{"difference": 0.015, "difference_low": 0.005, "difference_high": 0.026},
                **{"lift": 0.15, "lift_low": 0.05, "lift_high": 0.26},
                **{"n_resamples": 10000.0, "n_queries": 943.0},
            }
        },
    }


def test_headline_adds_the_held_out_benchmark_when_given():
    text = headline_text(_metrics(), _benchmark())
    assert text.startswith(headline_text(_metrics()))
    assert text.endswith(
        " `make bench`, 3 held-out seeds (100–102) that no choice used: SASRec **0.1180 ± "
        "0.0040** (0.1130–0.1210), HR@10 0.2200, against cooccurrence 0.1026: +15.0%, 95% "
        "interval [+5.0%, +26.0%]."
    )


def test_build_index_links_reports_with_headline_metrics(tmp_path):
    title = {"cell_type": "markdown", "source": ["[![badge](x)](y)\n", "\n", "# 4. Evaluation\n"]}
    (tmp_path / "04_evaluation.ipynb").write_text(json.dumps(_executed([title], 30.0)))
    (tmp_path / "metrics.json").write_text(json.dumps(_metrics()))
    page = build_index(tmp_path).read_text()
    assert "<a href='04_evaluation.html'>4. Evaluation</a>" in page
    assert "01_theory_and_data: not run yet" in page
    assert "<td>0.1200 ± 0.0100</td>" in page and "<td>0.0432</td>" in page
    assert page.index(">ensemble<") < page.index(">SASRec<") < page.index(">markov<")
    assert "943 users" in page
    assert "Preset: none" in page and "Other runs" not in page


def test_index_states_the_preset_and_links_the_runs_in_subfolders(tmp_path):
    title = {"cell_type": "markdown", "source": ["# 1. Theory\n"]}
    beauty = tmp_path / "amazon-beauty"
    beauty.mkdir()
    for folder, seconds in ((tmp_path, 30.0), (beauty, 100.0)):
        (folder / "01_theory_and_data.ipynb").write_text(json.dumps(_executed([title], seconds)))
        (folder / "02_model.ipynb").write_text(json.dumps(_executed([title], seconds)))
    shopping_run = _metrics()
    shopping_run["preset"], shopping_run["dataset"] = "shopping", "amazon-beauty"
    shopping_run["config"] |= {"dataset": "amazon-beauty"} | CONFIGS["shopping"]
    (beauty / "metrics.json").write_text(json.dumps(shopping_run))
    build_index(beauty)
    assert "Preset `shopping`" not in (page := (beauty / "index.html").read_text())
    assert "Preset shopping (sasrec_utils.presets.CONFIGS)" in page
    (tmp_path / "metrics.json").write_text(json.dumps(_metrics()))
    page = build_index(tmp_path).read_text()
    assert "<a href='amazon-beauty/index.html'>amazon-beauty/</a>" in page
    assert "(amazon-beauty, PRESET=shopping, DATASET=amazon-beauty, 200 s of notebook" in page


def test_index_leaves_the_readme_headline_to_default_runs(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"{HEADLINE_START}\nthe default run's figures\n{HEADLINE_END}\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "metrics.json").write_text(json.dumps(_quick_run()))
    assert report_tools.main(["index", str(reports), "--readme", str(readme)]) == 0
    assert "the default run's figures" in readme.read_text()
    assert "(EPOCHS=2, 1 seed: not the default; `make headline`" in capsys.readouterr().out
    assert "EPOCHS=2, 1 seed (not the default)" in (reports / "index.html").read_text()
    assert report_tools.main(["headline", str(reports), str(readme)]) == 0  # asked for
    assert headline_text(_quick_run(), timings=False) in readme.read_text()
    (reports / "metrics.json").write_text(json.dumps(_metrics()))
    assert report_tools.main(["index", str(reports), "--readme", str(readme)]) == 0
    assert headline_text(_metrics(), timings=False) in readme.read_text()


def test_run_to_run_timings_stay_out_of_the_readme_headline(tmp_path):
    """Only the index shows training times: a rerun with the same metrics leaves README."""
    readme = tmp_path / "README.md"
    readme.write_text(f"{HEADLINE_START}\nold\n{HEADLINE_END}\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "metrics.json").write_text(json.dumps(_quick_run()))
    assert report_tools.main(["headline", str(reports), str(readme)]) == 0
    assert "Training took" not in readme.read_text()
    assert "Training took 41 s" in headline_text(_quick_run())  # what the index shows
    slower = _quick_run()
    slower["training"]["runs"][0]["seconds_to_best"] = 82.0
    (reports / "metrics.json").write_text(json.dumps(slower))
    assert not sync_readme_headline(readme, slower)  # same figures: README unchanged


def test_readme_timings_list_each_run_and_notebook(tmp_path):
    title = {"cell_type": "markdown", "source": ["# 1. Theory\n"]}
    reports, beauty = tmp_path / "reports", tmp_path / "reports" / "amazon-beauty"
    beauty.mkdir(parents=True)
    for folder, seconds in ((reports, 30.0), (beauty, 150.0)):
        (folder / "01_theory_and_data.ipynb").write_text(json.dumps(_executed([title], seconds)))
        (folder / "03_training.ipynb").write_text(json.dumps(_executed([title], 2 * seconds)))
    shopping_run = _metrics()
    shopping_run["preset"], shopping_run["dataset"] = "shopping", "amazon-beauty"
    shopping_run["config"] |= {"dataset": "amazon-beauty"} | CONFIGS["shopping"]
    (beauty / "metrics.json").write_text(json.dumps(shopping_run))
    (reports / "metrics.json").write_text(json.dumps(_metrics()))
    build_index(beauty)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- timings:start -->\nold\n<!-- timings:end -->\nend\n")
    assert sync_readme_timings(readme, reports)
    lines = readme.read_text().splitlines()
    assert lines[2].endswith(
        "ml-100k, the default settings | "
        "`reports/amazon-beauty/`: PRESET=shopping, DATASET=amazon-beauty |"
    )
    assert "| `01_theory_and_data` | 30 s | 2.5 min |" in lines
    assert "| `02_model` | not run | not run |" in lines
    assert "| all five | **1.5 min** | **7.5 min** |" in lines  # 30 + 60 s; 150 + 300 s
    assert lines[0] == "intro" and lines[-1] == "end" and "old" not in lines
    assert not sync_readme_timings(readme, reports)  # idempotent
    readme.write_text("no block")
    assert not sync_readme_timings(readme, reports) and readme.read_text() == "no block"


def test_a_fresh_clone_says_no_parameter_changed(tmp_path, capsys, monkeypatch):
    for name in ("EPOCHS", "N_SEEDS", "SEED"):
        monkeypatch.delenv(name, raising=False)
    stamps = tmp_path / ".parameters"
    assert report_tools.main(["parameters", str(stamps)]) == 0
    assert "parameters changed" not in capsys.readouterr().out
    assert sorted(p.name for p in stamps.iterdir()) == sorted(NOTEBOOK_PARAMETERS)
    monkeypatch.setenv("EPOCHS", "2")
    assert report_tools.main(["parameters", str(stamps)]) == 0
    assert capsys.readouterr().out == "parameters changed for 03_training\n"


def test_parameters_are_checked_before_any_stamp_is_written(tmp_path):
    stamps = tmp_path / ".parameters"
    with pytest.raises(ValueError, match="EPOCHS=ten: epochs must be an integer"):
        write_parameter_stamps(stamps, {"EPOCHS": "ten", "SEED": "7"})
    assert not stamps.exists()
    for bad, said in (("N_SEEDS", "N_SEEDS=0: the number"), ("PROGRESS", "PROGRESS=0: must be")):
        with pytest.raises(ValueError, match=said):
            check_parameters("03_training", {bad: "0"})
    assert report_tools.main(["parameters", str(stamps)]) == 0  # defaults: nothing to refuse


def test_preset_reaches_every_notebook_and_an_unknown_one_is_refused_first(tmp_path):
    for notebook in NOTEBOOK_PARAMETERS:
        assert papermill_args(notebook, {"PRESET": "shopping"})[-2:] == ["preset", "shopping"]
    stamps = tmp_path / ".parameters"
    with pytest.raises(ValueError, match="PRESET=shop: unknown preset 'shop'; known presets"):
        write_parameter_stamps(stamps, {"PRESET": "shop", "EPOCHS": "1"})
    assert not stamps.exists()
    assert write_parameter_stamps(stamps, {"PRESET": "shopping"}) == list(NOTEBOOK_PARAMETERS)


def test_a_parameter_changes_only_the_stamps_of_notebooks_that_read_it(tmp_path):
    stamps = tmp_path / ".parameters"
    assert write_parameter_stamps(stamps, {}) == list(NOTEBOOK_PARAMETERS)
    before = {name: (stamps / name).stat().st_mtime_ns for name in NOTEBOOK_PARAMETERS}
    assert write_parameter_stamps(stamps, {}) == []  # unchanged: nothing reruns
    assert write_parameter_stamps(stamps, {"EPOCHS": "2"}) == ["03_training"]
    assert (stamps / "03_training").read_text() == "-p epochs 2\n"
    assert write_parameter_stamps(stamps, {"EPOCHS": "2", "N_SEEDS": "1"}) == [
        "03_training",
        "04_evaluation",
    ]
    assert write_parameter_stamps(stamps, {"SEED": "7"}) == list(NOTEBOOK_PARAMETERS)
    assert (stamps / "02_model").stat().st_mtime_ns > before["02_model"]


def test_readme_headline_block_is_rewritten_in_place(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{HEADLINE_START}\nold figures\n{HEADLINE_END}\nend\n")
    assert sync_readme_headline(readme, _metrics())
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("end\n") and "old figures" not in text
    assert headline_text(_metrics(), timings=False) in text
    assert not sync_readme_headline(readme, _metrics())  # idempotent
    readme.write_text("no block")
    with pytest.raises(ValueError, match="no <!-- headline:start -->"):
        sync_readme_headline(readme, _metrics())


def test_readme_timings_agree_with_the_committed_reports():
    assert timings_table(ROOT / "reports") in (ROOT / "README.md").read_text()


def test_readme_headline_agrees_with_the_committed_metrics():
    """`make report` has been run: README's headline is generated from reports/metrics.json."""
    text = (ROOT / "README.md").read_text()
    reports = ROOT / "reports"
    metrics, benchmark = read_metrics(reports), read_benchmark(reports)
    assert headline_text(metrics, benchmark, timings=False) in text


def test_describe_failure_names_notebook_cell_and_error(tmp_path):
    ok = {"cell_type": "code", "source": "x = 1", "outputs": []}
    injected = {
        "cell_type": "code",
        "source": "epochs = 0",
        "metadata": {"tags": ["injected-parameters"]},
        "outputs": [],
    }
    error = {
        "output_type": "error",
        "ename": "ValueError",
        "evalue": "epochs must be an integer >= 1, got 0",
        "traceback": ["\x1b[0;31mValueError\x1b[0m", "Cell \x1b[0;32mIn[3], line 2\x1b[0m\n--> 2"],
    }
    bad = {
        "cell_type": "code",
        "source": ["import os\n", "cfg = config(epochs)\n"],
        "outputs": [error],
    }
    path = tmp_path / "03.tmp.ipynb"
    path.write_text(
        json.dumps(_executed([ok, injected, {"cell_type": "markdown", "source": "#"}, bad]))
    )
    message = describe_failure(path, "notebooks/03_training.py")
    assert message.startswith("notebooks/03_training.py failed in code cell 2 ")
    assert "(line 2: cfg = config(epochs))" in message
    assert "ValueError: epochs must be an integer >= 1, got 0" in message
    missing = describe_failure(tmp_path / "none.ipynb", "notebooks/01.py")
    assert "failed before any cell ran" in missing


def test_colab_url_from_github_repository():
    url = colab_url("https://github.com/me/proj.git", "02_model")
    assert (
        url == "https://colab.research.google.com/github/me/proj/blob/main/notebooks/02_model.ipynb"
    )
    with pytest.raises(ValueError, match="GitHub only"):
        colab_url("https://gitlab.com/me/proj", "02_model")


def test_sync_colab_links_rewrites_notebooks_and_readme(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.urls]\nRepository = "https://github.com/new/repo"\n'
    )
    (tmp_path / "notebooks").mkdir()
    source = (ROOT / "notebooks" / "01_theory_and_data.py").read_text()
    old = repository_url(ROOT / "pyproject.toml")
    edited = source.replace("splitlines()[-15:]", "splitlines()[-5:]")  # a hand edit
    assert edited != source
    (tmp_path / "notebooks" / "01_theory_and_data.py").write_text(edited)
    assert any("install cell differs" in p for p in colab_link_problems(tmp_path))
    readme = f"intro\n{README_START}\nstale\n{README_END}\nend\n"
    (tmp_path / "README.md").write_text(readme)
    changed = sync_colab_links(tmp_path)
    assert {p.name for p in changed} == {
        "01_theory_and_data.py",
        "01_theory_and_data.ipynb",
        "README.md",
    }
    for name in ("01_theory_and_data.py", "01_theory_and_data.ipynb"):
        text = (tmp_path / "notebooks" / name).read_text()
        assert old not in text
        assert "colab.research.google.com/github/new/repo/blob/main/notebooks/01_t" in text
    synced = (tmp_path / "notebooks" / "01_theory_and_data.py").read_text()
    assert notebook_install_cell(synced) == colab_cell("https://github.com/new/repo")
    assert 'REPOSITORY = "https://github.com/new/repo"' in synced
    readme_text = (tmp_path / "README.md").read_text()
    assert readme_text.startswith("intro\n") and readme_text.endswith("end\n")
    assert "stale" not in readme_text and "05_production_demo" in readme_text
    assert sync_colab_links(tmp_path) == []  # idempotent
    problems = colab_link_problems(tmp_path)
    assert all("02_model" in p or "03_" in p or "04_" in p or "05_" in p for p in problems)


def test_badges_and_install_lines_agree_with_pyproject():
    """`make badges` has been run: the repo's notebooks and README point at pyproject's URL."""
    assert colab_link_problems(ROOT) == []


def test_headline_adds_the_shopping_benchmark_when_it_is_there():
    from tests.test_shopping_report import shopping_benchmark

    benchmark = shopping_benchmark()
    text = headline_text(_metrics(), None, benchmark)
    assert "`make bench-beauty`" in text and "bench-beauty" not in headline_text(_metrics())
    papers, deployment = text.split("papers' protocol")[1].split("; deployment")
    assert "**0.0580 ± 0.0020** (worst seed 0.0560)" in papers
    assert "against markov fitted alike 0.0460: +26.0%, 95% interval [+20.0%, +30.0%]" in papers
    assert "published under the same protocol: BSARec 0.0611, ICSRec 0.0578" in papers
    assert "0.0650 ± 0.0020" in deployment and "markov fitted alike 0.0520: +25.0%" in deployment
    assert "0.0611" not in deployment  # no published figure beside the refit
    assert "ablation" not in text  # the file has no ladder
    ablation = {"name": "ablation: no filter", "ablation": True, "ndcg@10": 0.055}
    ablation |= {"ndcg@10_sd": 0.001, "seeds": [100, 101], "seeds_planned": [100, 101]}
    benchmark["ladder"] = [{"name": "preset", "seeds": [100, 101]}, ablation]
    papers = headline_text(_metrics(), None, benchmark).split("; deployment")[0]
    assert "[+20.0%, +30.0%]; ablation: no filter 0.0550 ± 0.0010; published" in papers
    ablation["seeds"] = [100]  # unfinished: not quoted
    assert "ablation" not in headline_text(_metrics(), None, benchmark)
    benchmark["config"] = preset_config("shopping", dataset="amazon-beauty").to_dict()
    extension = (
        " + frequency filter (an extension: BSARec, Shin et al., AAAI 2024) + item table "
        "started from co-occurrence (PPMI-SVD: Levy & Goldberg, NeurIPS 2014; item2vec, "
        "Barkan & Koenigstein, 2016)"
    )
    assert f"the `shopping` preset{extension} **0.0580" in headline_text(
        _metrics(), None, benchmark
    )
    benchmark["config"]["hidden_dim"] = 8  # a file run with settings the preset since left
    assert "an earlier `shopping` preset (the current one awaits `make bench-beauty`) + " in (
        headline_text(_metrics(), None, benchmark)
    )


def test_a_shopping_file_without_a_papers_protocol_row_sets_nothing_beside_the_papers():
    from tests.test_shopping_report import shopping_benchmark

    benchmark = shopping_benchmark()
    benchmark["summaries"] = [s for s in benchmark["summaries"] if s["trained_on"] != "train"]
    text = headline_text(_metrics(), None, benchmark)
    assert "0.0611" not in text and "no papers'-protocol figure in this file yet" in text
