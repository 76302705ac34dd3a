"""The ablation ladder on shopping data: from the SASRec paper's model, one change at a
time, to the shopping preset, read from ``benchmark_beauty.json``'s ``ladder`` list.

Every step was trained on the training items only (the papers' protocol) and tested once
on the held-out seeds (``benchmarks/bench.py --ladder``), and so was each ablation after
it: the preset with one part taken away (``presets.SHOPPING_ABLATIONS``). The
retrained-on-validation (deployment) figure comes last, from the benchmark's
``train+valid`` summary, and is labelled as the different protocol it is. Nothing here
computes a metric.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from .contracts import has_held_out, held_out_summary
from .plots import new_figure
from .protocol import TRAIN_VALID

DEPLOYMENT_STEP = "deployment: the preset retrained on the validation item too"
LABEL_WIDTH = 48  # characters per line of a step's name in the figure
PART_COLOURS = {"ladder": "#1f77b4", "ablation": "#ff7f0e", "deployment": "#cccccc"}


def ladder_table(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """One row per step: what it changed, the held-out seeds finished of those planned,
    test NDCG@10 mean ± sd, its 95% interval over seeds and the per-seed values, HR@10, the
    change in NDCG@10 from the step before (of the means; per seed, paired on the seeds
    both steps have; and the paired change's 95% interval over those seeds), and seconds
    per epoch (a step with no seed finished yet: its name, the rest empty); then the
    ablations (``"ablation": true``) and the deployment row when the file has one, each
    with its change against the preset (the last step of the ladder proper)."""
    rows = [
        {
            "step": step["name"],
            "part": "ablation" if step.get("ablation", False) else "ladder",
            "trained on": step["trained_on"],
            "seeds": _seeds_done(step["seeds"], _planned(step)),
            "ndcg@10": step.get("ndcg@10", np.nan),
            "sd": step["ndcg@10_sd"] if len(step["seeds"]) > 1 else np.nan,
            "95% interval": _shown(step.get("ndcg@10_per_seed", [])),
            "per seed": _listed(step.get("ndcg@10_per_seed", [])),
            "hr@10": step.get("hr@10", np.nan),
            "s per epoch": step.get("s_per_epoch", np.nan),
        }
        for step in benchmark["ladder"]
    ]
    deployment = _deployment(benchmark)
    for refit in deployment:
        rows.append(
            {
                "step": DEPLOYMENT_STEP,
                "part": "deployment",
                "trained on": TRAIN_VALID,
                "seeds": _seeds_done(refit["seeds"], refit["seeds"]),
                "ndcg@10": refit["ndcg@10"],
                "sd": refit["ndcg@10_sd"],
                "95% interval": _shown(refit["ndcg@10_per_seed"]),
                "per seed": _listed(refit["ndcg@10_per_seed"]),
                "hr@10": refit["hr@10"],
                "s per epoch": np.nan,
            }
        )
    table = pd.DataFrame(rows)
    preset = _preset_index(benchmark["ladder"])
    reference = [i - 1 if i <= preset else preset for i in range(len(table))]
    before = [table["ndcg@10"].iloc[i] if i >= 0 else np.nan for i in reference]
    at = table.columns.get_loc("per seed") + 1
    table.insert(at, "change", table["ndcg@10"] - before)
    per_seed = [_by_seed(row) for row in [*benchmark["ladder"], *deployment]]
    changes = [
        paired_changes(per_seed[i], per_seed[r]) if r >= 0 else {} for i, r in enumerate(reference)
    ]
    table.insert(at + 1, "change per seed", [_listed(c.values(), "+") for c in changes])
    table.insert(at + 2, "change 95% interval", [_shown(list(c.values()), "+") for c in changes])
    return table.set_index("step")


def paired_changes(values: Mapping[int, float], reference: Mapping[int, float]) -> dict[int, float]:
    """Per seed, ``values`` minus ``reference`` on the seeds both have (a paired change:
    the same seed's initialisation and batch order on both sides), in seed order."""
    return {seed: values[seed] - reference[seed] for seed in sorted(values) if seed in reference}


def _by_seed(step: Mapping[str, Any]) -> dict[int, float]:
    """A step's test NDCG@10 keyed by its held-out seed."""
    return dict(zip(step["seeds"], step.get("ndcg@10_per_seed", []), strict=True))


def _deployment(benchmark: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The deployment (``train+valid``) summary as a one-item list, or an empty one."""
    if not has_held_out(benchmark, TRAIN_VALID):
        return []
    return [held_out_summary(benchmark, trained_on=TRAIN_VALID)]


def _listed(values: Iterable[float], sign: str = "") -> str:
    """``"0.0277, 0.0273"``: per-seed values as the table shows them (``sign="+"``:
    ``"+0.0012, -0.0003"``, for changes)."""
    return ", ".join(f"{value:{sign}.4f}" for value in values)


def _preset_index(steps: list[Mapping[str, Any]]) -> int:
    """Position of the preset: the last step of the ladder proper (not an ablation)."""
    return max(i for i, step in enumerate(steps) if not step.get("ablation", False))


def seed_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """The ``level`` interval of the mean of per-seed ``values`` (Student's t with n - 1
    degrees of freedom: seed-to-seed variation only, the test users held fixed); NaNs
    when fewer than two seeds."""
    if len(values) < 2:
        return np.nan, np.nan
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    half = stats.t.ppf((1 + level) / 2, len(values) - 1) * sd / np.sqrt(len(values))
    return mean - half, mean + half


def _shown(values: list[float], sign: str = "") -> str:
    """``"0.0270 – 0.0282"``: a seed interval as the table shows it (empty under 2 seeds;
    ``sign="+"``: ``"-0.0004 – +0.0034"``, for a paired change's interval)."""
    low, high = seed_interval(values)
    return "" if np.isnan(low) else f"{low:{sign}.4f} – {high:{sign}.4f}"


def _planned(step: Mapping[str, Any]) -> list[int]:
    """The held-out seeds a step was planned on (a file from before ``seeds_planned``:
    those it has)."""
    return step.get("seeds_planned", step["seeds"])


def _seeds_done(done: list[int], planned: list[int]) -> str:
    """``"2 of 3"``: held-out seeds finished of those planned."""
    return f"{len(done)} of {len(planned)}"


def ladder_progress(benchmark: Mapping[str, Any]) -> str | None:
    """A line saying how much of the ladder is measured, or None when every step has all
    its planned seeds."""
    steps = benchmark["ladder"]
    done = sum(len(step["seeds"]) for step in steps)
    planned = sum(len(_planned(step)) for step in steps)
    if done == planned:
        return None
    return (
        f"The ladder is not finished: {done} of {planned} trainings so far. A step with "
        "fewer seeds than planned shows the mean of those finished (its sd needs two); "
        "a step with none has no bar yet."
    )


def finished_ablations(benchmark: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ablation rows of the file's ladder with every planned seed finished."""
    return [
        step
        for step in benchmark.get("ladder", [])
        if step.get("ablation", False)
        and step["seeds"]
        and len(step["seeds"]) == len(_planned(step))
    ]


def reused_runs_note(benchmark: Mapping[str, Any]) -> str | None:
    """A line saying which of the ladder's figures were read rather than trained: the last
    step's seeds that are the benchmark's own runs above (the preset itself), and the steps
    an earlier run measured for the same config (``"read_back"``), with the same training
    code or with code this one reproduced (``ladder_reproduction``); or None when every
    step trained its own."""
    steps = benchmark["ladder"]
    seeds = steps[_preset_index(steps)].get("runs_from_benchmark")
    read_back = [number for number, step in enumerate(steps, 1) if step.get("read_back")]
    lines = []
    if seeds:
        lines.append(
            "The ladder's last step is the preset itself: its seeds "
            f"{', '.join(map(str, seeds))} are the held-out runs (trained on the training "
            "items only) of the tables above, read rather than trained twice: same "
            "configuration, seeds and training code, and training is deterministic for those."
        )
    if read_back:
        steps_were = "Step {} was" if len(read_back) == 1 else "Steps {} were"
        lines.append(
            f"{steps_were.format(_numbers(read_back))} read from the ladder an earlier `make "
            "bench-beauty` measured, each for the same whole configuration and seeds, not "
            f"trained again: {_measured_by(benchmark.get('ladder_reproduction'))}."
        )
    return " ".join(lines) or None


def _measured_by(check: Mapping[str, Any] | None) -> str:
    """Which code measured the steps read back: this one, or an earlier one that this one
    reproduced (``bench.reproduced_rungs``: one step trained again, the same figures)."""
    if not check:
        return "it ran the same training code"
    return (
        "it ran earlier training code, and this code reproduces its figures (step "
        f"{check['step'] + 1} trained again on seed {check['seed']}: test NDCG@10 "
        f"{check['ndcg@10'][1]:.5f} and HR@10 {check['hr@10'][1]:.5f}, as stored)"
    )


def _numbers(numbers: list[int]) -> str:
    """1-based step numbers as runs: [1, 2, 3, 5] -> "1–3, 5"."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def ladder_figure(table: pd.DataFrame) -> Figure:
    """Test NDCG@10 per ladder step: the mean (bar), its 95% interval over seeds (line)
    and each seed (dots); the ladder's steps in one colour, the ablations in another, the
    deployment row, a different protocol, grey and hatched; a step short of its planned
    seeds says how many it has, one with none says so instead of a bar."""
    fig, (axis,) = new_figure(1, width=9.0, height=0.55 * len(table) + 1.2)
    positions = np.arange(len(table))[::-1]
    rightmost = 0.0  # of the values drawn, so their labels fit
    for position, (_, row) in zip(positions, table.iterrows(), strict=True):
        if np.isnan(row["ndcg@10"]):
            axis.text(0, position, " not measured yet", va="center", fontsize=8, color="#777777")
            continue
        axis.barh(
            position,
            row["ndcg@10"],
            color=PART_COLOURS[row["part"]],
            hatch="//" if row["part"] == "deployment" else None,
            edgecolor="#555555",
        )
        seeds = [float(v) for v in row["per seed"].split(", ")]
        low, high = seed_interval(seeds)
        if not np.isnan(low):
            axis.hlines(position, low, high, color="black", linewidth=1)
        axis.plot(seeds, [position] * len(seeds), "k.", markersize=5)
        shown = f" {row['ndcg@10']:.4f}" + (
            "" if _complete(row["seeds"]) else f" ({row['seeds']} seeds)"
        )
        label_at = float(np.nanmax([row["ndcg@10"], high, *seeds]))  # right of the interval
        axis.text(label_at, position, shown, va="center", fontsize=8)
        rightmost = max(rightmost, label_at)
    labels = [textwrap.fill(str(step), LABEL_WIDTH) for step in table.index]
    axis.set_yticks(positions, labels, fontsize=8)
    axis.set_xlabel(
        "test NDCG@10 on the held-out seeds\n"
        "bar: their mean · line: its 95% interval · dot: one seed"
    )
    axis.set_title(
        "From the paper's SASRec to the shopping preset, one change at a time", fontsize=10
    )
    axis.set_xlim(0, rightmost * 1.4 if rightmost else 1.0)  # room for the labels
    fig.tight_layout()
    return fig


def _complete(seeds: str) -> bool:
    """Whether a ``"k of n"`` seeds cell has every planned seed."""
    done, planned = seeds.split(" of ")
    return done == planned
