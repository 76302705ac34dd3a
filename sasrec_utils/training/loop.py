"""Training loop: the loss, AdamW, early stopping on validation, checkpoints, resume.

``fit`` writes two checkpoints into ``out_dir``: ``best.pt`` (the best validation epoch:
weights + config + item ids + history) and ``last.pt`` (everything needed to resume:
optimizer, scheduler, RNG states, the training state). Both are written atomically, so an
interrupted run leaves the previous good files intact.

The loop is ``fit`` -> ``train_epoch`` (one pass over the training windows) ->
``validate`` (full-ranking metrics and the ``early_stopping`` update on their
``VALID_METRIC``). Under torchrun every process trains on its share of every batch and
rank 0 validates and writes the checkpoints (``sasrec_utils.training.distributed``).

A diverged run stops with ``TrainingDiverged`` at the first non-finite loss (naming the
epoch and step), non-finite weights at the end of an epoch, or validation scores with
NaN or inf; nothing is saved after it, so ``best.pt`` and ``last.pt`` keep the last good
epochs. Every process stops at the same point (the step's loss is all-reduced).
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..config import SASRecConfig
from ..data.batches import epoch_batches
from ..data.prepared import PreparedData
from ..data.splits import EvalSet, Split
from ..evaluation.ranking import evaluate_model
from ..model.losses import Loss, build_loss
from ..model.sasrec import SASRec
from ..runtime import resolve_device, set_seed, start_line, training_threads
from . import distributed
from .checkpoint import load_checkpoint, nonfinite_tensors, save_checkpoint
from .early_stopping import VALID_METRIC, early_stopping, patience_spent
from .failures import TrainingDiverged, clear_errors, diverged
from .optimizers import TrainingParts, build_training
from .state import PROGRESS, TrainingState, epoch_bar, epoch_line, stop_line

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """The best model (weights loaded), per-epoch history and where checkpoints are."""

    model: SASRec
    history: pd.DataFrame
    best_epoch: int
    best_valid: float
    seconds_to_best: float
    train_seconds: float
    device: str
    best_path: Path | None


def train_epoch(
    cfg: SASRecConfig,
    parts: TrainingParts,
    loss_fn: Loss,
    split: Split,
    rng: np.random.Generator,
    device: torch.device,
    ctx: distributed.Context,
    epoch: int,
) -> dict[str, float]:
    """One pass over the training windows; returns ``train_loss``, ``lr``, ``train_seconds``.

    ``loss_fn`` (``model.losses.build_loss``) scores each (B, L) batch. The epoch's loss is
    the mean over batches (and over processes under torchrun).
    ``TrainingDiverged`` at the first step whose loss is NaN or inf, or at the end when
    a weight is: on every process at once (each step's loss is averaged over them, one
    number; alone it costs nothing beyond the ``loss.item()`` the mean needs anyway).
    """
    started = time.perf_counter()
    parts.model.train()
    total, batches = 0.0, 0
    for inputs, targets, weight in distributed.shard(epoch_batches(cfg, split.train, rng), ctx):
        inputs = torch.from_numpy(inputs).to(device, non_blocking=True)
        targets = torch.from_numpy(targets).to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=parts.amp_dtype, enabled=parts.use_amp):
            loss = loss_fn(parts.train_model, inputs, targets)
        parts.zero_grad()
        parts.scaler.scale(loss * weight).backward()
        parts.step(cfg.grad_clip)
        value = loss.item()
        batch_loss_value = distributed.mean(value * weight, ctx)  # the same on every process
        if not math.isfinite(batch_loss_value):
            shown = "NaN" if math.isnan(batch_loss_value) else f"{batch_loss_value:g}"
            raise diverged(cfg, f"loss became {shown} at epoch {epoch}, step {batches + 1}")
        total += value * weight  # weighted: the mean over processes is exact
        batches += 1
    broken = nonfinite_tensors(parts.model.state_dict())
    if distributed.mean(float(len(broken)), ctx):  # on any process (DDP keeps them equal)
        names = ", ".join(broken[:3]) or "on another process"
        raise diverged(cfg, f"weights ({names}) became NaN or inf at epoch {epoch}, step {batches}")
    lr = parts.optimizer.param_groups[0]["lr"]
    for scheduler in parts.schedulers():
        scheduler.step()
    return {
        "train_loss": distributed.mean(total / max(batches, 1), ctx),
        "lr": lr,
        "train_seconds": time.perf_counter() - started,
    }


def validate(
    cfg: SASRecConfig,
    model: SASRec,
    split: Split,
    state: TrainingState,
    epoch: int,
    started: float,
    device: torch.device,
    queries: EvalSet | None = None,
) -> tuple[dict[str, float], bool]:
    """Full-ranking validation metrics after ``epoch`` and the early-stopping update.

    ``queries``: the validation queries to score (default all of ``split.valid``; a fixed
    sample with ``cfg.valid_users``). ``state.elapsed`` grows by the epoch's seconds since
    ``started`` (training and this validation); on improvement ``state`` records the new
    best, otherwise its ``stale`` count grows. Returns ``(metrics, improved)``.
    """
    queries = split.valid if queries is None else queries
    metrics = evaluate_model(model, queries, split.train, cfg, device)
    if "nonfinite_queries" in metrics:  # before the update: a broken model is never best
        raise diverged(
            cfg,
            f"validation scores became NaN or inf for {metrics['nonfinite_queries']:.0f} of "
            f"{metrics['n_queries']:.0f} users after epoch {epoch} (its last step)",
        )
    state.elapsed += time.perf_counter() - started
    state.best_valid, state.stale, improved = early_stopping(
        metrics[VALID_METRIC], state.best_valid, state.stale
    )
    if improved:
        state.best_epoch, state.seconds_to_best = epoch, state.elapsed
    return metrics, improved


class Trainer:
    """One training run: its parts, its state, and where its checkpoints go.

    ``fit`` (below) is the way in; ``run`` is the epoch loop.
    """

    def __init__(
        self,
        cfg: SASRecConfig,
        prepared: PreparedData,
        out_dir: str | os.PathLike | None = None,
        validation: bool = True,
    ) -> None:
        self.cfg, self.prepared = cfg, prepared
        if validation and len(prepared.split.valid) == 0:
            raise ValueError(
                "no validation queries to early-stop on: with leave-one-out a user needs at "
                "least 3 events (history, validation item, test item); prepare the data "
                "with data.prepared.prepare_data, which says how many users have enough"
            )
        self.valid_queries = prepared.split.valid.sample(cfg.valid_users, cfg.seed)
        self.validation = validation  # False: a fixed number of epochs, the last one kept
        self.device = resolve_device(cfg.device)
        self.threads, self.threads_why = training_threads(cfg.num_threads)
        torch.set_num_threads(self.threads)  # for this process, also after training
        set_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.ctx = distributed.context()
        self.parts = build_training(cfg, prepared.split, self.device, self.ctx, prepared.pretrained)
        self.loss = build_loss(cfg, prepared.split, self.device)
        self.out = Path(out_dir) if out_dir is not None else None
        self.state = TrainingState()
        self.best_weights: dict[str, torch.Tensor] | None = None

    def resume(self) -> None:
        """Continue from ``out/last.pt`` when it exists (same config required)."""
        if self.out is None or not (self.out / "last.pt").exists():
            return
        path, parts = self.out / "last.pt", self.parts
        saved = load_checkpoint(path)
        if saved["config"] != self.cfg.to_dict():
            raise ValueError(
                f"{path} was trained with a different config; "
                "resume needs the same config (or resume=False)"
            )
        parts.model.load_state_dict(saved["model_state"])
        parts.load_state(saved)
        self.rng.bit_generator.state = saved["rng"]["numpy"]
        torch.set_rng_state(saved["rng"]["torch"])
        self.state = TrainingState.from_checkpoint(saved)
        log.info("resuming after epoch %d (best epoch %d)", self.state.epoch, self.state.best_epoch)

    def epoch(self, epoch: int) -> dict[str, Any]:
        """Train one epoch, validate when due (rank 0), keep the best weights; its row."""
        cfg, split, state = self.cfg, self.prepared.split, self.state
        started = time.perf_counter()
        row = {
            "epoch": epoch,
            **train_epoch(
                cfg, self.parts, self.loss, split, self.rng, self.device, self.ctx, epoch
            ),
        }
        failure = None
        due = epoch % cfg.eval_every == 0 or epoch == cfg.epochs
        if self.validation and due and self.ctx.is_main:
            try:
                valid, improved = validate(
                    cfg,
                    self.parts.model,
                    split,
                    state,
                    epoch,
                    started,
                    self.device,
                    self.valid_queries,
                )
            except TrainingDiverged as error:  # raised below, on every process
                failure, valid, improved = error, {}, False  # no row update, no best.pt
            row.update({f"valid_{k}": v for k, v in valid.items() if k != "n_queries"})
            if valid:  # how many users the early stopping saw, and whether a sample
                row["valid_users"] = len(self.valid_queries)
                row["valid_sample"] = len(self.valid_queries) < len(split.valid)
            if improved:
                self.best_weights = {
                    k: v.detach().clone() for k, v in self.parts.model.state_dict().items()
                }
                self.save(
                    "best.pt",
                    epoch=epoch,
                    best_valid=state.best_valid,
                    history=[*state.history, row],
                )
        else:
            state.elapsed += time.perf_counter() - started
        # all stop together (on patience, or when rank 0's validation diverged) and know
        # which epoch best.pt holds (a divergence error names it)
        state.stale, state.best_epoch, failure = distributed.from_main(
            (state.stale, state.best_epoch, failure), self.ctx
        )
        if failure is not None:
            raise failure
        row["seconds"] = time.perf_counter() - started
        state.history.append(row)
        state.epoch = epoch
        if self.ctx.is_main and self.validation:  # a refit is rerun, not resumed
            self.save(
                "last.pt",
                **state.to_checkpoint(),
                **self.parts.state(),
                rng={"numpy": self.rng.bit_generator.state, "torch": torch.get_rng_state()},
            )
        return row

    def save(self, name: str, **extra: Any) -> None:
        """Write the model as ``out/name`` with ``extra`` entries (nothing without ``out``)."""
        if self.out is not None:
            item_ids = self.prepared.sequences.item_ids
            save_checkpoint(self.out / name, self.parts.model, self.cfg, item_ids, **extra)

    def run(self, progress: bool | str = True) -> TrainResult:
        """Epochs until ``cfg.epochs`` or ``cfg.patience`` validations without improvement.

        ``progress``: ``"bar"`` (or True) a live bar, ``"lines"`` one printed line per
        epoch (for logs and rendered reports), ``"none"`` (or False) silence; the bar and
        the lines end with why training stopped.
        """
        state, cfg = self.state, self.cfg
        mode = {True: "bar", False: "none"}.get(progress, progress)
        if mode not in PROGRESS:
            raise ValueError(f"progress must be one of {list(PROGRESS)}, got {progress!r}")
        shown = mode != "none" and self.ctx.is_main
        if shown:
            print(start_line(self.device, self.threads, self.threads_why, self.out), flush=True)
        epochs = epoch_bar(
            range(state.epoch + 1, cfg.epochs + 1),
            live=mode == "bar" and shown,
            initial=state.epoch,
            total=cfg.epochs,
        )
        with clear_errors(cfg, self.device, self.out, state):
            try:
                for epoch in epochs:
                    if patience_spent(state.stale, cfg.patience):
                        break
                    line = epoch_line(self.epoch(epoch), state, cfg.epochs)
                    epochs.set_postfix_str(line.split(": ", 1)[1], refresh=False)
                    if mode == "lines" and shown:
                        print(line, flush=True)
            finally:
                epochs.close()
        if shown:
            print(stop_line(state, cfg, self.validation), flush=True)
        return self.finish()

    def finish(self) -> TrainResult:
        """Load the best weights (on every process) and package the result."""
        model, out, state = self.parts.model, self.out, self.state
        best_weights = self.best_weights
        resumed = self.validation and out is not None and (out / "best.pt").exists()
        if best_weights is None and resumed:
            best_weights = load_checkpoint(out / "best.pt")["model_state"]  # resumed, no new best
        if best_weights is not None:
            model.load_state_dict(best_weights)
        distributed.copy_from_main(model, self.ctx)
        history, best_epoch, best_valid, seconds_to_best = distributed.from_main(
            (state.history, state.best_epoch, state.best_valid, state.seconds_to_best), self.ctx
        )
        frame = pd.DataFrame(history)
        return TrainResult(
            model.eval(),
            frame,
            best_epoch,
            best_valid,
            seconds_to_best,
            float(frame["seconds"].sum()) if len(frame) else 0.0,
            str(self.device),
            out / "best.pt" if out is not None else None,
        )


def fit(
    cfg: SASRecConfig,
    prepared: PreparedData,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool | str = True,
) -> TrainResult:
    """Train SASRec on ``prepared.split.train``, early-stopping on its validation metric.

    ``prepared.sequences.item_ids`` (the original-id mapping) is saved with the
    checkpoints; ``prepared.pretrained`` (V, d), when set, initialises the item vectors.
    With ``resume=True`` and ``out_dir/last.pt`` present, training continues after the last
    completed epoch (same config required). An interrupt (Ctrl-C, a lost runtime) leaves
    both checkpoints intact (``out_dir=None`` keeps none: the first line printed says so,
    and the CPU threads, ``runtime.training_threads``). ``cfg.valid_users`` early-stops on
    a fixed random sample of validation users (the history's ``valid_users``: how many).
    """
    trainer = Trainer(cfg, prepared, out_dir)
    if resume:
        trainer.resume()
    return trainer.run(progress)
