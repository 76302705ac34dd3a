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
