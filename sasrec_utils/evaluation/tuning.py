"""Choosing a baseline's hyperparameters on the validation queries, edges widened.

``tune`` scores every point of the baseline's grid (``baselines.BASELINE_GRIDS``), then,
while the best point sits on the lowest or highest value tried for a hyperparameter, tries
the next value beyond it (``baselines.GRID_EXTENSIONS``) with the others held at their
best, until a value with a worse neighbour on each side is found or the extensions run
out. A best value that is still on an edge is said so in ``edge_note``, with the reason
when the edge is the end of the value's range (``baselines.NATURAL_EDGES``). The test
queries are never read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..data.splits import EvalSet, Split
from .baselines import BASELINE_GRIDS, BASELINES, GRID_EXTENSIONS, NATURAL_EDGES
from .ranking import evaluate
from .scorers import Scorer


@dataclass
class TunedBaseline:
    """A baseline fitted with the point that scored best on the validation queries."""

    name: str
    params: dict[str, Any]
    valid_ndcg: float
    scorer: Scorer
    grid: pd.DataFrame = field(repr=False)  # one row per point tried: params, valid ndcg@10
    edge_note: str = ""  # why a chosen value sits on the edge of what was tried ("": none)


def _grid_points(grid: dict[str, list[Any]]) -> Iterable[dict[str, Any]]:
    names = list(grid)
    for values in itertools.product(*(grid[name] for name in names)):
        point = dict(zip(names, values, strict=True))
        if _idle(point, "decay") and point["decay"] != max(grid["decay"]):
            continue
        yield point


def _idle(point: dict[str, Any], key: str) -> bool:
    """Whether ``key`` changes nothing at ``point``: with one history item, the decay."""
    return key == "decay" and point.get("last_n") == 1


def tune(
    name: str,
    split: Split,
    grid: dict[str, list[Any]] | None = None,
    queries: EvalSet | None = None,
    batch_size: int = 256,
    extensions: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] | None = None,
) -> TunedBaseline:
    """Fit baseline ``name`` on ``split.train`` at every grid point, widen the grid where
    the best point sits on its edge, and keep the best by validation NDCG@10 (``queries``
    defaults to ``split.valid``; test is never used)."""
    grid = BASELINE_GRIDS[name] if grid is None else grid
    extensions = GRID_EXTENSIONS.get(name, {}) if extensions is None else extensions
    queries = split.valid if queries is None else queries
    rows: list[dict[str, Any]] = []
    fitted: dict[str, tuple[float, Scorer]] = {}

    def score(point: dict[str, Any]) -> float:
        scorer = BASELINES[name](split.train, split.n_items, **point)
        ndcg = evaluate(scorer, queries, split.n_items, batch_size=batch_size)["ndcg@10"]
        rows.append({**point, "valid_ndcg@10": ndcg})
        fitted[repr(sorted(point.items()))] = (ndcg, scorer)
        return ndcg

    best = max(_grid_points(grid), key=score)
    best = _widen(best, grid, extensions, score, fitted)
    ndcg, scorer = fitted[repr(sorted(best.items()))]
    tried = pd.DataFrame(rows)
    return TunedBaseline(name, best, ndcg, scorer, tried, edge_note(name, best, tried))


def _widen(
    best: dict[str, Any],
    grid: dict[str, list[Any]],
    extensions: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]],
    score: Callable[[dict[str, Any]], float],
    fitted: dict[str, tuple[float, Scorer]],
) -> dict[str, Any]:
    """Step past each edge the best point sits on, one extension value at a time."""
    grid = {key: list(values) for key, values in grid.items()}  # the caller's stays as it is
    remaining = {key: [list(low), list(high)] for key, (low, high) in extensions.items()}
    tried = True
    while tried:  # until no chosen value sits on an edge with an extension left beyond it
        tried = False
        for key, values in grid.items():
            low, high = remaining.get(key, [[], []]) if not _idle(best, key) else ([], [])
            side = low if best[key] == min(values) else []
            side = side or (high if best[key] == max(values) else [])
            if not side:
                continue
            value, tried = side.pop(0), True
            grid[key] = sorted({*values, value})
            candidate = {**best, key: value}
            if score(candidate) > fitted[repr(sorted(best.items()))][0]:
                best = candidate
    return best


def edge_note(name: str, best: dict[str, Any], tried: pd.DataFrame) -> str:
    """Each chosen value that is the lowest or highest tried for its hyperparameter, and
    why (the end of its range, or the widest value tried); "" when all are interior."""
    notes = []
    for key, value in best.items():
        values = tried[key]
        if values.min() < value < values.max() or _idle(best, key):
            continue
        reason = NATURAL_EDGES.get((name, key, value))
        end = "lowest" if value == values.min() else "highest"
        notes.append(reason or f"{key}={value} is the {end} value tried")
    return "; ".join(notes)
