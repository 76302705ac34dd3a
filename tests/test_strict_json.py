"""JSON files are strict (RFC 8259): no bare NaN, numpy values as plain numbers."""

import json

import numpy as np
import pytest

from sasrec_utils.atomic import NULL_REASONS, as_read_back, atomic_write_json


def test_nan_and_inf_are_written_as_null_with_the_reason(tmp_path):
    path = tmp_path / "metrics.json"
    value = {"test": {"mrr": float("nan"), "hr@10": 0.5}, "history": {"loss": [1.0, float("inf")]}}
    with pytest.warns(
        RuntimeWarning, match=r"metrics\.json: 2 value\(s\) not finite.*test\.mrr \(NaN\)"
    ):
        atomic_write_json(path, value)
    text = path.read_text()
    assert "NaN" not in text.replace('"NaN"', "") and "Infinity" not in text
    stored = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    assert stored["test"] == {"mrr": None, "hr@10": 0.5}
    assert stored["history"]["loss"] == [1.0, None]
    assert stored[NULL_REASONS] == {"test.mrr": "NaN", "history.loss[1]": "inf"}
    assert value["test"]["mrr"] != value["test"]["mrr"]  # the caller's dict is untouched


def test_numpy_values_are_written_as_plain_numbers(tmp_path):
    path = tmp_path / "counts.json"
    atomic_write_json(path, {"n": np.int64(943), "x": np.float32(0.5), "v": np.arange(3)})
    assert json.loads(path.read_text()) == {"n": 943, "x": 0.5, "v": [0, 1, 2]}


def test_a_config_compares_equal_to_the_same_config_read_back_from_a_file(tmp_path):
    config = {"blocks": (1, 2), "sizes": {3: "three"}, "lr": 0.001}
    path = atomic_write_json(tmp_path / "config.json", config)
    assert config != json.loads(path.read_text())  # a tuple and an int key do not survive
    expected = {"blocks": [1, 2], "sizes": {"3": "three"}, "lr": 0.001}
    assert as_read_back(config) == json.loads(path.read_text()) == expected
