"""Named settings: every preset is a valid config; unknown names are refused by name."""

import itertools

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


def test_the_shopping_ladder_climbs_one_change_at_a_time_to_the_preset():
    from sasrec_utils.config import SASRecConfig
    from sasrec_utils.presets import SHOPPING_LADDER, ladder_configs

    base = preset_config("shopping", dataset="amazon-beauty")
    steps = ladder_configs(base)
    assert [name for name, _, _ in steps] == [name for name, _ in SHOPPING_LADDER]
    first, last = steps[0][2], steps[-1][2]
    assert first.loss == "bce" and first.ffn_activation == "relu" and first.hidden_dim == 50
    assert last == base.replace(refit_on_valid=False)  # the ladder ends at the preset
    assert all(cfg.dataset == "amazon-beauty" for _, _, cfg in steps)
    # the machine's settings reach every step (bench.py --set num_threads=1 device=cpu)
    on_machine = ladder_configs(base.replace(num_threads=1, device="cpu"))
    assert all(cfg.num_threads == 1 and cfg.device == "cpu" for _, _, cfg in on_machine)
    assert on_machine[0][2].hidden_dim == 50  # and nothing of the recipe
    for (_, _, before), (_, changes, after) in itertools.pairwise(steps):
        assert after == before.replace(**changes)  # each step changes only what it names
    assert SASRecConfig().replace(**CONFIGS["shopping"]).refit_on_valid is False  # papers'


def test_the_ablation_takes_the_frequency_filter_from_the_preset_and_nothing_else():
    from sasrec_utils.presets import ablation_configs, ladder_configs

    base = preset_config("shopping", dataset="amazon-beauty", num_threads=1)
    preset = ladder_configs(base)[-1][2]
    ((name, changes, plain),) = ablation_configs(base)
    assert name.startswith("ablation: ") and changes == {"frequency_mix": 0.0}
    assert plain.frequency_mix == 0.0 and preset.frequency_mix > 0
    assert plain.replace(frequency_mix=preset.frequency_mix) == preset
    assert plain.num_threads == 1  # the machine's settings, as every ladder step
