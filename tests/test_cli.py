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


# --- issue 30: the final model the config describes; every argument checked first


def user_lines_file(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"{u} {u % 5 + 1} {u % 4 + 2} {u % 3 + 3} 9\n" for u in range(30)))
    return path


def test_train_with_the_refit_on_the_shopping_preset_tests_the_refit(tmp_path, capsys):
    out = tmp_path / "run"
    small = ["max_len=4", "hidden_dim=8", "n_heads=1", "n_layers=1", "epochs=2", "device=cpu"]
    small.append("refit_on_valid=true")  # the preset itself follows the papers' protocol
    data = ["dataset=user-lines", f'events_paths=["{user_lines_file(tmp_path)}"]']
    sets = [arg for pair in [*data, *small] for arg in ("--set", pair)]
    main(["train", "--preset", "shopping", *sets, "--out", str(out)])
    report = json.loads((out / "metrics.json").read_text())
    assert report["tested"] == "final.pt" and report["refit_on_valid"] is True
    final = load_checkpoint(out / "final.pt")
    assert final["config"]["refit_on_valid"] is True
    assert final["config"]["epochs"] == report["best_epoch"]  # the refit's epochs
    for name in ("best.pt", "last.pt"):  # trained on training items only, and say so
        assert load_checkpoint(out / name)["config"]["refit_on_valid"] is False


def refuse_work(monkeypatch):
    """Make any data loading fail loudly: the checks must come first."""
    from sasrec_utils import cli

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(cli, "prepare_data", no_work)
    monkeypatch.setattr(cli, "synthetic_events", no_work)


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_bad_test_max_users_is_refused_before_any_work(tmp_path, monkeypatch, value):
    refuse_work(monkeypatch)
    says = rf"^sasrec train: --test-max-users must be an integer >= 1, got {value}$"
    with pytest.raises(SystemExit, match=says):
        main(["train", "--test-max-users", value, "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_a_config_that_is_a_folder_is_named_in_one_line(tmp_path, monkeypatch):
    refuse_work(monkeypatch)
    with pytest.raises(SystemExit, match=r"^sasrec train: --config .*: is a folder; pass a JSON"):
        main(["train", "--config", str(tmp_path), "--out", str(tmp_path / "run")])


def test_an_out_that_is_a_file_is_refused_before_training(tmp_path, monkeypatch):
    refuse_work(monkeypatch)
    taken = tmp_path / "taken"
    taken.write_text("mine")
    with pytest.raises(
        SystemExit, match=r"^sasrec train: --out .*taken: is a file; pass a folder$"
    ):
        main(["train", "--out", str(taken)])
    inside = r"^sasrec train: --out .*taken/run: is inside .*taken, which is a file"
    with pytest.raises(SystemExit, match=inside):
        main(["train", "--out", str(taken / "run")])
    assert taken.read_text() == "mine"


def test_an_out_that_links_to_nothing_is_refused_before_training(tmp_path, monkeypatch):
    refuse_work(monkeypatch)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone")
    with pytest.raises(SystemExit, match=r"^sasrec train: --out .*dangling: .* a link to nothing"):
        main(["train", "--out", str(dangling)])
    assert dangling.is_symlink() and not (tmp_path / "gone").exists()


def test_an_out_holding_an_earlier_run_is_left_as_it_was(tmp_path, monkeypatch):
    refuse_work(monkeypatch)
    (tmp_path / "best.pt").write_bytes(b"earlier")
    says = r"^sasrec train: --out .*: already holds best\.pt of an earlier run"
    with pytest.raises(SystemExit, match=says):
        main(["train", "--out", str(tmp_path)])
    assert (tmp_path / "best.pt").read_bytes() == b"earlier"


def test_synthetic_into_a_file_or_with_a_negative_seed_is_one_line(tmp_path, monkeypatch):
    refuse_work(monkeypatch)
    taken = tmp_path / "taken"
    taken.write_text("mine")
    with pytest.raises(SystemExit, match=r"^sasrec synthetic: out_dir .*taken/out: is inside"):
        main(["synthetic", str(taken / "out")])
    with pytest.raises(SystemExit, match=r"^sasrec synthetic: --seed must be an integer >= 0"):
        main(["synthetic", str(tmp_path / "out"), "--seed", "-1"])
    assert not (tmp_path / "out").exists()
