"""The shopping benchmark as the report shows it: Amazon Beauty's ``benchmark_beauty.json``.

``make bench-beauty`` writes the file (``benchmarks/bench.py``); these functions turn it into
the tables notebook 04 shows: SASRec and the tuned baselines on the held-out seeds, the
published figures on the same file beside ours, the targets with what was measured, the
losses' quality and cost, NDCG@10 after the last n clicks, and where the figures came from.
Nothing here computes a metric: every number is read from the file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..config import SASRecConfig
from ..presets import CONFIGS
from .contracts import baseline_row, best_baseline_pair, held_out_summary
from .extensions import model_extensions
from .protocol import TRAIN, same_protocol

BENCHMARK_FILE = "benchmark_beauty.json"
FULL_RANKING = "full ranking over all items, history masked, leave-one-out (last item = test)"
# Published on the same S3-Rec/ICLRec Beauty.txt under full ranking, every one trained on
# the training items only (early stopping on the validation item, the whole history fed
# at test): BSARec's checked against its paper (AAAI 2024, Table 2); ICSRec's and the
# eSASRec benchmark's SASRec + sampled softmax as the papers'-protocol issue quotes them.
PUBLISHED_BEAUTY = (
    {
        "source": "Shin et al., BSARec, AAAI 2024",
        "model": "BSARec (attention + Fourier filter, cross-entropy)",
        "protocol": FULL_RANKING,
        "trained_on": TRAIN,
        "ndcg@10": 0.0611,
        "hr@10": 0.1008,
    },
    {
        "source": "Qin et al., ICSRec, WSDM 2024",
        "model": "ICSRec (intent contrastive learning over subsequences)",
        "protocol": FULL_RANKING,
        "trained_on": TRAIN,
        "ndcg@10": 0.0578,
        "hr@10": 0.0959,
    },
    {
        "source": "Tikhonovich et al., eSASRec, RecSys 2025",
        "model": "SASRec + sampled softmax, 256 negatives",
        "protocol": FULL_RANKING,
        "trained_on": TRAIN,
        "ndcg@10": 0.0531,
        "hr@10": 0.0921,
    },
)
# (name, goal, higher is better) as the papers'-protocol issue set them: every figure
# trained on the training items only, a single model per seed
TARGETS = (
    ("mean test NDCG@10, held-out seeds", 0.062, True),
    ("worst held-out seed, test NDCG@10", 0.060, True),
    ("SASRec / best tuned baseline, test NDCG@10", 1.25, True),
    ("bootstrap interval of SASRec - best baseline: low end", 0.0, True),
    ("seconds to the kept epoch per seed (mean)", 600.0, False),
    ("peak resident memory per job, MB", 1536.0, False),
)
# the losses compared, for their cost (benchmarks/ml100k_jobs.run_loss_times) and, on
# these settings of the selection sweep, for their quality (benchmarks/bench.py)
LOSS_VARIANTS = {
    "ce": {"loss": "ce"},
    "sampled-256": {"loss": "sampled_softmax", "n_negatives": 256},
    "sampled-256+in-batch": {
        "loss": "sampled_softmax",
        "n_negatives": 256,
        "in_batch_negatives": True,
    },
}
LOSS_SWEEP_BASE = {"max_len": 50, "dropout": 0.5}


def systems_table(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """One row per system and protocol on the test items: SASRec and SASRec-BCE (held-out
    seeds, mean, sd, worst seed), then every baseline (tuned on validation, fitted once),
    each saying what its weights were trained on (``protocol.PROTOCOLS``)."""
    rows = []
    for row in benchmark["summaries"]:
        if row["role"] != "held-out":
            continue
        rows.append(
            {
                "system": row["system"],
                "trained on": row["trained_on"],
                "seeds": ", ".join(map(str, row["seeds"])),
                "ndcg@10": row["ndcg@10"],
                "ndcg@10 sd": row["ndcg@10_sd"],
                "worst seed": row["ndcg@10_min"],
                "hr@10": row["hr@10"],
                "s to kept epoch": row["train_s"],
            }
        )
    for row in benchmark["baselines"]:
        rows.append(
            {
                "system": row["system"],
                "trained on": row["trained_on"],
                "seeds": "",
                "ndcg@10": row["ndcg@10"],
                "hr@10": row["hr@10"],
                "tuned on validation": str(row["params"]) if row["params"] else "",
                "grid edge": row.get("grid_edge_note", ""),
            }
        )
    frame = pd.DataFrame(rows).sort_values("trained on", kind="stable")
    return frame.set_index(["trained on", "system"])


def published_beside_ours(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """The published figures on this file, then SASRec as measured here under the same
    protocol (trained on the training items only), each with its protocol and source.

    ``KeyError`` when the file holds no such SASRec row: a figure trained on the validation
    items too is never set beside the published ones (``protocol.same_protocol``).
    """
    sasrec = held_out_summary(benchmark, trained_on=TRAIN)
    ours = {
        "source": f"this project, make bench-beauty (seeds {sasrec['seeds']})",
        "model": model_label(benchmark["config"]),
        "protocol": FULL_RANKING,
        "trained_on": sasrec["trained_on"],
        "ndcg@10": sasrec["ndcg@10"],
        "hr@10": sasrec["hr@10"],
    }
    rows = [*PUBLISHED_BEAUTY, ours]
    same_protocol(rows, "the published figures beside ours")
    return pd.DataFrame(rows).rename(columns={"trained_on": "trained on"})


def model_label(config: Mapping[str, Any]) -> str:
    """``"SASRec, shopping preset (ce) + frequency filter (an extension: BSARec, …)"``: the
    benchmarked configuration ``config`` (a ``to_dict``) with every extension it uses."""
    cfg = SASRecConfig.from_dict(dict(config))
    return " + ".join([f"SASRec, shopping preset ({cfg.loss})", *model_extensions(cfg)])


def targets_table(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """Each target of the shopping benchmark, what was measured under the papers' protocol
    (trained on the training items only), and whether it was met."""
    sasrec, pair = held_out_summary(benchmark), best_baseline_pair(benchmark)
    baseline = baseline_row(benchmark, pair.baseline)
    jobs = [row for row in benchmark["rows"] if row.get("peak_rss_mb") is not None]
    measured = (
        sasrec["ndcg@10"],
        sasrec["ndcg@10_min"],
        sasrec["ndcg@10"] / baseline["ndcg@10"],
        pair.difference_low,
        sasrec["train_s"],
        max(row["peak_rss_mb"] for row in jobs),
    )
    return pd.DataFrame(
        [
            {
                "target": name,
                "goal": f"{'≥' if higher else '≤'} {goal:g}",
                "measured": round(value, 4),
                "met": value >= goal if higher else value <= goal,
            }
            for (name, goal, higher), value in zip(TARGETS, measured, strict=True)
        ]
    )


def loss_table(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """CE against drawn and in-batch negatives: validation NDCG@10 of the selection sweep
    (same settings but the loss) and the seconds of a training step on the same batches."""
    times = benchmark["loss_times"]
    sweep = {_settings(row["changes"]): row for row in benchmark.get("selection_sweep", [])}
    rows = []
    for name, changes in LOSS_VARIANTS.items():
        row = sweep.get(_settings({**LOSS_SWEEP_BASE, **changes}), {})
        rows.append(
            {
                "loss": name,
                "valid ndcg@10": row.get("ndcg@10"),
                "selection seeds": ", ".join(map(str, row.get("seeds", []))),
                "step ms": times["step_ms"][name],
                "step vs ce": times["relative_to_ce"][name],
            }
        )
    return pd.DataFrame(rows).set_index("loss")


def _settings(changes: Mapping[str, Any]) -> str:
    """The whole configuration ``changes`` make of the defaults: two sweep rows hold the
    same settings when these are equal, whether or not they spell out a default."""
    return json.dumps(SASRecConfig().replace(**changes).to_dict(), sort_keys=True)


def sessions_long(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """``items_seen, system, ndcg@10`` rows (``plots_results.session_figure``'s input)."""
    rows = [
        {"items_seen": seen, "system": system, "ndcg@10": value}
        for system, by_length in benchmark["sessions"].items()
        for seen, value in sorted(by_length.items(), key=lambda kv: _session_order(kv[0]))
    ]
    return pd.DataFrame(rows)


def sessions_table(benchmark: Mapping[str, Any]) -> pd.DataFrame:
    """NDCG@10 by clicks seen (rows: 1, 2, 3, 5, 10, all) and system (columns)."""
    frame = sessions_long(benchmark)
    table = frame.pivot(index="items_seen", columns="system", values="ndcg@10")
    return table.loc[list(dict.fromkeys(frame["items_seen"])), list(benchmark["sessions"])]


def _session_order(seen: str) -> tuple[bool, int]:
    """``"1" < "2" < "10" < "all"`` (JSON keeps them as sorted strings)."""
    return (seen == "all", int(seen) if seen != "all" else 0)


def runs_todays_preset(benchmark: Mapping[str, Any]) -> bool:
    """Whether ``benchmark`` ran the model settings ``presets.CONFIGS["shopping"]`` holds
    today (its refit is a protocol, reported in rows of its own, not a setting)."""
    ran = {**SASRecConfig().to_dict(), **benchmark["config"]}
    settings = CONFIGS["shopping"].items()
    return all(ran[name] == value for name, value in settings if name != "refit_on_valid")


def provenance(benchmark: Mapping[str, Any]) -> str:
    """One sentence: how, where and in how long the benchmark was produced, and whether
    with today's ``shopping`` preset."""
    machine = benchmark["machine"]
    start, end = machine["load_avg_start"][0], machine["load_avg_end"][0]
    preset = (
        "today's `shopping` preset"
        if runs_todays_preset(benchmark)
        else "an earlier `shopping` preset (its settings are in the file's config; today's "
        "awaits the next `make bench-beauty`)"
    )
    minutes = f"{machine['seconds'] / 60:.0f} min"
    if machine.get("trainings_read_back"):  # resumed: the earlier runs' time is not in it
        minutes += (
            f" for its last run, which read {machine['trainings_read_back']} of its "
            f"{machine['trainings']} trainings back from the run log of the runs before "
            "(each training's own seconds are in its row)"
        )
    else:
        minutes += " in all"
    return (
        f"`make bench-beauty` with {preset}: {benchmark['protocol']}; selection seeds "
        f"{benchmark['selection_seeds']} scored on validation, held-out seeds "
        f"{benchmark['held_out_seeds']} scored once on test; {machine['cpus']} CPUs, "
        f"{minutes}, load average {start:.1f} at the start and {end:.1f} at the end."
    )
