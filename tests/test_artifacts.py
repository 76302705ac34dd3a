"""What the notebooks hand on: config from parameters, prepared data, checkpoint, contracts."""

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.prepared import PreparedData, data_fingerprint
from sasrec_utils.data.synthetic import synthetic_events
from sasrec_utils.presets import CONFIGS, preset_config
from sasrec_utils.report.artifacts import (
    CHECKPOINT_FILE,
    DATA_FILE,
    ITEMS_FILE,
    SEQUENCES_FILE,
    final_checkpoint,
    load_or_prepare,
    notebook_config,
    preset_changes,
    preset_line,
    project_root,
    save_prepared,
    seed_folder,
    trained_checkpoints,
)
from sasrec_utils.report.contracts import read_training_summary, write_training_summary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    return synthetic_events(tmp_path_factory.mktemp("retail"), n_users=60, n_items=40, n_events=900)


def _retail_config(files, **changes):
    return notebook_config(
        {
            "dataset": "events",
            "events_paths": ",".join(str(p) for p in files.events_paths),
            "vocabulary_path": str(files.vocabulary_path),
            **changes,
        }
    )


def test_notebook_config_treats_none_as_default_and_splits_paths():
    cfg = notebook_config(
        {"epochs": None, "hidden_dim": 32, "events_paths": "a.parquet, b.parquet"}
    )
    assert cfg.epochs == SASRecConfig().epochs
    assert cfg.hidden_dim == 32
    assert cfg.events_paths == ["a.parquet", "b.parquet"]


def test_notebook_config_starts_from_the_preset_and_explicit_parameters_override_it():
    cfg = notebook_config({"preset": "shopping", "dropout": 0.3, "max_len": None}, "03_training")
    preset = CONFIGS["shopping"]  # whatever the preset holds today, but the override
    assert (cfg.max_len, cfg.hidden_dim, cfg.dropout) == (50, preset["hidden_dim"], 0.3)
    assert cfg.train_examples == preset["train_examples"] and cfg.n_heads == preset["n_heads"]
    assert notebook_config({"preset": "shopping"}, "04_evaluation").max_len == 50
    assert notebook_config({"preset": None}, "03_training") == SASRecConfig()
    with pytest.raises(ValueError, match="unknown preset 'x'"):
        notebook_config({"preset": "x"}, "01_theory_and_data")


def test_preset_line_names_the_preset_and_every_setting_it_changed():
    changes = preset_changes("shopping")  # whatever the preset holds today
    default, chosen = SASRecConfig().to_dict(), preset_config("shopping").to_dict()
    assert changes and set(changes) <= set(CONFIGS["shopping"])
    assert changes == {
        name: (default[name], chosen[name])
        for name in CONFIGS["shopping"]
        if default[name] != chosen[name]
    }
    line = preset_line("shopping")
    assert line.startswith("Preset `shopping`")
    for name, (default, value) in changes.items():
        assert f"{name} {default} → {value}" in line
    assert preset_line(None).startswith("Preset: none") and preset_changes(None) == {}


def test_notebook_config_takes_only_the_notebooks_config_parameters():
    namespace = {"epochs": 3, "split": object(), "k": 10, "json": json, "dropout": 0.3}
    cfg = notebook_config(namespace, "03_training")  # split: a later variable, not a parameter
    assert cfg.epochs == 3 and cfg.dropout == 0.3 and cfg.split == "leave_one_out"
    assert notebook_config(namespace, "01_theory_and_data").epochs == SASRecConfig().epochs


def test_project_root_finds_the_checkout_from_a_subfolder(tmp_path):
    assert project_root(ROOT / "notebooks") == ROOT
    assert project_root(tmp_path) == tmp_path.resolve()


def test_load_or_prepare_reuses_matching_artifacts_and_rebuilds_others(retail, tmp_path, caplog):
    cfg = _retail_config(retail)
    with caplog.at_level(logging.WARNING, logger="sasrec_utils.report.artifacts"):
        first = load_or_prepare(tmp_path, cfg)  # nothing saved yet: prepared and saved
    assert "none saved" in caplog.text
    assert (tmp_path / SEQUENCES_FILE).exists() and first.items is None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sasrec_utils.report.artifacts"):
        again = load_or_prepare(tmp_path, cfg)
    assert caplog.text == ""  # loaded, not rebuilt
    assert data_fingerprint(again.sequences) == data_fingerprint(first.sequences)
    assert again.sequences.item_ids.tolist() == first.sequences.item_ids.tolist()
    np.testing.assert_array_equal(again.split.test.targets, first.split.test.targets)
    one_file = _retail_config(retail).replace(events_paths=[str(retail.events_paths[0])])
    with caplog.at_level(logging.WARNING, logger="sasrec_utils.report.artifacts"):
        other = load_or_prepare(tmp_path, one_file)
    assert "saved data is for" in caplog.text
    assert len(other.sequences.sequences.items) < len(first.sequences.sequences.items)
    saved = json.loads((tmp_path / DATA_FILE).read_text())
    assert saved["settings"]["events_paths"] == [str(retail.events_paths[0])]


def test_save_prepared_rewrites_only_when_the_data_changes(retail, tmp_path):
    cfg = _retail_config(retail)
    prepared = load_or_prepare(tmp_path, cfg)
    summary = tmp_path / DATA_FILE
    before = summary.stat().st_mtime_ns, (tmp_path / SEQUENCES_FILE).stat().st_mtime_ns
    time.sleep(0.01)
    save_prepared(tmp_path, cfg, prepared)
    after = summary.stat().st_mtime_ns, (tmp_path / SEQUENCES_FILE).stat().st_mtime_ns
    assert after == before
    fewer = PreparedData(prepared.sequences, prepared.split, pd.DataFrame({"item_id": [1]}))
    save_prepared(tmp_path, cfg, fewer)  # other metadata: written again
    assert summary.stat().st_mtime_ns > before[0]
    assert (tmp_path / ITEMS_FILE).exists()


def test_load_or_prepare_loads_pretrained_vectors_aligned_to_items(retail, tmp_path):
    cfg = _retail_config(retail, embeddings_path=str(retail.embeddings_path))
    prepared = load_or_prepare(tmp_path, cfg)
    assert prepared.pretrained.shape == (prepared.sequences.n_items + 1, 128)
    assert not prepared.pretrained[0].any()


def test_trained_checkpoints_train_when_missing_and_refuse_other_data(retail, tmp_path, tiny_cfg):
    cfg = tiny_cfg.replace(
        epochs=1,
        dataset="events",
        events_paths=[str(p) for p in retail.events_paths],
        vocabulary_path=str(retail.vocabulary_path),
    )
    prepared = load_or_prepare(tmp_path, cfg)
    paths = trained_checkpoints(tmp_path, cfg, prepared, n_seeds=2)
    expected = [seed_folder(tmp_path, s) / CHECKPOINT_FILE for s in (cfg.seed, cfg.seed + 1)]
    assert paths == expected and all(p.exists() for p in paths)
    runs = read_training_summary(tmp_path)["runs"]
    assert [run["seed"] for run in runs] == [cfg.seed, cfg.seed + 1]
    before = [p.stat().st_mtime_ns for p in paths]
    assert trained_checkpoints(tmp_path, cfg, prepared) == paths  # found, not retrained
    assert [p.stat().st_mtime_ns for p in paths] == before
    other = cfg.replace(events_paths=[str(retail.events_paths[0])])
    with pytest.raises(ValueError, match="run notebook 03 with the same data parameters"):
        trained_checkpoints(tmp_path, other, prepared)
    summary = read_training_summary(tmp_path)
    write_training_summary(tmp_path, {**summary, "data_sha256": "0" * 64})  # other data
    with pytest.raises(ValueError, match=r"lists models trained on other data .* run notebook 03"):
        trained_checkpoints(tmp_path, cfg, prepared)
    refit = cfg.replace(refit_on_valid=True)
    assert final_checkpoint(tmp_path, refit, 5) == tmp_path / "seed-5" / "final.pt"
