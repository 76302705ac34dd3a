"""Scorers: what the evaluator ranks. SASRec and the simple baselines share one interface.

A ``Scorer`` scores items for a batch of query histories: ``prepare`` builds a per-batch
state (e.g. user vectors), ``chunk`` scores a contiguous range of item ids for every query
and ``gather`` scores given items per query. The evaluator never needs the full
(queries x items) matrix at once. Scores should be finite: the evaluator ranks a NaN or
infinite one as -inf, below every finite score, and counts its query.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from ..data.sequences import Sequences


class Scorer(Protocol):
    """Scores items for a batch of histories. ``state`` is whatever ``prepare`` returns.

    ``chunk`` returns a new tensor the evaluator may overwrite (it masks in place), never
    a view of the state.
    """

    def prepare(self, histories: Sequences, rows: np.ndarray) -> object: ...
    def chunk(self, state: object, start: int, stop: int) -> torch.Tensor: ...  # (B, C)
    def gather(self, state: object, items: torch.Tensor) -> torch.Tensor: ...  # (B, K)


class ModelScorer:
    """Scores from a SASRec model: user vector (B, D) times item table (V, D)."""

    def __init__(self, model: torch.nn.Module, max_len: int, device: str | torch.device = "cpu"):
        self.model, self.max_len, self.device = model, max_len, torch.device(device)

    @torch.no_grad()
    def prepare(self, histories: Sequences, rows: np.ndarray) -> torch.Tensor:
        self.model.eval()
        seq = torch.from_numpy(histories.to_padded(self.max_len)).to(self.device)
        return self.model.user_vectors(seq).float()  # (B, D)

    @torch.no_grad()
    def chunk(self, state: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        return state @ self.model.item_matrix()[start:stop].float().T  # (B, C)

    @torch.no_grad()
    def gather(self, state: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        vectors = self.model.item_matrix()[items].float()  # (B, K, D)
        return torch.einsum("bd,bkd->bk", state, vectors)


class EnsembleScorer:
    """The mean of several SASRec models' scores (e.g. the same config, different seeds)."""

    def __init__(
        self, models: list[torch.nn.Module], max_len: int, device: str | torch.device = "cpu"
    ):
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.members = [ModelScorer(model, max_len, device) for model in models]

    def prepare(self, histories: Sequences, rows: np.ndarray) -> list[torch.Tensor]:
        return [member.prepare(histories, rows) for member in self.members]  # M x (B, D)

    def chunk(self, state: list[torch.Tensor], start: int, stop: int) -> torch.Tensor:
        parts = [m.chunk(s, start, stop) for m, s in zip(self.members, state, strict=True)]
        return torch.stack(parts).mean(dim=0)  # (B, C)

    def gather(self, state: list[torch.Tensor], items: torch.Tensor) -> torch.Tensor:
        parts = [m.gather(s, items) for m, s in zip(self.members, state, strict=True)]
        return torch.stack(parts).mean(dim=0)  # (B, K)


class PopularityScorer:
    """Most-popular baseline: every user gets the training interaction counts."""

    def __init__(self, counts: np.ndarray):
        self.counts = torch.as_tensor(counts, dtype=torch.float64)

    def prepare(self, histories: Sequences, rows: np.ndarray) -> int:
        return len(histories)

    def chunk(self, state: int, start: int, stop: int) -> torch.Tensor:
        return self.counts[start:stop].repeat(state, 1)  # (B, C), a new tensor

    def gather(self, state: int, items: torch.Tensor) -> torch.Tensor:
        return self.counts[items]


class RandomScorer:
    """Random baseline: a fixed pseudo-random score per (query, item), from a hash.

    Hash-based rather than drawn, so chunked and gathered scores agree exactly.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed

    def prepare(self, histories: Sequences, rows: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(rows, dtype=torch.int64)[:, None]  # (B, 1)

    def _hash(self, rows: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        mask = 0xFFFFFFFF
        x = (rows * 0x9E3779B1 + items * 0x85EBCA77 + self.seed) & mask
        x = ((x ^ (x >> 15)) * 0x2C1B3C6D) & mask
        return (x ^ (x >> 12)).double() / 2**32

    def chunk(self, state: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        return self._hash(state, torch.arange(start, stop)[None, :])

    def gather(self, state: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self._hash(state, items)
