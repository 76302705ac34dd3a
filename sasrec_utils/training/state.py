"""Where training stands (what ``last.pt`` resumes) and how it reports itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..config import SASRecConfig
from .early_stopping import VALID_COLUMN, VALID_LABEL, patience_spent

PROGRESS = ("bar", "lines", "none")


@dataclass
class TrainingState:
    """Where training stands after ``epoch`` completed epochs (what ``last.pt`` resumes)."""

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_valid: float = -1.0
    best_epoch: int = 0
    seconds_to_best: float = 0.0
    stale: int = 0  # validations since the best one
    elapsed: float = 0.0  # training + validation seconds so far

    def to_checkpoint(self) -> dict[str, Any]:
        """The fields as checkpoint entries."""
        return asdict(self)

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any]) -> TrainingState:
        """The training state stored by ``to_checkpoint`` in a checkpoint's dict."""
        return cls(**{name: state[name] for name in cls.__dataclass_fields__})


def epoch_line(row: dict[str, Any], state: TrainingState, epochs: int) -> str:
    """One epoch in words: its loss, its validation metric and the best so far."""
    line = f"epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f}"
    if VALID_COLUMN in row:
        line += f", valid {VALID_LABEL} {row[VALID_COLUMN]:.4f} "
        if row.get("valid_sample"):
            line += f"on a sample of {row['valid_users']:,} users "
        line += f"(best {state.best_valid:.4f} at epoch {state.best_epoch})"
    return line


def stop_line(state: TrainingState, cfg: SASRecConfig, validation: bool = True) -> str:
    """Why training ended and which epoch is kept."""
    if not validation:
        epochs = "1 epoch; it is" if state.epoch == 1 else f"{state.epoch} epochs; the last one is"
        return f"trained {epochs} kept"
    best = f"epoch {state.best_epoch} (valid {VALID_LABEL} {state.best_valid:.4f}) is kept"
    if patience_spent(state.stale, cfg.patience):
        return (
            f"stopped at epoch {state.epoch}: no improvement for {cfg.patience} validations "
            f"since epoch {state.best_epoch}; {best}"
        )
    return f"ran all {state.epoch} epochs; {best}"


def epoch_bar(epochs: range, live: bool, initial: int, total: int):
    """A tqdm over ``epochs``: the notebook-aware bar when ``live``, else a disabled one.

    ``tqdm.auto`` is imported only for a live bar: in a kernel without ipywidgets it warns
    at import, which would land in every rendered report (they print lines, not a bar).
    """
    if live:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(epochs, desc="epochs", disable=not live, initial=initial, total=total)
