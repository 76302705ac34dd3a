"""A frequency-domain filter beside attention: an extension of SASRec, not part of it.

BSARec (Shin et al., "An Attentive Inductive Bias for Sequential Recommendation beyond the
Self-Attention", AAAI 2024), after FMLP-Rec (Zhou et al., WWW 2022), adds to each block a
filter over the window in the frequency domain: the lowest frequencies (the slow trend of
a history) pass as they are, the rest (item-to-item changes) are rescaled by a learned
factor per dimension, and the block mixes ``frequency_mix`` of the filter with
``1 - frequency_mix`` of attention. The filter sees every position of the window, future
ones included, so it is trained on prefixes (``data.prefixes``), where each example's
window ends at the item it predicts from.

Shapes: B batch, L window (<= max_len), D hidden size, F = max_len // 2 + 1 frequencies.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FrequencyFilter(nn.Module):
    """Keep the ``cutoff`` lowest frequencies of a window, scale the rest by ``beta**2`` (D,).

    Padding positions are zeroed and every window is left-padded to ``max_len`` before the
    transform, so a history is filtered the same way whatever the batch's width.
    """

    def __init__(self, dim: int, max_len: int, cutoff: int) -> None:
        super().__init__()
        self.max_len = max_len
        self.cutoff = cutoff
        self.sqrt_beta = nn.Parameter(torch.ones(1, 1, dim))  # starts as the identity

    def forward(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """x (B, L, D), real (B, L) bool -> (B, L, D) low frequencies + beta**2 * the rest."""
        length = x.shape[1]
        x = x * real[..., None].to(x.dtype)
        padded = F.pad(x, (0, 0, self.max_len - length, 0)).float()  # (B, max_len, D)
        spectrum = torch.fft.rfft(padded, dim=1, norm="ortho")  # (B, F, D) complex
        low_pass = torch.zeros_like(spectrum)
        low_pass[:, : self.cutoff] = spectrum[:, : self.cutoff]
        low = torch.fft.irfft(low_pass, n=self.max_len, dim=1, norm="ortho")[:, -length:]
        low = low.to(x.dtype)
        return low + self.sqrt_beta**2 * (x - low)
