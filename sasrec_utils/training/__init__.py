"""Training: the loop, its state, early stopping, optimisers, checkpoints, several processes.

``loop`` (``fit``, the ``Trainer``), ``state`` (what ``last.pt`` resumes, epoch lines),
``early_stopping`` (the validation metric and when to stop),
``failures`` (divergence, interrupts, out of memory), ``optimizers`` (AdamW, the lazy
sparse Adam), ``final_model`` (early-stopped run, optional refit on validation),
``checkpoint`` (safe, verified files), ``distributed`` (torchrun + DDP).
"""

from .checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from .early_stopping import BEST_VALID_KEY, VALID_COLUMN, VALID_LABEL, VALID_METRIC
from .failures import TrainingDiverged
from .final_model import FinalModel, final_train, refit, train_final
from .loop import TrainResult, fit

__all__ = [
    "BEST_VALID_KEY",
    "VALID_COLUMN",
    "VALID_LABEL",
    "VALID_METRIC",
    "CheckpointError",
    "FinalModel",
    "TrainResult",
    "TrainingDiverged",
    "final_train",
    "fit",
    "load_checkpoint",
    "model_from_checkpoint",
    "refit",
    "train_final",
]
