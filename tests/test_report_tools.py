"""The Makefile's tooling: papermill arguments, the index, failure messages, Colab links."""

import json
from pathlib import Path

import pytest

from sasrec_utils.artifacts import METRICS_KEYS, NOTEBOOK_PARAMETERS
from tools import report_tools
from tools.report_tools import (
    README_END,
    README_START,
    build_index,
    colab_link_problems,
    colab_url,
    describe_failure,
    papermill_args,
    repository_url,
    sync_colab_links,
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


def test_build_index_links_reports_with_headline_metrics(tmp_path):
    title = {"cell_type": "markdown", "source": ["[![badge](x)](y)\n", "\n", "# 4. Evaluation\n"]}
    (tmp_path / "04_evaluation.ipynb").write_text(json.dumps(_executed([title], 30.0)))
    metrics = {
        "dataset": "ml-100k",
        "n_queries": 943,
        "n_items": 1682,
        "systems": {
            "SASRec": {"hr@10": 0.17, "ndcg@10": 0.0912, "mrr": 0.08, "lift_ndcg@10": 2.1},
            "most-popular": {"hr@10": 0.09, "ndcg@10": 0.0432, "mrr": 0.04},
        },
        "training": {"best_epoch": 12, "train_seconds": 95.0, "device": "cpu"},
    }
    metrics = {**{key: None for key in METRICS_KEYS}, **metrics}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    page = build_index(tmp_path).read_text()
    assert "<a href='04_evaluation.html'>4. Evaluation</a>" in page
    assert "01_theory_and_data: not run yet" in page
    assert "<td>0.0912</td>" in page and "<td>2.1000</td>" in page
    assert "Best epoch 12" in page and "943 users" in page


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
    (tmp_path / "notebooks" / "01_theory_and_data.py").write_text(source)
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
    assert (
        'REPOSITORY = "https://github.com/new/repo"'
        in (tmp_path / "notebooks" / "01_theory_and_data.py").read_text()
    )
    readme_text = (tmp_path / "README.md").read_text()
    assert readme_text.startswith("intro\n") and readme_text.endswith("end\n")
    assert "stale" not in readme_text and "05_production_demo" in readme_text
    assert sync_colab_links(tmp_path) == []  # idempotent
    problems = colab_link_problems(tmp_path)
    assert all("02_model" in p or "03_" in p or "04_" in p or "05_" in p for p in problems)


def test_badges_and_install_lines_agree_with_pyproject():
    """`make badges` has been run: the repo's notebooks and README point at pyproject's URL."""
    assert colab_link_problems(ROOT) == []
