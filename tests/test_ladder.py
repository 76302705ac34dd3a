"""The ablation ladder: steps read from the file, the deployment row apart, one figure."""

import pytest

from sasrec_utils.report.ladder import DEPLOYMENT_STEP, ladder_figure, ladder_table

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


def test_the_figure_has_one_bar_per_step_and_every_seed_as_a_dot():
    figure = ladder_figure(ladder_table(_with_ladder()))
    axis = figure.axes[0]
    assert len(axis.patches) == 3
    dots = sum(len(line.get_xdata()) for line in axis.lines)
    assert dots == 2 + 2 + 2
    heights = {t.get_text(): t.get_position()[1] for t in axis.get_yticklabels()}
    assert heights["paper"] > heights["+ ce"] > heights[DEPLOYMENT_STEP]  # read top down
