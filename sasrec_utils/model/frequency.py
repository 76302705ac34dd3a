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
from torch import nn


def low_pass_matrix(max_len: int, cutoff: int) -> torch.Tensor:
    """(max_len, max_len) float32 ``P`` with ``P @ x`` = the ``cutoff`` lowest frequencies of x.

    Keeping the lowest frequencies of a length-``max_len`` window is a fixed linear map of
    its positions: column ``j`` is the filtered unit impulse at position ``j`` (the real
    FFT, the higher frequencies zeroed, the inverse FFT; orthonormal). One small matrix
    product per block then does what a forward and an inverse FFT (and their gradients) do.
    """
    impulses = torch.eye(max_len, dtype=torch.float64)  # column j: the impulse at j
    spectrum = torch.fft.rfft(impulses, dim=0, norm="ortho")  # (F, max_len) complex
    spectrum[cutoff:] = 0
    return torch.fft.irfft(spectrum, n=max_len, dim=0, norm="ortho").float()


class FrequencyFilter(nn.Module):
    """Keep the ``cutoff`` lowest frequencies of a window, scale the rest by ``beta**2`` (D,).

    ``sqrt_beta`` starts at 1 (``beta_init="ones"``: the identity) or at N(0, 1) draws
    (``"normal"``: BSARec's code).

    Padding positions are zeroed and every window is filtered as if left-padded to
    ``max_len``, so a history is filtered the same way whatever the batch's width: the
    window of ``L`` real-or-padding positions takes the last ``L`` rows and columns of
    ``low_pass_matrix`` (the zeros before it add nothing).
    """

    def __init__(self, dim: int, max_len: int, cutoff: int, beta_init: str = "ones") -> None:
        super().__init__()
        # "ones": the filter starts as the identity; "normal": N(0, 1) draws, as BSARec's code
        start = torch.randn(1, 1, dim) if beta_init == "normal" else torch.ones(1, 1, dim)
        self.sqrt_beta = nn.Parameter(start)
        # derived from max_len and cutoff, so not saved in checkpoints
        self.register_buffer("low_pass", low_pass_matrix(max_len, cutoff), persistent=False)

    def forward(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """x (B, L, D), real (B, L) bool -> (B, L, D) low frequencies + beta**2 * the rest."""
        length = x.shape[1]
        x = x * real[..., None].to(x.dtype)
        window = self.low_pass[-length:, -length:]  # (L, L)
        with torch.autocast(x.device.type, enabled=False):  # in float32, as an FFT runs
            low = torch.matmul(window, x.float()).to(x.dtype)  # (B, L, D)
        return low + self.sqrt_beta**2 * (x - low)
