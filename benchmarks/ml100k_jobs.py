"""The child-process jobs of ``bench.py``: one system, trained and scored, per process.

Each job prints one JSON line; running it in a fresh process makes its peak resident
memory its own. Protocol everywhere: leave-one-out, full ranking over all items, history
masked, pessimistic ties.

- ``sasrec``, role ``selection``: the selection split (``splits.selection_split``): early
  stopping on each user's third-to-last item, scored on the validation items. Used for
  every choice; the test items are never read.
- ``sasrec``, role ``held-out``: the real split, the final model (``refit.train_final``)
  scored once on the test items; the model is saved for the ensemble and session tables.
- ``baselines``: most-popular, random, Markov, co-occurrence and EASE, each grid-tuned on
  the validation items, then fitted for the final model like SASRec (with the
  validation items when ``refit_on_valid``) and scored once on test.
- ``prefix`` / ``flops``: the seed notebook's per-prefix training and a FLOP estimate of
  one epoch (``bench.py --speed``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.batches import epoch_batches
from sasrec_utils.data.prepared import PreparedData, prepare_data
from sasrec_utils.data.sequences import Sequences, item_popularity, users_per_item
from sasrec_utils.data.splits import Split, selection_split
from sasrec_utils.evaluation.baselines import BASELINES
from sasrec_utils.evaluation.metrics import ranking_metrics
from sasrec_utils.evaluation.ranking import evaluate_model, rank_all_items
from sasrec_utils.evaluation.scorers import ModelScorer, PopularityScorer, RandomScorer
from sasrec_utils.evaluation.tuning import TunedBaseline, tune
from sasrec_utils.model import cross_entropy
from sasrec_utils.model.losses import build_loss
from sasrec_utils.model.sasrec import SASRec
from sasrec_utils.report.protocol import trained_on
from sasrec_utils.report.shopping import LOSS_VARIANTS
from sasrec_utils.runtime import peak_rss_mib, resolve_device, set_seed, use_threads
from sasrec_utils.training import distributed
from sasrec_utils.training.final_model import final_train, train_final
from sasrec_utils.training.loop import train_epoch
from sasrec_utils.training.optimizers import build_training

SEED_BATCH_SIZE = 128  # samples per batch of the seed notebook's per-prefix training
METRICS = ("hr@5", "hr@10", "hr@20", "ndcg@10", "mrr", "coverage@10")


def _figures(metrics: dict[str, float]) -> dict[str, float]:
    return {key: round(metrics[key], 5) for key in METRICS}


def _scored(
    scorer, split: Split, train: Sequences, queries, device: str | torch.device = "cpu"
) -> tuple[dict, list[int]]:
    """Metrics and per-query ranks of ``scorer`` on ``queries`` (novelty from ``train``)."""
    ranking = rank_all_items(scorer, queries, split.n_items, device=device)
    metrics = ranking_metrics(
        ranking, split.n_items, users_per_item(train, split.n_items), len(train)
    )
    return metrics, ranking.ranks.tolist()


def run_sasrec(cfg: SASRecConfig, role: str, models: Path | None) -> list[dict]:
    """Train one seed; ``selection``: NDCG on the validation items, ``held-out``: on test.

    One row per model tested: the early-stopped model, trained on the training items only
    (``trained_on="train"``, the papers' protocol), and with ``cfg.refit_on_valid`` also
    the model retrained on training + validation items (``"train+valid"``).
    """
    prepared = prepare_data(cfg)
    if role == "selection":
        prepared = PreparedData(
            prepared.sequences, selection_split(prepared.sequences), None, prepared.pretrained
        )
    started = time.perf_counter()
    final = train_final(cfg, prepared, progress=False)
    seconds = time.perf_counter() - started
    selected = final.selected
    common = {
        "system": "sasrec" if cfg.loss == "ce" else f"sasrec-{cfg.loss}",
        "seed": cfg.seed,
        "role": role,
        "split": "valid" if role == "selection" else "test",
        "best_epoch": selected.best_epoch,
        "epochs_run": len(selected.history),
        "early_stopping_ndcg@10": round(selected.best_valid, 5),
        "train_s": round(selected.seconds_to_best, 1),
        "total_train_s": round(seconds, 1),
        "s_per_epoch": round(float(selected.history["train_seconds"].mean()), 3),
        "peak_rss_mb": round(peak_rss_mib()),
        "threads": torch.get_num_threads(),
    }
    tested = [(selected.model, cfg.replace(refit_on_valid=False), 0.0)]
    if final.refitted is not None:
        tested.append((final.model, cfg, final.refitted.train_seconds))
    rows = []
    for model, model_cfg, refit_s in tested:
        split = prepared.split
        scorer = ModelScorer(model, cfg.max_len, selected.device)
        train = final_train(split, model_cfg)
        test, ranks = _scored(scorer, split, train, split.test, selected.device)
        if models is not None:  # for the ensembles and session tables of the parent
            models.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), models / model_file(model_cfg, role))
        rows.append(
            {
                **common,
                "trained_on": trained_on(model_cfg),
                **_figures(test),
                "refit_s": round(refit_s, 1),
                "ranks": ranks,
            }
        )
    return rows


def model_file(cfg: SASRecConfig, role: str) -> str:
    """Where ``run_sasrec`` saves a model's weights inside its ``models`` folder."""
    return f"{role}-{cfg.loss}-{trained_on(cfg)}-seed{cfg.seed}.pt"


def run_baselines(cfg: SASRecConfig, only: list[str]) -> list[dict]:
    """Most-popular, random and the tuned baselines ``only`` names: tuned on validation
    once, then fitted on the training items (``trained_on="train"``) and, with
    ``cfg.refit_on_valid``, on training + validation items too, each tested once."""
    split = prepare_data(cfg).split
    protocols = [cfg.replace(refit_on_valid=False)]
    if cfg.refit_on_valid:
        protocols.append(cfg)
    tuned = {}
    for name in only:
        started = time.perf_counter()
        tuned[name] = (tune(name, split), time.perf_counter() - started)
    rows = []
    for fitted in protocols:
        train = final_train(split, fitted)
        for name in ("most-popular", "random", *only):
            started = time.perf_counter()
            choice = tuned[name][0] if name in tuned else None
            scorer = _fitted(name, choice, train, split, cfg.seed)
            test, ranks = _scored(scorer, split, train, split.test)
            rows.append(
                {
                    "system": name,
                    "trained_on": trained_on(fitted),
                    "params": choice.params if choice else {},
                    "valid_ndcg@10": round(choice.valid_ndcg, 5) if choice else None,
                    "grid_edge_note": choice.edge_note if choice else "",
                    "grid": choice.grid.round(5).to_dict(orient="records") if choice else [],
                    **_figures(test),
                    "train_s": round(time.perf_counter() - started, 2)
                    + (round(tuned[name][1], 2) if name in tuned else 0.0),
                    "ranks": ranks,
                    "seed": None,
                    "role": "held-out",
                    "split": "test",
                    "peak_rss_mb": round(peak_rss_mib()),
                }
            )
    return rows


def _fitted(name: str, choice: TunedBaseline | None, train: Sequences, split: Split, seed: int):
    """Baseline ``name`` fitted on ``train``: with the values chosen on validation (tuned
    baselines), from the training popularity (most-popular) or seeded (random)."""
    if name == "most-popular":
        return PopularityScorer(item_popularity(train, split.n_items))
    if name == "random":
        return RandomScorer(seed)
    return BASELINES[name](train, split.n_items, **choice.params)


# --------------------------------------------------------------------- per-prefix training


def prefix_samples(train: Sequences, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """One left-padded sample per prefix: inputs (P, max_len) int64, targets (P,) int64.

    Sample ``(u, t)`` holds the last ``max_len`` items of row ``u`` before its position
    ``t`` and targets the item at ``t``: the per-prefix copies the seed notebook made.
    """
    lengths = train.lengths
    prefixes = np.maximum(lengths - 1, 0)
    starts = np.repeat(train.offsets[:-1], prefixes)  # (P,) first item of the row
    first = np.repeat(np.cumsum(prefixes) - prefixes, prefixes)
    steps = np.arange(len(starts)) - first + 1  # (P,) prefix length t = 1 .. len - 1
    ends = starts + steps  # (P,) index of the target in train.items
    index = ends[:, None] + np.arange(-max_len, 0)[None, :]  # (P, max_len)
    inputs = np.where(index >= starts[:, None], train.items[np.maximum(index, 0)], 0)
    return inputs.astype(np.int64), train.items[ends].astype(np.int64)


def run_prefix_baseline(cfg: SASRecConfig, seconds: float) -> dict:
    """The seed notebook's training: per-prefix samples, loss at the last position only.

    Same model, optimizer and loss as ``fit``, batches of ``SEED_BATCH_SIZE`` samples as
    in the seed notebook; no validation or early stopping. Stops after ``seconds`` of
    training (or ``cfg.epochs`` epochs).
    """
    prepared = prepare_data(cfg)
    split = prepared.split
    device = resolve_device(cfg.device)
    set_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    inputs, targets = prefix_samples(split.train, cfg.max_len)
    model = SASRec(split.n_items, cfg).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    done, started = 0, time.perf_counter()
    while done < cfg.epochs * len(targets) and time.perf_counter() - started < seconds:
        order = rng.permutation(len(targets))
        for lo in range(0, len(order), SEED_BATCH_SIZE):
            batch = order[lo : lo + SEED_BATCH_SIZE]
            seq = torch.from_numpy(inputs[batch]).to(device)
            hidden = model(seq)[:, -1]  # (B, D): only the last position is trained
            target = torch.from_numpy(targets[batch]).to(device)
            loss = cross_entropy.full_cross_entropy(
                hidden, target, model.item_matrix(), cfg.label_smoothing
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            done += len(batch)
            if time.perf_counter() - started >= seconds:
                break
    train_s = time.perf_counter() - started
    epochs = done / len(targets)
    test = evaluate_model(model.eval(), split.test, split.train, cfg, device)
    return {
        "system": "sasrec-prefix",
        "seed": cfg.seed,
        "role": "held-out",
        "split": "test",
        **_figures(test),
        "epochs": round(epochs, 3),
        "train_s": round(train_s, 1),
        "s_per_epoch": round(train_s / epochs, 1),
        "samples_per_epoch": len(targets),
        "capped_at_s": seconds,
        "peak_rss_mb": round(peak_rss_mib()),
    }


# --------------------------------------------------------------------- FLOP estimate


def epoch_matmul_flops(cfg: SASRecConfig) -> dict[str, float]:
    """Matmul FLOPs of one training epoch by kind, forward + backward (3x the forward).

    ``linear``: Q/K/V, output and feed-forward projections at every (padded) position;
    ``attention``: ``q k^T`` and ``weights v`` over each batch's full (L, L) grid;
    ``logits``: real positions' hidden states times the (V - 1, D) item table.
    Also the epoch's mean batch shape, to time matmuls of that size.
    """
    split = prepare_data(cfg).split
    dim, layers, ffn = cfg.hidden_dim, cfg.n_layers, cfg.ffn_mult * cfg.hidden_dim
    flops = {"linear": 0.0, "attention": 0.0, "logits": 0.0}
    rows, widths = [], []
    rng = np.random.default_rng(cfg.seed)
    for inputs, targets in epoch_batches(cfg, split.train, rng):
        batch, length = inputs.shape
        flops["linear"] += 3 * layers * 2 * batch * length * dim * (4 * dim + 2 * ffn)
        flops["attention"] += 3 * layers * 2 * 2 * batch * length * length * dim
        flops["logits"] += 3 * 2 * int((targets > 0).sum()) * dim * split.n_items
        rows.append(batch)
        widths.append(length)
    return {
        **flops,
        "batch_rows": float(np.mean(rows)),
        "batch_width": float(np.mean(widths)),
        "n_items": float(split.n_items),
    }


def matmul_seconds_per_flop(batch: int, rows: int, inner: int, cols: int) -> float:
    """Best-of-7 seconds per FLOP of a plain (batch, rows, inner) @ (batch, inner, cols)."""
    left, right = torch.randn(batch, rows, inner), torch.randn(batch, inner, cols)
    out = torch.empty(batch, rows, cols)
    torch.bmm(left, right, out=out)
    best = float("inf")
    for _ in range(7):
        started = time.perf_counter()
        torch.bmm(left, right, out=out)
        best = min(best, time.perf_counter() - started)
    return best / (2 * batch * rows * inner * cols)


def run_flop_estimate(cfg: SASRecConfig) -> dict:
    """Seconds one training epoch would take if it ran only its matmuls at plain speed."""
    counts = epoch_matmul_flops(cfg)
    dim, heads = cfg.hidden_dim, cfg.n_heads
    tokens = round(counts["batch_rows"] * counts["batch_width"])
    width, n_items = round(counts["batch_width"]), int(counts["n_items"])
    chunk = max(1, cross_entropy.AUTO_CHUNK_LOGITS["cpu"] // (n_items + 1))
    per_flop = {  # shapes: one projection, one head's scores, one chunk of logits
        "linear": matmul_seconds_per_flop(1, tokens, dim, 3 * dim),
        "attention": matmul_seconds_per_flop(
            round(counts["batch_rows"]) * heads, width, dim // heads, width
        ),
        "logits": matmul_seconds_per_flop(1, chunk, dim, n_items),
    }
    square = matmul_seconds_per_flop(1, 2048, 2048, 2048)
    total = sum(counts[k] for k in per_flop)
    return {
        "system": "flop-estimate",
        "gflop_per_epoch": {k: round(counts[k] / 1e9, 2) for k in per_flop},
        "gflop_per_epoch_total": round(total / 1e9, 2),
        "matmul_gflops": {k: round(1e-9 / v, 1) for k, v in per_flop.items()},
        "estimate_s_per_epoch": round(sum(counts[k] * per_flop[k] for k in per_flop), 3),
        "square_matmul_gflops": round(1e-9 / square, 1),
        "estimate_at_square_speed_s": round(total * square, 3),
        "threads": torch.get_num_threads(),
    }


def run_loss_times(cfg: SASRecConfig, repeats: int = 2) -> dict:
    """Seconds of one training epoch per loss of ``LOSS_VARIANTS``, same data, same batches.

    The losses take turns (``repeats`` rounds) in this one process, so a busy machine
    slows them alike; each keeps its fastest epoch. Also its number of batches, for the
    seconds per step.
    """
    split = prepare_data(cfg).split
    device, ctx = resolve_device(cfg.device), distributed.context()
    best = dict.fromkeys(LOSS_VARIANTS, float("inf"))
    for _ in range(repeats):
        for name, changes in LOSS_VARIANTS.items():
            variant = cfg.replace(**changes)
            set_seed(variant.seed)
            parts = build_training(variant, split, device, ctx)
            loss_fn = build_loss(variant, split, device)
            rng = np.random.default_rng(variant.seed)
            epoch = train_epoch(variant, parts, loss_fn, split, rng, device, ctx, 1)
            best[name] = min(best[name], epoch["train_seconds"])
    batches = sum(1 for _ in epoch_batches(cfg, split.train, np.random.default_rng(0)))
    return {
        "system": "loss-times",
        "epoch_s": {name: round(seconds, 2) for name, seconds in best.items()},
        "step_ms": {name: round(1000 * s / batches, 1) for name, s in best.items()},
        "batches_per_epoch": batches,
        "relative_to_ce": {name: round(s / best["ce"], 2) for name, s in best.items()},
        "threads": torch.get_num_threads(),
    }


JOBS = {
    "sasrec": lambda cfg, job: run_sasrec(
        cfg, job["role"], Path(job["models"]) if job.get("models") else None
    ),
    "baselines": lambda cfg, job: run_baselines(cfg, job.get("only", list(BASELINES))),
    "prefix": lambda cfg, job: run_prefix_baseline(cfg, job["seconds"]),
    "flops": lambda cfg, job: run_flop_estimate(cfg),
    "loss_times": lambda cfg, job: run_loss_times(cfg),
}


def main() -> None:
    """Run the job given as JSON in ``argv[1]``; print its result as the last line."""
    job = json.loads(sys.argv[1])
    cfg = SASRecConfig.from_dict(job["config"])
    use_threads(cfg.num_threads)  # every job, not only training: the project's thread rule
    print(json.dumps(JOBS[job["kind"]](cfg, job)), flush=True)


if __name__ == "__main__":
    main()
