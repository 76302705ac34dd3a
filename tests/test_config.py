import dataclasses
import json

import pytest

from sasrec_utils.config import SASRecConfig, parse_overrides


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_len", 1),
        ("hidden_dim", 30),  # not divisible by n_heads=4
        ("dropout", 1.0),
        ("dropout", -0.1),
        ("lr", 0),
        ("epochs", 0),
        ("dataset", "ml-10m"),
        ("loss", "hinge"),
        ("device", "tpu"),
        ("batch_size", 2.5),
        ("batch_tokens", -1),
        ("amp", "yes"),
        ("softmax_dtype", "float16"),
    ],
)
def test_impossible_values_name_the_field(field, value):
    changes = {"n_heads": 4, field: value} if field == "hidden_dim" else {field: value}
    with pytest.raises(ValueError) as error:
        SASRecConfig(**changes)
    assert field in str(error.value)


def test_round_trip_and_unknown_keys():
    cfg = SASRecConfig(hidden_dim=32, loss="bce")
    assert SASRecConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="hiden_dim"):
        SASRecConfig.from_dict({"hiden_dim": 32})
    assert cfg.replace(epochs=3).epochs == 3
    with pytest.raises(ValueError, match="events_paths"):
        SASRecConfig(dataset="events")


def test_overrides_are_json_when_they_parse_else_strings():
    parsed = parse_overrides(["lr=0.002", "loss=gbce", "amp=false", 'events_paths=["a"]'])
    assert parsed == {"lr": 0.002, "loss": "gbce", "amp": False, "events_paths": ["a"]}
    with pytest.raises(ValueError, match="expected FIELD=VALUE, got 'lr'"):
        parse_overrides(["lr"])


FLOAT_FIELDS = [
    "dropout",
    "frequency_mix",
    "attention_dropout",
    "contrastive_weight",
    "contrastive_temperature",
    "gbce_t",
    "label_smoothing",
    "lr",
    "weight_decay",
    "grad_clip",
    "horizon_decay",
]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("field", FLOAT_FIELDS)
def test_nan_and_infinite_floats_are_refused_by_name(field, value):
    """NaN passes every range check (its comparisons are all False), so it is refused first."""
    with pytest.raises(ValueError) as error:
        SASRecConfig(**{field: value})
    assert str(error.value) == f"{field} must be a finite number, got {value!r}"


def test_every_float_field_is_checked_and_json_nan_is_refused():
    declared = [f.name for f in dataclasses.fields(SASRecConfig) if f.type in ("float", float)]
    assert sorted(declared) == sorted(FLOAT_FIELDS)  # a new float field joins the check
    with pytest.raises(ValueError, match=r"^lr must be a finite number, got nan$"):
        SASRecConfig(**parse_overrides(["lr=NaN"]))  # what `sasrec train --set` reads
    assert SASRecConfig(lr=1e8, grad_clip=0.0).lr == 1e8  # finite but too high: for fit


def test_amp_takes_effect_on_cuda_only():
    assert SASRecConfig(amp=True).amp_on("cuda")
    assert not SASRecConfig(amp=True).amp_on("cpu")
    assert not SASRecConfig(amp=False).amp_on("cuda")


@pytest.mark.parametrize("loss", ["ce", "bce", "gbce"])
def test_in_batch_negatives_without_sampled_softmax_is_refused_by_name(loss):
    with pytest.raises(ValueError, match=r"in_batch_negatives=True needs loss='sampled_softmax'"):
        SASRecConfig(loss=loss, in_batch_negatives=True)
    assert SASRecConfig(loss="sampled_softmax", in_batch_negatives=True).in_batch_negatives


@pytest.mark.parametrize("loss", ["bce", "sampled_softmax", "gbce"])
def test_a_bfloat16_softmax_without_the_full_softmax_is_refused_by_name(loss):
    with pytest.raises(ValueError, match=r"softmax_dtype='bfloat16' needs loss='ce'"):
        SASRecConfig(loss=loss, softmax_dtype="bfloat16")
    assert SASRecConfig(loss="ce", softmax_dtype="bfloat16").softmax_dtype == "bfloat16"


def test_numpy_scalars_are_taken_as_the_numbers_they_are():
    import numpy as np

    cfg = SASRecConfig(
        max_len=np.int64(16), hidden_dim=np.int32(32), dropout=np.float32(0.25), amp=np.bool_(0)
    )
    assert (cfg.max_len, cfg.hidden_dim, cfg.dropout, cfg.amp) == (16, 32, 0.25, False)
    assert [type(v) for v in (cfg.max_len, cfg.dropout, cfg.amp)] == [int, float, bool]
    swept = [SASRecConfig(max_len=m).max_len for m in np.arange(10, 40, 10)]  # a sweep
    assert swept == [10, 20, 30] and json.dumps(cfg.to_dict())  # plain JSON again
    with pytest.raises(ValueError, match=r"max_len must be an integer >= 2, got 1"):
        SASRecConfig(max_len=np.int64(1))
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        SASRecConfig(batch_size=np.float64(2.5))


def test_path_objects_are_stored_as_strings(tmp_path):
    from pathlib import Path

    cfg = SASRecConfig(
        dataset="user-lines",
        events_paths=[Path("a.txt")],
        data_dir=Path("data"),
        embeddings_path=tmp_path / "e.parquet",
    )
    assert cfg.events_paths == ["a.txt"] and cfg.data_dir == "data"
    assert cfg.embeddings_path == str(tmp_path / "e.parquet")
    json.dumps(cfg.to_dict())  # what a checkpoint and metrics.json hold
