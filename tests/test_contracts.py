"""The files the notebooks pass on, and the parameters table make report reads."""

import json
from dataclasses import replace

import pandas as pd
import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.evaluation.metrics import BootstrapPair
from sasrec_utils.presets import preset_config
from sasrec_utils.report import contracts
from sasrec_utils.report.contracts import (
    MAKE_VARIABLES,
    NOTEBOOK_PARAMETERS,
    Evaluation,
    benchmark_pair,
    bootstrap_pairs,
    non_default_label,
    read_metrics,
    read_training_summary,
    write_metrics,
    write_training_summary,
)


def test_parameter_table_names_known_variables_and_config_fields():
    fields = set(SASRecConfig.__dataclass_fields__)
    for notebook, names in NOTEBOOK_PARAMETERS.items():
        assert len(set(names)) == len(names), notebook
        for name in names:
            assert name in MAKE_VARIABLES, (notebook, name)
            extra = {"artifacts", "report_dir", "n_seeds", "progress", "preset", "ease_max_items"}
            assert name in fields or name in extra, (notebook, name)
    assert len(set(MAKE_VARIABLES.values())) == len(MAKE_VARIABLES)


def test_training_summary_round_trip_and_missing_keys(tmp_path):
    run = {key: index for index, key in enumerate(contracts.RUN_KEYS)}
    summary = {key: key for key in contracts.TRAINING_KEYS} | {"runs": [{**run, "extra": 1}]}
    write_training_summary(tmp_path, {**summary, "extra": 1})
    assert read_training_summary(tmp_path) == {**summary, "runs": [run]}  # only the contract
    assert read_training_summary(tmp_path / "elsewhere") == {}
    with pytest.raises(ValueError, match="lacks"):
        write_training_summary(tmp_path, {"best_epoch": 3})
    with pytest.raises(ValueError, match=r"runs\[0\].seed"):
        write_training_summary(tmp_path, {**summary, "runs": [{"best_epoch": 3}]})


def _evaluation(cfg: SASRecConfig, seeds=(42, 43, 44)) -> Evaluation:
    summary = {"n_seeds": 1, "mean": {"ndcg@10": 0.1}, "sd": {"ndcg@10": 0.0}, "per_seed": {}}
    pair = BootstrapPair("SASRec", "markov", 0.01, -0.002, 0.02, 0.1, -0.02, 0.2, 100, 943)
    return Evaluation(
        cfg=cfg,
        n_queries=943,
        n_items=1682,
        seeds=list(seeds),
        systems={"SASRec": summary, "ensemble": summary},
        tuned={},
        best_baseline="markov",
        pairs=[pair],
        sessions=pd.DataFrame({"items_seen": [1], "system": ["SASRec"], "ndcg@10": [0.05]}),
        sampled={"SASRec": {"sampled_hr@10": 0.7}},
        n_negatives=100,
        by_history_length=pd.DataFrame({"bucket": ["3–10"], "ndcg@10": [0.1]}),
        training={"runs": []},
        describes={"data_sha256": "d" * 64, "config_sha256": "c", "checkpoints_sha256": []},
    )


def test_metrics_round_trip_to_every_folder_and_refuses_foreign_files(tmp_path):
    evaluation = _evaluation(SASRecConfig())
    paths = write_metrics([tmp_path / "a", tmp_path / "b"], evaluation)
    assert [p.parent.name for p in paths] == ["a", "b"]
    metrics = read_metrics(tmp_path / "a")
    assert metrics == read_metrics(paths[1]) and set(metrics) == {
        *contracts.METRICS_KEYS,
        *contracts.OPTIONAL_METRICS_KEYS,
    }
    assert bootstrap_pairs(metrics) == evaluation.pairs  # data, not a string to parse
    assert metrics["bootstrap"]["best_baseline"] == "markov"
    assert metrics["data_sha256"] == "d" * 64 and metrics["ensemble"]["size"] == 3
    assert metrics["sessions"] == [{"items_seen": 1, "system": "SASRec", "ndcg@10": 0.05}]
    (tmp_path / "old.json").write_text(json.dumps({"systems": {}}))
    with pytest.raises(ValueError, match="not a metrics file of this version"):
        read_metrics(tmp_path / "old.json")


def test_non_default_label_names_the_make_variables_of_a_run(tmp_path):
    def label(cfg, seeds=(42, 43, 44)):
        write_metrics([tmp_path], _evaluation(cfg, seeds))
        return non_default_label(read_metrics(tmp_path))  # as read back from JSON

    assert label(SASRecConfig()) == ""
    assert label(SASRecConfig(device="cpu")) == ""  # where it ran, not what it ran
    assert label(SASRecConfig(epochs=2), seeds=(42,)) == "EPOCHS=2, 1 seed"
    assert label(SASRecConfig(dropout=0.3, seed=7), seeds=(7, 8)) == "DROPOUT=0.3, SEED=7, 2 seeds"
    assert label(SASRecConfig(refit_on_valid=True)) == "refit_on_valid=True"


def test_non_default_label_of_a_preset_run_names_it_then_what_differs_from_it(tmp_path):
    def label(cfg, preset, seeds=(42, 43, 44)):
        write_metrics([tmp_path], replace(_evaluation(cfg, seeds), preset=preset))
        return non_default_label(read_metrics(tmp_path))

    shopping = preset_config("shopping", dataset="amazon-beauty")
    assert label(shopping, "shopping") == "PRESET=shopping, DATASET=amazon-beauty"
    assert label(shopping.replace(epochs=1), "shopping", (42,)) == (
        "PRESET=shopping, DATASET=amazon-beauty, EPOCHS=1, 1 seed"
    )
    # without the preset recorded, its settings count as changes from SASRecConfig()
    assert "MAX_LEN=50" in label(shopping, None)


def test_benchmark_pair_is_found_by_its_systems():
    entry = {"difference": 0.01, "difference_low": 0.0, "difference_high": 0.02, "lift": 0.1}
    entry |= {"lift_low": 0.0, "lift_high": 0.2, "n_resamples": 10.0, "n_queries": 943.0}
    pair = benchmark_pair({"bootstrap": {"sasrec - ease": entry}}, "sasrec", "ease")
    assert (pair.system, pair.baseline, pair.n_queries, pair.lift) == ("sasrec", "ease", 943, 0.1)
    with pytest.raises(KeyError, match="no bootstrap 'sasrec - markov'"):
        benchmark_pair({"bootstrap": {"sasrec - ease": entry}}, "sasrec", "markov")
