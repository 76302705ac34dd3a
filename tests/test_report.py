"""Notebook plumbing: artifacts, report tables, reproducibility, index, failures, Colab links."""

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sasrec_utils import report
from sasrec_utils.dataset import data_fingerprint
from sasrec_utils.model import SASRec
from sasrec_utils.synthetic import synthetic_events

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    return synthetic_events(tmp_path_factory.mktemp("retail"), n_users=60, n_items=40, n_events=900)


def _retail_config(files, **changes):
    return report.notebook_config(
        dataset="events",
        events_paths=",".join(str(p) for p in files.events_paths),
        vocabulary_path=str(files.vocabulary_path),
        **changes,
    )


# ---------------------------------------------------------------- config and artifacts


def test_notebook_config_treats_none_as_default_and_splits_paths():
    cfg = report.notebook_config(epochs=None, hidden_dim=32, events_paths="a.parquet, b.parquet")
    assert cfg.epochs == report.SASRecConfig().epochs
    assert cfg.hidden_dim == 32
    assert cfg.events_paths == ["a.parquet", "b.parquet"]
    with pytest.raises(ValueError, match="unknown config field"):
        report.notebook_config(epoch=3)


def test_project_root_finds_the_checkout_from_a_subfolder(tmp_path):
    assert report.project_root(ROOT / "notebooks") == ROOT
    assert report.project_root(tmp_path) == tmp_path.resolve()


def test_prepared_data_reuses_matching_artifacts_and_rebuilds_others(retail, tmp_path, caplog):
    cfg = _retail_config(retail)
    with caplog.at_level(logging.WARNING, logger="sasrec_utils.report"):
        first = report.prepared_data(tmp_path, cfg)  # nothing saved yet: prepared and saved
    assert "none saved" in caplog.text
    assert (tmp_path / report.SEQUENCES_FILE).exists() and first.items is None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sasrec_utils.report"):
        again = report.prepared_data(tmp_path, cfg)
    assert caplog.text == ""  # loaded, not rebuilt
    assert data_fingerprint(again.data) == data_fingerprint(first.data)
    assert again.data.item_ids.tolist() == first.data.item_ids.tolist()
    np.testing.assert_array_equal(again.split.test.targets, first.split.test.targets)
    one_file = _retail_config(retail).replace(events_paths=[str(retail.events_paths[0])])
    with caplog.at_level(logging.WARNING, logger="sasrec_utils.report"):
        other = report.prepared_data(tmp_path, one_file)
    assert "saved data is for" in caplog.text
    assert len(other.data.sequences.items) < len(first.data.sequences.items)
    saved = json.loads((tmp_path / report.DATA_FILE).read_text())
    assert saved["settings"]["events_paths"] == [str(retail.events_paths[0])]


def test_save_prepared_rewrites_only_when_the_data_changes(retail, tmp_path):
    cfg = _retail_config(retail)
    prepared = report.prepared_data(tmp_path, cfg)
    summary = tmp_path / report.DATA_FILE
    before = summary.stat().st_mtime_ns, (tmp_path / report.SEQUENCES_FILE).stat().st_mtime_ns
    time.sleep(0.01)
    report.save_prepared(tmp_path, cfg, prepared)
    after = summary.stat().st_mtime_ns, (tmp_path / report.SEQUENCES_FILE).stat().st_mtime_ns
    assert after == before
    fewer = report.PreparedData(prepared.data, prepared.split, pd.DataFrame({"item_id": [1]}))
    report.save_prepared(tmp_path, cfg, fewer)  # other metadata: written again
    assert summary.stat().st_mtime_ns > before[0]
    assert (tmp_path / report.ITEMS_FILE).exists()


def test_prepared_data_loads_pretrained_vectors_aligned_to_items(retail, tmp_path):
    cfg = _retail_config(retail, embeddings_path=str(retail.embeddings_path))
    prepared = report.prepared_data(tmp_path, cfg)
    assert prepared.pretrained.shape == (prepared.data.n_items + 1, 128)
    assert not prepared.pretrained[0].any()


def test_trained_checkpoint_trains_when_missing_and_refuses_other_data(retail, tmp_path, tiny_cfg):
    cfg = tiny_cfg.replace(
        epochs=1,
        dataset="events",
        events_paths=[str(p) for p in retail.events_paths],
        vocabulary_path=str(retail.vocabulary_path),
    )
    prepared = report.prepared_data(tmp_path, cfg)
    path = report.trained_checkpoint(tmp_path, cfg, prepared)
    assert path == tmp_path / report.CHECKPOINT_FILE and path.exists()
    assert report.trained_checkpoint(tmp_path, cfg, prepared) == path  # found, not retrained
    other = cfg.replace(events_paths=[str(retail.events_paths[0])])
    with pytest.raises(ValueError, match="run notebook 03 with the same data parameters"):
        report.trained_checkpoint(tmp_path, other, prepared)


# ---------------------------------------------------------------- tables


def test_parameter_table_adds_up_to_the_model(tiny_cfg):
    model = SASRec(50, tiny_cfg)
    table = report.parameter_table(model)
    assert table.iloc[-1]["module"] == "total"
    assert table.iloc[-1]["parameters"] == model.n_parameters()
    assert table.iloc[:-1]["parameters"].sum() == model.n_parameters()
    item_row = table.set_index("module").loc["item_emb"]
    assert item_row["parameters"] == 51 * tiny_cfg.hidden_dim
    assert item_row["shapes"] == f"51×{tiny_cfg.hidden_dim}"
    assert table["share"].iloc[:-1].sum() == pytest.approx(1.0)


def test_metrics_by_history_length_by_hand():
    lengths = np.array([3, 4, 10, 12])
    ranks = {"A": np.array([1, 11, 3, 1]), "B": np.array([20, 20, 20, 2])}
    frame = report.metrics_by_history_length(ranks, lengths, n_buckets=2)
    a = frame[frame["system"] == "A"].set_index("bucket")
    assert list(a.index) == ["3–4", "10–12"]
    assert a.loc["3–4", "hr@10"] == 0.5 and a.loc["10–12", "hr@10"] == 1.0
    assert a.loc["10–12", "ndcg@10"] == pytest.approx((1 / np.log2(4) + 1) / 2)
    b = frame[frame["system"] == "B"].set_index("bucket")
    assert b.loc["10–12", "ndcg@10"] == pytest.approx(0.5 / np.log2(3))
    assert set(frame["users"]) == {2}


def test_with_probability_is_a_softmax_over_rows():
    ranked = pd.DataFrame({"item_id": [7, 8, 9], "score": [2.0, 1.0, 0.0]})
    out = report.with_probability(ranked)
    expected = np.exp([2.0, 1.0, 0.0]) / np.exp([2.0, 1.0, 0.0]).sum()
    np.testing.assert_allclose(out["probability"], expected)
    assert "probability" not in ranked  # the input is not modified


def test_latency_summary_percentiles_in_ms():
    summary = report.latency_summary(np.arange(1, 101) / 1000).iloc[0]
    assert summary["requests"] == 100
    assert summary["p50_ms"] == pytest.approx(50.5)
    assert summary["p95_ms"] == pytest.approx(95.05)
    assert summary["requests_per_s"] == pytest.approx(1000 / 50.5)


def test_resolve_items_accepts_ids_titles_and_parts_of_titles():
    items = pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4],
            "title": ["Alien (1979)", "Aliens (1986)", "Toy Story (1995)", "Fargo (1996)"],
        }
    )
    ids = np.array([1, 2, 3, 4])
    assert report.resolve_items([3, "alien (1979)", "toy story", "Fargo"], ids, items) == [
        3,
        1,
        3,
        4,
    ]
    with pytest.raises(ValueError, match="matches 2 titles"):
        report.resolve_items(["Alien"], ids, items)
    with pytest.raises(ValueError, match=r"close titles: \['Fargo \(1996\)'\]"):
        report.resolve_items(["Fargo (1997)"], ids, items)
    with pytest.raises(ValueError, match="no titles to search"):
        report.resolve_items(["sku_9"], np.array(["sku_1"]), None)


def test_peak_memory_on_cpu_is_positive():
    memory = report.peak_memory("cpu")
    assert memory["MiB"] > 10 and "resident" in memory["what"]


# ---------------------------------------------------------------- reproducibility


def test_reproducibility_block_lists_what_produced_the_run(tiny_cfg):
    block = report.reproducibility(tiny_cfg, "abc123", torch.device("cpu"), time.time() - 2.0)
    facts = block.facts
    assert facts["seed"] == str(tiny_cfg.seed) and facts["data sha256"] == "abc123"
    assert facts["device"] == "cpu"
    assert f"torch {torch.__version__}" in facts["packages"]
    assert 2.0 <= float(facts["wall time"].split()[0]) < 60
    assert block.config == tiny_cfg.to_dict()
    html = block._repr_html_()
    assert "abc123" in html and '"hidden_dim": 16' in html
    assert "seed: 42" in str(block)
    assert block.to_dict()["config"]["max_len"] == tiny_cfg.max_len


# ---------------------------------------------------------------- index and failures


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
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    page = report.build_index(tmp_path).read_text()
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
    message = report.describe_failure(path, "notebooks/03_training.py")
    assert message.startswith("notebooks/03_training.py failed in code cell 2 ")
    assert "(line 2: cfg = config(epochs))" in message
    assert "ValueError: epochs must be an integer >= 1, got 0" in message
    missing = report.describe_failure(tmp_path / "none.ipynb", "notebooks/01.py")
    assert "failed before any cell ran" in missing


# ---------------------------------------------------------------- Colab links


def test_colab_url_from_github_repository():
    url = report.colab_url("https://github.com/me/proj.git", "02_model")
    assert (
        url == "https://colab.research.google.com/github/me/proj/blob/main/notebooks/02_model.ipynb"
    )
    with pytest.raises(ValueError, match="GitHub only"):
        report.colab_url("https://gitlab.com/me/proj", "02_model")


def test_sync_colab_links_rewrites_notebooks_and_readme(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.urls]\nRepository = "https://github.com/new/repo"\n'
    )
    (tmp_path / "notebooks").mkdir()
    source = (ROOT / "notebooks" / "01_theory_and_data.py").read_text()
    old = report.repository_url(ROOT / "pyproject.toml")
    (tmp_path / "notebooks" / "01_theory_and_data.py").write_text(source)
    readme = f"intro\n{report.README_START}\nstale\n{report.README_END}\nend\n"
    (tmp_path / "README.md").write_text(readme)
    changed = report.sync_colab_links(tmp_path)
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
    assert report.sync_colab_links(tmp_path) == []  # idempotent
    problems = report.colab_link_problems(tmp_path)
    assert all("02_model" in p or "03_" in p or "04_" in p or "05_" in p for p in problems)


def test_badges_and_install_lines_agree_with_pyproject():
    """`make badges` has been run: the repo's notebooks and README point at pyproject's URL."""
    assert report.colab_link_problems(ROOT) == []
