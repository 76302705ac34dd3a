"""SASRec: self-attentive sequential recommendation (Kang & McAuley, 2018).

Shapes: B batch, L sequence length (<= max_len), D hidden size, H heads, V = n_items + 1
(item ids ``1..n_items``; ``0`` is padding). Sequences are left-padded; positions are
counted from the right, so the most recent item always has position ``max_len - 1``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..config import SASRecConfig
from .frequency import FrequencyFilter


def attention_mask(seq: torch.Tensor) -> torch.Tensor:
    """(B, 1, L, L) bool: query ``i`` may attend key ``j`` iff ``j <= i`` and ``j`` is real.

    A padding query attends only to itself, so no softmax row is empty (no NaN); padding
    outputs are never used.
    """
    length = seq.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=seq.device).tril()
    real_key = (seq != 0)[:, None, None, :]  # (B, 1, 1, L)
    itself = torch.eye(length, dtype=torch.bool, device=seq.device)
    return causal & (real_key | itself)


# ids (rows x length) embedded at once by ``SASRec.user_vectors``: 40 rows of 200 items
USER_VECTOR_TOKENS = 2**13


class LeanDropout(nn.Dropout):
    """Dropout with a cheap mask on CPU: 16 random bits per value, a 1-byte mask kept.

    On CPU ``nn.Dropout`` draws a float Bernoulli mask and keeps it, 4 bytes per value.
    Here one 64-bit draw gives four values their 16-bit uniform integers (what that saves
    is measured in ``benchmarks/README.md``); a value is kept when its integer is above the
    ``p`` quantile, so the drop probability is ``p`` rounded to a multiple of 1/65536
    (0.2 -> 0.199997), and the kept values are scaled by ``1 / (1 - that)``. Other devices
    use ``nn.Dropout``'s fused kernel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (any shape) -> x with each value zeroed with probability p, the rest / (1 - p)."""
        if not self.training or self.p == 0 or x.device.type != "cpu":
            return super().forward(x)
        dropped = round(self.p * 2**16)  # of the 2**16 equally likely 16-bit integers
        words = torch.empty((x.numel() + 3) // 4, dtype=torch.int64, device=x.device)
        draws = words.random_(-(2**63), 2**63 - 1).view(torch.int16)[: x.numel()]
        keep = draws.view(x.shape) >= dropped - 2**15  # bool, what backward keeps
        return (x * keep).mul_(2**16 / (2**16 - dropped))


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention; fused kernel unless the weights are asked for.

    By default the attention weights get no dropout (the blocks drop their outputs
    instead); ``weight_dropout > 0`` drops them in training, as the S3-Rec family's code
    does (the fused kernel takes it as ``dropout_p``).
    """

    def __init__(self, dim: int, n_heads: int, weight_dropout: float = 0.0) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.weight_dropout = weight_dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor, need_weights: bool = False, last: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, L, D), bias (B, 1, L, L) (0 allowed, -inf masked) -> (B, Q, D), weights or None.

        Q = L queries, or only the last one with ``last=True``; the weights are
        (B, H, Q, L) when asked for, else None.
        """
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).split(dim, dim=-1)
        if last:
            q, bias = q[:, -1:], bias[:, :, -1:]
        q = q.view(batch, q.shape[1], self.n_heads, -1).transpose(1, 2)  # (B, H, Q, D / H)
        k, v = (t.view(batch, length, self.n_heads, -1).transpose(1, 2) for t in (k, v))
        if need_weights:  # explicit path: softmax(q k^T / sqrt(d_head)) v
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Q, L)
            weights = (scores + bias).softmax(dim=-1)
            y = weights @ v
        else:
            weights = None
            dropout = self.weight_dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)
        y = y.transpose(1, 2).reshape(batch, q.shape[2], dim)  # (B, Q, D)
        return self.out(y), weights


class SwiGLU(nn.Module):
    """Gated linear unit with a SiLU gate (Shazeer 2020): x = [a, b] -> silu(a) * b."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., 2F) -> (..., F)."""
        gate, value = x.chunk(2, dim=-1)
        return F.silu(gate) * value


class Block(nn.Module):
    """Transformer block: x + attn(LN(x)), then x + FFN(LN(x)) (``layer_norm="pre"``), or
    LN(x + attn(x)), then LN(x + FFN(x)) (``"post"``).

    The FFN is ``Linear -> activation -> dropout -> Linear`` with ``cfg.ffn_activation``:
    GELU (default), ReLU (the paper's) or SwiGLU (a gated unit; its first layer is twice
    as wide); its inner dropout is off with ``cfg.ffn_inner_dropout=False`` (BSARec's).

    With the frequency filter (``cfg.frequency_mix`` = a), attention's output is mixed
    with the filter's before the residual sum (``frequency_norm="shared"``), or, as
    BSARec's code does, each branch gets its own residual sum and LayerNorm and the two
    are mixed after (``"per_branch"``, post-norm only): a LN(x + filter(x)) +
    (1 - a) LN(x + attn(x)).
    """

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        dim = cfg.hidden_dim
        self.ln_attn = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, cfg.n_heads, cfg.attention_dropout)
        self.ln_ffn = nn.LayerNorm(dim)
        width = cfg.ffn_mult * dim
        gated = cfg.ffn_activation == "swiglu"
        self.ffn = nn.Sequential(
            nn.Linear(dim, 2 * width if gated else width),
            SwiGLU() if gated else nn.ReLU() if cfg.ffn_activation == "relu" else nn.GELU(),
            LeanDropout(cfg.dropout if cfg.ffn_inner_dropout else 0.0),
            nn.Linear(width, dim),
        )
        self.drop = LeanDropout(cfg.dropout)
        self.post_norm = cfg.layer_norm == "post"
        self.frequency_mix = cfg.frequency_mix
        self.frequency = (
            FrequencyFilter(dim, cfg.max_len, cfg.frequency_cutoff, cfg.frequency_beta_init)
            if cfg.frequency_mix
            else None
        )
        per_branch = self.frequency is not None and cfg.frequency_norm == "per_branch"
        self.ln_frequency = nn.LayerNorm(dim) if per_branch else None

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor, need_weights: bool = False, last: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, L, D), bias (B, 1, L, L) -> (B, Q, D), attention weights (B, H, Q, L) or None.

        Q = L, or 1 with ``last=True`` (only the most recent position is computed). With
        ``frequency_mix > 0`` the attention output is mixed with the frequency filter's.
        """
        inputs = x if self.post_norm else self.ln_attn(x)
        attended, weights = self.attn(inputs, bias, need_weights, last)
        filtered = None
        if self.frequency is not None:
            real = bias[:, 0, -1] == 0  # (B, L): the last query sees every real item
            filtered = self.frequency(inputs, real)[:, -attended.shape[1] :]
        if last:
            x = x[:, -1:]
        x = self._attention_residual(x, attended, filtered)
        if self.post_norm:
            return self.ln_ffn(x + self.drop(self.ffn(x))), weights
        return x + self.drop(self.ffn(self.ln_ffn(x))), weights

    def _attention_residual(
        self, x: torch.Tensor, attended: torch.Tensor, filtered: torch.Tensor | None
    ) -> torch.Tensor:
        """x, attended, filtered (B, Q, D) -> x after the attention (and filter) sub-layer.

        Pre-norm adds the mixed output to x; post-norm normalises that sum; per-branch
        normalises each branch's sum apart and mixes them after (BSARec's block).
        """
        mix = self.frequency_mix
        if self.ln_frequency is not None:
            attention_sum = self.ln_attn(x + self.drop(attended))
            return (1 - mix) * attention_sum + mix * self.ln_frequency(x + self.drop(filtered))
        if filtered is not None:
            attended = (1 - mix) * attended + mix * filtered
        x = x + self.drop(attended)
        return self.ln_attn(x) if self.post_norm else x


class SASRec(nn.Module):
    """Item + position embeddings, causal self-attention blocks, tied output scores."""

    def __init__(self, n_items: int, cfg: SASRecConfig) -> None:
        super().__init__()
        self.n_items = n_items
        self.max_len = cfg.max_len
        self.item_emb = nn.Embedding(
            n_items + 1, cfg.hidden_dim, padding_idx=0, sparse=cfg.sparse_item_grad
        )
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.hidden_dim)
        self.emb_drop = LeanDropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        # pre: one LayerNorm after the last block; post: on the summed embeddings instead
        # (each block already ends in one)
        post_norm = cfg.layer_norm == "post"
        self.emb_norm = nn.LayerNorm(cfg.hidden_dim) if post_norm else None
        self.ln_final = nn.Identity() if post_norm else nn.LayerNorm(cfg.hidden_dim)
        self.apply(_init_weights)

    def forward(
        self, seq: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """seq (B, L) int64 left-padded item ids -> hidden states (B, L, D).

        With ``return_attention=True`` also a list (one per layer) of (B, H, L, L) weights.
        Position ``t``'s state depends only on items ``<= t`` (causal).
        """
        x, bias = self._embed(seq)
        weights = []
        for block in self.blocks:
            x, w = block(x, bias, need_weights=return_attention)
            weights.append(w)
        hidden = self.ln_final(x)
        return (hidden, weights) if return_attention else hidden

    def _embed(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """seq (B, L) -> embedded inputs (B, L, D) and the attention bias (B, 1, L, L)."""
        length = seq.shape[1]
        if length > self.max_len:
            raise ValueError(
                f"sequence length {length} exceeds max_len={self.max_len}; "
                "keep the most recent max_len items"
            )
        positions = torch.arange(self.max_len - length, self.max_len, device=seq.device)
        if self.emb_norm is not None:  # post: LN(item + position)
            x = self.emb_norm(self.item_emb(seq) + self.pos_emb(positions))
        else:  # pre: the paper's code scales the item embeddings by sqrt(D)
            scale = math.sqrt(self.item_emb.embedding_dim)
            x = self.item_emb(seq) * scale + self.pos_emb(positions)
        x = self.emb_drop(x)  # (B, L, D)
        # built once as an additive float mask and shared by every layer (SDPA would
        # otherwise convert a boolean mask to floats again in each layer)
        mask = attention_mask(seq)  # (B, 1, L, L) bool
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill_(
            ~mask, float("-inf")
        )
        return x, bias

    def item_matrix(self) -> torch.Tensor:
        """(V, D) the item embedding table, also the output layer (tied weights)."""
        return self.item_emb.weight

    def user_vectors(self, seq: torch.Tensor) -> torch.Tensor:
        """(B, D) the hidden state at the last (most recent) position.

        Equals ``forward(seq)[:, -1]``; the last block computes only that position. Rows
        go through in groups of at most ``USER_VECTOR_TOKENS`` ids, so a large batch of
        long histories never holds all its (B, L, D) activations at once.
        """
        rows = max(1, USER_VECTOR_TOKENS // seq.shape[1])
        if len(seq) > rows:
            return torch.cat([self.user_vectors(part) for part in seq.split(rows)])
        x, bias = self._embed(seq)
        for depth, block in enumerate(self.blocks, start=1):
            x, _ = block(x, bias, last=depth == len(self.blocks))
        return self.ln_final(x[:, -1])

    def score_last(self, seq: torch.Tensor) -> torch.Tensor:
        """(B, V) scores of every item as the next one; column 0 is padding."""
        return self.user_vectors(seq) @ self.item_matrix().T

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def init_item_embeddings(self, pretrained: np.ndarray | torch.Tensor) -> None:
        """Initialise item embeddings from a (V, d) matrix aligned to internal ids.

        If ``d != D`` the vectors are projected on their top-``D`` principal directions
        (deterministic). Rows are rescaled to the current init's spread; row 0 stays zero.
        """
        table = torch.as_tensor(np.asarray(pretrained), dtype=torch.float32)
        vocab, dim = self.item_emb.weight.shape
        if table.shape[0] != vocab:
            raise ValueError(
                f"pretrained matrix has {table.shape[0]} rows, expected {vocab} "
                "(n_items + 1, row 0 for padding)"
            )
        vectors = table[1:] - table[1:].mean(dim=0)
        if vectors.shape[1] != dim:
            if vectors.shape[1] < dim:
                raise ValueError(
                    f"pretrained width {vectors.shape[1]} < hidden_dim {dim}; cannot project up"
                )
            _, _, right = torch.linalg.svd(vectors, full_matrices=False)
            vectors = vectors @ right[:dim].T  # (n_items, min(dim, n_items))
            vectors = torch.nn.functional.pad(vectors, (0, dim - vectors.shape[1]))
        target_std = self.item_emb.weight[1:].std()
        vectors = vectors * (target_std / vectors.std().clamp_min(1e-12))
        self.item_emb.weight[1:] = vectors.to(self.item_emb.weight)
        self.item_emb.weight[0] = 0


def parameter_table(model: nn.Module) -> pd.DataFrame:
    """Parameters per module (``item_emb``, ``blocks.0.attn.qkv``, ...) with shares.

    Columns ``module, shapes, parameters, share``; a final ``total`` row.
    """
    rows: dict[str, dict] = {}
    for name, tensor in model.named_parameters():
        module = name.rsplit(".", 1)[0]
        row = rows.setdefault(module, {"module": module, "shapes": [], "parameters": 0})
        row["shapes"].append("×".join(map(str, tensor.shape)))
        row["parameters"] += tensor.numel()
    frame = pd.DataFrame(rows.values())
    frame["shapes"] = frame["shapes"].map(" + ".join)
    total = int(frame["parameters"].sum())
    frame["share"] = frame["parameters"] / total
    frame.loc[len(frame)] = {"module": "total", "shapes": "", "parameters": total, "share": 1.0}
    return frame


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
        if module.padding_idx is not None:
            module.weight.data[module.padding_idx] = 0
