"""What a result row's weights were trained on, and the rule that figures of different
protocols are never set side by side.

Every published figure on the leave-one-out benchmarks (BSARec, ICSRec, FMLP-Rec, the
eSASRec benchmark, RecBole) trains on each history's **training items only**, early-stops
on the validation item and feeds the whole history (validation item included) at test:
``trained_on = "train"``. A shop retrains on everything it has before serving, the
validation item too (``refit_on_valid=True``): ``trained_on = "train+valid"``, a real gain
but a different protocol. Rows carry ``trained_on``; tables that set rows side by side go
through ``same_protocol``, which refuses a mix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config import SASRecConfig

TRAIN = "train"
TRAIN_VALID = "train+valid"
PROTOCOLS = {
    TRAIN: "training items only (the papers' protocol)",
    TRAIN_VALID: "training + validation items: retrained on the validation item before the "
    "test (deployment)",
}


def trained_on(cfg: SASRecConfig) -> str:
    """``"train+valid"`` when the final weights are retrained on the validation items
    (``cfg.refit_on_valid``), else ``"train"``."""
    return TRAIN_VALID if cfg.refit_on_valid else TRAIN


def same_protocol(rows: Iterable[Mapping[str, Any]], table: str) -> str:
    """The ``trained_on`` every row of ``table`` shares; ``ValueError`` naming the rows
    when one lacks it or two differ."""
    rows = list(rows)
    found = {row.get("trained_on") for row in rows}
    if len(found) == 1 and None not in found and next(iter(found)) in PROTOCOLS:
        return next(iter(found))
    labels = [
        f"{row.get('model', row.get('system', '?'))}: {row.get('trained_on')}" for row in rows
    ]
    raise ValueError(
        f"{table} would set figures of different protocols side by side ({'; '.join(labels)}); "
        f"every row needs trained_on, one of {sorted(PROTOCOLS)}, and the same one"
    )


def rows_trained_on(rows: Iterable[Mapping[str, Any]], protocol: str) -> list[Mapping[str, Any]]:
    """The rows whose weights were trained on ``protocol`` (a ``PROTOCOLS`` key)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
    return [row for row in rows if row.get("trained_on") == protocol]
