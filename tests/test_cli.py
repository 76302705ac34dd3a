"""The ``sasrec`` command: train from a config file with overrides, clear errors."""

import json

import pytest

from sasrec_utils.cli import main
from sasrec_utils.data.synthetic import synthetic_events
from sasrec_utils.training.checkpoint import load_checkpoint


def test_train_writes_checkpoints_and_metrics(tmp_path, capsys):
    files = synthetic_events(tmp_path / "data", n_users=60, n_items=40, n_events=900)
    cfg = files.config(max_len=8, hidden_dim=16, n_layers=1, device="cpu").to_dict()
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    out = tmp_path / "run"
    main(["train", "--config", str(tmp_path / "cfg.json"), "--set", "epochs=2", "--out", str(out)])
    report = json.loads((out / "metrics.json").read_text())
    assert report["world_size"] == 1 and len(report["history"]["epoch"]) == 2
    assert 0 <= report["test"]["ndcg@10"] <= 1
    assert load_checkpoint(out / "last.pt")["config"]["epochs"] == 2
    assert '"best_epoch"' in capsys.readouterr().out


def test_a_bad_setting_stops_with_its_name_not_a_traceback(tmp_path):
    with pytest.raises(SystemExit, match="sasrec train: dropout must be a number in"):
        main(["train", "--set", "dropout=2", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="expected FIELD=VALUE"):
        main(["train", "--set", "dropout", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"^sasrec train: lr must be a finite number, got nan$"):
        main(["train", "--set", "lr=NaN", "--out", str(tmp_path)])


def test_a_diverged_run_stops_with_the_reason_not_a_traceback(tmp_path):
    files = synthetic_events(tmp_path / "data", n_users=60, n_items=40, n_events=900)
    cfg = files.config(max_len=8, hidden_dim=16, n_layers=1, device="cpu", lr=1e8).to_dict()
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    out = tmp_path / "run"
    # one step per epoch: its loss is finite, but the weights it leaves overflow the scores
    says = r"^sasrec train: training stopped: validation scores became NaN or inf for 58 of 58 "
    with pytest.raises(SystemExit, match=says), pytest.warns(RuntimeWarning, match="58 of 58"):
        main(["train", "--config", str(tmp_path / "cfg.json"), "--out", str(out)])
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("write", "says"),
    [
        (None, r"--config .*absent\.json: file not found; pass a JSON file of SASRecConfig fields"),
        ("[1, 2]", r"--config .*cfg\.json must hold a JSON object .* found a list"),
        ("{not json", r"--config .*cfg\.json is not valid JSON \(.*line 1 column 2"),
    ],
)
def test_a_bad_config_file_is_named_in_one_line(tmp_path, write, says):
    path = tmp_path / ("absent.json" if write is None else "cfg.json")
    if write is not None:
        path.write_text(write)
    with pytest.raises(SystemExit, match=f"^sasrec train: {says}"):
        main(["train", "--config", str(path), "--out", str(tmp_path / "run")])


def test_a_missing_events_file_is_named_in_one_line(tmp_path):
    cfg = {"dataset": "events", "events_paths": [str(tmp_path / "gone.parquet")]}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(SystemExit, match=r"^sasrec train: .*gone\.parquet: file not found$"):
        main(["train", "--config", str(tmp_path / "cfg.json"), "--out", str(tmp_path / "run")])
