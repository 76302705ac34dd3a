"""Where training stands (what ``last.pt`` resumes) and how it reports itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..config import SASRecConfig

PROGRESS = ("bar", "lines", "none")
VALID_KEY = "valid_ndcg@10"


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
    """One epoch in words: its loss, its validation NDCG@10 and the best so far."""
    line = f"epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f}"
    if VALID_KEY in row:
        line += f", valid NDCG@10 {row[VALID_KEY]:.4f} "
        if row.get("valid_sample"):
            line += f"on a sample of {row['valid_users']:,} users "
        line += f"(best {state.best_valid:.4f} at epoch {state.best_epoch})"
    return line


def stop_line(state: TrainingState, cfg: SASRecConfig, validation: bool = True) -> str:
    """Why training ended and which epoch is kept."""
    if not validation:
        return f"trained {state.epoch} epochs; the last one is kept"
    best = f"epoch {state.best_epoch} (valid NDCG@10 {state.best_valid:.4f}) is kept"
    if state.stale >= cfg.patience:
        return (
            f"stopped at epoch {state.epoch}: no improvement for {cfg.patience} validations "
            f"since epoch {state.best_epoch}; {best}"
        )
    return f"ran all {state.epoch} epochs; {best}"
