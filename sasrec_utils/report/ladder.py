"""The ablation ladder on shopping data: from the SASRec paper's model, one change at a
time, to the shopping preset, read from ``benchmark_beauty.json``'s ``ladder`` list.

Every step was trained on the training items only (the papers' protocol) and tested once
on the held-out seeds (``benchmarks/bench.py --ladder``). The retrained-on-validation
(deployment) figure comes last, from the benchmark's ``train+valid`` summary, and is
labelled as the different protocol it is. Nothing here computes a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .contracts import has_held_out, held_out_summary
from .plots import new_figure
from .protocol import TRAIN, TRAIN_VALID

DEPLOYMENT_STEP = "deployment: the preset retrained on the validation item too"


def ladder_table(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """One row per step: what it changed, test NDCG@10 mean ± sd and per seed, HR@10, the
    change in NDCG@10 from the step before, and seconds per epoch; then the deployment
    row when the file has one (its change is against the last papers'-protocol step)."""
    rows = [
        {
            "step": step["name"],
            "trained on": step["trained_on"],
            "ndcg@10": step["ndcg@10"],
            "sd": step["ndcg@10_sd"],
            "per seed": ", ".join(f"{v:.4f}" for v in step["ndcg@10_per_seed"]),
            "hr@10": step["hr@10"],
            "s per epoch": step["s_per_epoch"],
        }
        for step in benchmark["ladder"]
    ]
    if has_held_out(benchmark, TRAIN_VALID):
        refit = held_out_summary(benchmark, trained_on=TRAIN_VALID)
        rows.append(
            {
                "step": DEPLOYMENT_STEP,
                "trained on": TRAIN_VALID,
                "ndcg@10": refit["ndcg@10"],
                "sd": refit["ndcg@10_sd"],
                "per seed": ", ".join(f"{v:.4f}" for v in refit["ndcg@10_per_seed"]),
                "hr@10": refit["hr@10"],
                "s per epoch": None,
            }
        )
    table = pd.DataFrame(rows)
    table.insert(4, "change", table["ndcg@10"].diff())
    return table.set_index("step")


def ladder_figure(table: pd.DataFrame) -> Figure:
    """Test NDCG@10 per ladder step: the mean (bar) and each seed (dots), papers' protocol
    in one colour and the deployment row, a different protocol, hatched apart."""
    fig, (axis,) = new_figure(1, width=9.0, height=0.55 * len(table) + 1.2)
    positions = np.arange(len(table))[::-1]
    for position, (_, row) in zip(positions, table.iterrows(), strict=True):
        papers = row["trained on"] == TRAIN
        axis.barh(
            position,
            row["ndcg@10"],
            color="#1f77b4" if papers else "#cccccc",
            hatch=None if papers else "//",
            edgecolor="#555555",
        )
        seeds = [float(v) for v in row["per seed"].split(", ")]
        axis.plot(seeds, [position] * len(seeds), "k.", markersize=5)
        axis.text(row["ndcg@10"], position, f" {row['ndcg@10']:.4f}", va="center", fontsize=8)
    axis.set_yticks(positions, [str(step) for step in table.index], fontsize=8)
    axis.set_xlabel("test NDCG@10 (bar: mean over held-out seeds; dots: each seed)")
    axis.set_title("From the paper's SASRec to the shopping preset, one change at a time")
    axis.set_xlim(0, table["ndcg@10"].max() * 1.18)
    fig.tight_layout()
    return fig
