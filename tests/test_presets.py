"""Named settings: every preset is a valid config; unknown names are refused by name."""

import pytest

from sasrec_utils.presets import CONFIGS, LOG_SIZES, preset_config


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_config_preset_builds_and_changes_apply_last(name):
    cfg = preset_config(name, seed=7)
    assert cfg.seed == 7
    for field, value in CONFIGS[name].items():
        assert getattr(cfg, field) == value


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown preset 'retial'.*'ml1m-t4', 'retail'"):
        preset_config("retial")


def test_log_sizes_grow_from_tiny_to_retail():
    assert [LOG_SIZES[n]["n_events"] for n in ("tiny", "mid", "retail")] == sorted(
        LOG_SIZES[n]["n_events"] for n in LOG_SIZES
    )
