"""The ablation ladder: steps read from the file, the deployment row apart, one figure."""

import numpy as np
import pytest

from sasrec_utils.report.ladder import (
    DEPLOYMENT_STEP,
    ladder_figure,
    ladder_progress,
    ladder_table,
    paired_changes,
    reused_runs_note,
    seed_interval,
)

from .test_shopping_report import shopping_benchmark


def _with_ladder():
    benchmark = shopping_benchmark()
    step = {"trained_on": "train", "seeds": [100, 101], "s_per_epoch": 9.0}
    benchmark["ladder"] = [
        {
            **step,
            "name": "paper",
            "changes": {"loss": "bce"},
            "ndcg@10": 0.03,
            "ndcg@10_sd": 0.001,
            "ndcg@10_per_seed": [0.029, 0.031],
            "hr@10": 0.06,
        },
        {
            **step,
            "name": "+ ce",
            "changes": {"loss": "ce"},
            "ndcg@10": 0.05,
            "ndcg@10_sd": 0.002,
            "ndcg@10_per_seed": [0.048, 0.052],
            "hr@10": 0.08,
        },
    ]
    return benchmark


def test_steps_keep_their_order_and_the_refit_comes_last_labelled_apart():
    table = ladder_table(_with_ladder())
    assert list(table.index) == ["paper", "+ ce", DEPLOYMENT_STEP]
    assert table["trained on"].tolist() == ["train", "train", "train+valid"]
    assert table.loc["+ ce", "change"] == pytest.approx(0.02)
    assert table.loc[DEPLOYMENT_STEP, "ndcg@10"] == pytest.approx(0.065)  # the summary's
    assert table.loc["+ ce", "per seed"] == "0.0480, 0.0520"
    assert table["seeds"].tolist() == ["2 of 2", "2 of 2", "2 of 2"]
    assert table.loc["paper", "95% interval"] == "0.0173 – 0.0427"  # t with 1 df: 12.706
    assert ladder_progress(_with_ladder()) is None  # every step has its planned seeds


def test_the_figure_has_one_bar_per_step_and_every_seed_as_a_dot():
    figure = ladder_figure(ladder_table(_with_ladder()))
    axis = figure.axes[0]
    assert len(axis.patches) == 3
    dots = sum(len(line.get_xdata()) for line in axis.lines)
    assert dots == 2 + 2 + 2
    intervals = [c.get_segments()[0] for c in axis.collections]  # one line per step
    assert [tuple(seg[:, 0].round(4)) for seg in intervals][:2] == [
        (0.0173, 0.0427),
        (0.0246, 0.0754),
    ]
    labels = axis.get_yticklabels()  # long names wrapped onto lines
    heights = {t.get_text().replace("\n", " "): t.get_position()[1] for t in labels}
    assert heights["paper"] > heights["+ ce"] > heights[DEPLOYMENT_STEP]  # read top down


def test_an_unfinished_ladder_says_so_and_draws_only_what_was_measured():
    benchmark = _with_ladder()
    for step in benchmark["ladder"]:
        step["seeds_planned"] = [100, 101, 102]
    benchmark["ladder"].append(
        {"name": "+ prefixes", "changes": {}, "trained_on": "train", "seeds": []}
        | {"seeds_planned": [100, 101, 102]}
    )
    table = ladder_table(benchmark)
    assert table["seeds"].tolist() == ["2 of 3", "2 of 3", "0 of 3", "2 of 2"]
    assert table.loc["+ prefixes", "per seed"] == "" and table["ndcg@10"].isna().sum() == 1
    assert ladder_progress(benchmark).startswith("The ladder is not finished: 4 of 9 trainings")
    axis = ladder_figure(table).axes[0]
    assert len(axis.patches) == 3  # no bar for the step not measured yet
    texts = [t.get_text() for t in axis.texts]
    assert " not measured yet" in texts and " 0.0500 (2 of 3 seeds)" in texts
    assert " 0.0650" in texts  # the deployment row has all its seeds
    benchmark["ladder"][0] |= {"seeds": [100], "ndcg@10_per_seed": [0.03], "ndcg@10_sd": 0.0}
    assert np.isnan(ladder_table(benchmark).loc["paper", "sd"])  # one seed has no sd


def test_the_seed_interval_is_students_t_over_the_seeds():
    # three seeds: mean 0.027567, sd 0.00023094, t(0.975, 2 df) = 4.302653
    low, high = seed_interval([0.0277, 0.0273, 0.0277])
    assert (low, high) == (pytest.approx(0.0269930, abs=1e-6), pytest.approx(0.0281404, abs=1e-6))
    assert all(np.isnan(seed_interval([0.03])))  # one seed has no interval
    low, high = seed_interval([0.03, 0.03, 0.03])
    assert low == high == pytest.approx(0.03)


def test_the_last_step_says_which_of_its_runs_are_the_benchmarks():
    benchmark = _with_ladder()
    assert reused_runs_note(benchmark) is None  # every step trained its own
    benchmark["ladder"][-1]["runs_from_benchmark"] = [100, 101]
    assert reused_runs_note(benchmark).startswith(
        "The ladder's last step is the preset itself: its seeds 100, 101 are the held-out runs"
    )
    assert "read from the ladder" not in reused_runs_note(benchmark)
    benchmark["ladder"][-1].pop("runs_from_benchmark")
    benchmark["ladder"][0]["read_back"] = True  # measured by an earlier run of the same code
    assert reused_runs_note(benchmark).startswith("Step 1 was read from the ladder")
    assert reused_runs_note(benchmark).endswith("not trained again: it ran the same training code.")
    benchmark["ladder_reproduction"] = {
        "step": 0,
        "seed": 100,
        "reproduced": True,
        "ndcg@10": [0.029, 0.029],
        "hr@10": [0.06, 0.06],
    }
    assert reused_runs_note(benchmark).endswith(
        "not trained again: it ran earlier training code, and this code reproduces its "
        "figures (step 1 trained again on seed 100: test NDCG@10 0.02900 and HR@10 0.06000, "
        "as stored)."
    )


def test_steps_read_back_are_named_as_runs_of_numbers():
    steps = [{"name": str(i), "seeds": [100], "read_back": i not in (4, 7)} for i in range(1, 9)]
    note = reused_runs_note({"ladder": steps})
    assert note.startswith("Steps 1–3, 5–6, 8 were read from the ladder an earlier")


def test_an_ablation_and_the_deployment_row_are_set_against_the_preset():
    benchmark = _with_ladder()
    benchmark["ladder"][-1]["runs_from_benchmark"] = [100, 101]  # "+ ce": the preset here
    benchmark["ladder"].append(
        {
            "name": "ablation: no ce",
            "changes": {"loss": "bce"},
            "trained_on": "train",
            "ablation": True,
            "seeds": [100, 101],
            "ndcg@10": 0.04,
            "ndcg@10_sd": 0.001,
            "ndcg@10_per_seed": [0.039, 0.041],
            "hr@10": 0.07,
        }
    )
    table = ladder_table(benchmark)
    assert list(table.index) == ["paper", "+ ce", "ablation: no ce", DEPLOYMENT_STEP]
    assert table["part"].tolist() == ["ladder", "ladder", "ablation", "deployment"]
    assert table.loc["ablation: no ce", "change"] == pytest.approx(0.04 - 0.05)
    assert table.loc[DEPLOYMENT_STEP, "change"] == pytest.approx(0.065 - 0.05)  # not - 0.04
    assert table.loc["+ ce", "change"] == pytest.approx(0.02)
    assert reused_runs_note(benchmark) is not None  # read from the preset's row
    bars = ladder_figure(table).axes[0].patches
    colours = [tuple(round(c, 3) for c in bar.get_facecolor()[:3]) for bar in bars]
    assert colours[0] == colours[1] != colours[2] != colours[3]  # ablation apart


def test_each_change_is_paired_by_seed_with_its_interval_over_the_seeds():
    benchmark = _with_ladder()
    # "+ ce" lists its seeds the other way round: pairing follows the seed, not the place
    benchmark["ladder"][1].update(seeds=[101, 100], **{"ndcg@10_per_seed": [0.052, 0.048]})
    table = ladder_table(benchmark)
    # per seed: 100: 0.048 - 0.029 = 0.019, 101: 0.052 - 0.031 = 0.021; mean 0.02, sd
    # 0.0014142; t(0.975, 1 df) = 12.7062 -> half width 12.7062 * 0.0014142 / sqrt(2) = 0.0127
    assert table.loc["+ ce", "change per seed"] == "+0.0190, +0.0210"
    assert table.loc["+ ce", "change 95% interval"] == "+0.0073 – +0.0327"
    assert table.loc["paper", "change per seed"] == ""  # the first step has nothing before it
    # the deployment row (0.064 / 0.066 on seeds 100 / 101) is paired with the preset ("+ ce")
    assert table.loc[DEPLOYMENT_STEP, "change per seed"] == "+0.0160, +0.0140"
    assert table.loc[DEPLOYMENT_STEP, "change 95% interval"] == "+0.0023 – +0.0277"


def test_paired_changes_keep_only_the_seeds_both_sides_have():
    changes = paired_changes({100: 0.05, 101: 0.06, 102: 0.07}, {101: 0.055, 100: 0.045})
    assert changes == {100: pytest.approx(0.005), 101: pytest.approx(0.005)}
