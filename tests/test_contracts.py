"""The files the notebooks pass on, and the parameters table make report reads."""

import json

import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.report import contracts
from sasrec_utils.report.contracts import (
    MAKE_VARIABLES,
    NOTEBOOK_PARAMETERS,
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
            assert name in fields or name in {"artifacts", "report_dir", "n_seeds", "progress"}, (
                notebook,
                name,
            )
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


def test_metrics_round_trip_to_every_folder_and_refuses_foreign_files(tmp_path):
    metrics = {key: key for key in contracts.METRICS_KEYS}
    paths = write_metrics([tmp_path / "a", tmp_path / "b"], metrics)
    assert [p.parent.name for p in paths] == ["a", "b"]
    assert read_metrics(tmp_path / "a") == metrics == read_metrics(paths[1])
    (tmp_path / "old.json").write_text(json.dumps({"systems": {}}))
    with pytest.raises(ValueError, match="not a metrics file of this version"):
        read_metrics(tmp_path / "old.json")
