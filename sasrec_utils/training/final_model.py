"""The final model: early stopping chooses the epochs, a refit adds the validation items.

``fit`` trains on ``split.train`` and keeps the epoch with the best validation metric
(``early_stopping.VALID_METRIC``). With ``cfg.refit_on_valid`` a fresh model (same seed)
is then trained on training + validation items for exactly that many epochs, so the model
that is tested and served has also learnt from each user's second-to-last item. Every
choice is still made on validation: the test items are used by neither run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..config import SASRecConfig
from ..data.prepared import PreparedData
from ..data.sequences import Sequences
from ..data.splits import Split
from ..model.sasrec import SASRec
from .loop import Trainer, TrainResult, fit


def final_train(split: Split, cfg: SASRecConfig) -> Sequences:
    """The sequences the final model learns from: ``split.train``, plus each user's
    validation item when ``cfg.refit_on_valid``. Baselines scored beside the final model
    (and their popularity counts) learn from the same sequences."""
    return split.with_validation_in_train().train if cfg.refit_on_valid else split.train


def refit(
    cfg: SASRecConfig,
    prepared: PreparedData,
    epochs: int,
    out_dir: str | os.PathLike | None = None,
    progress: bool | str = True,
) -> TrainResult:
    """The final model: a fresh one (same seed) trained on training + validation items.

    Trains ``epochs`` epochs (the best epoch ``fit`` found on validation) on
    ``prepared.split.with_validation_in_train()`` without validating (the validation items
    are training data now) and keeps the last epoch's weights, written to
    ``out_dir/final.pt``. Test it on ``prepared.split.test`` as usual.
    """
    grown = PreparedData(
        prepared.sequences,
        prepared.split.with_validation_in_train(),
        prepared.items,
        prepared.pretrained,
    )
    trainer = Trainer(cfg.replace(epochs=epochs), grown, out_dir, validation=False)
    result = trainer.run(progress)
    trainer.save("final.pt", epoch=epochs, history=trainer.state.history)
    return result


@dataclass
class FinalModel:
    """The model to test and serve, and the runs that made it.

    ``selected`` is the early-stopped run that chose the number of epochs on validation;
    ``refitted`` the retraining on training + validation items for that many epochs
    (``cfg.refit_on_valid``), else ``None`` and ``model`` is the selected run's best model.
    """

    model: SASRec
    selected: TrainResult
    refitted: TrainResult | None

    @property
    def train_seconds(self) -> float:
        """Every training second spent: all epochs of the selection run, and the refit."""
        refit_seconds = self.refitted.train_seconds if self.refitted is not None else 0.0
        return self.selected.train_seconds + refit_seconds


def train_final(
    cfg: SASRecConfig,
    prepared: PreparedData,
    out_dir: str | os.PathLike | None = None,
    progress: bool | str = True,
    resume: bool = False,
) -> FinalModel:
    """``fit`` (early stopping on validation; ``resume`` continues ``out_dir/last.pt``),
    then ``refit`` if ``cfg.refit_on_valid``.

    Each checkpoint stores the config of its own weights: ``best.pt`` and ``last.pt`` say
    ``refit_on_valid=False`` (trained on training items only), ``final.pt`` says
    ``refit_on_valid=True`` and the refit's number of epochs.
    """
    selection = cfg.replace(refit_on_valid=False)
    selected = fit(selection, prepared, out_dir, resume=resume, progress=progress)
    if not cfg.refit_on_valid:
        return FinalModel(selected.model, selected, None)
    refitted = refit(cfg, prepared, selected.best_epoch, out_dir, progress)
    return FinalModel(refitted.model, selected, refitted)
