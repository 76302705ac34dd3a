"""Early stopping: the one validation metric that picks the kept epoch, and when to stop.

``VALID_METRIC`` is the key of ``evaluate_model``'s metrics that training maximises on the
validation items; every other name is derived from it: the history's column
(``VALID_COLUMN``), the best value's key in ``training.json`` and the ``sasrec`` command's
report (``BEST_VALID_KEY``) and its name in printed lines and figures (``VALID_LABEL``).
Changing the rule (another metric, a minimum gain, a lower-is-better metric) changes this
module and, for a new setting, the config.
"""

from __future__ import annotations

from typing import NamedTuple

VALID_METRIC = "ndcg@10"
VALID_LABEL = "NDCG@10"
VALID_COLUMN = f"valid_{VALID_METRIC}"
BEST_VALID_KEY = f"best_{VALID_COLUMN}"


class Decision(NamedTuple):
    """After one validation: the best value so far, validations since it, whether new."""

    best: float
    stale: int  # validations since the best one (``patience_spent`` reads it)
    improved: bool  # this validation is the new best: keep its weights


def early_stopping(value: float, best: float, stale: int) -> Decision:
    """The update for one validation ``value`` of ``VALID_METRIC``.

    A strictly higher value than ``best`` is the new best (``stale`` back to 0); otherwise
    ``stale`` grows by one.
    """
    if value > best:
        return Decision(value, 0, True)
    return Decision(best, stale + 1, False)


def patience_spent(stale: int, patience: int) -> bool:
    """Whether ``stale`` validations without improvement end training (checked before
    each epoch, so a resumed run whose patience was spent trains no further)."""
    return stale >= patience
