"""The model: SASRec itself, its training losses, and what its attention looks at.

``sasrec`` (the network, ``(B, L) -> (B, L, D)``), ``losses`` (one object per loss: full
CE, sampled softmax, BCE, gBCE; ``build_loss``), ``cross_entropy`` (the full softmax's
fused kernel), ``attention_maps`` (one history's attention weights, weight by distance).
"""

from . import losses
from .attention_maps import last_layer_attention, weight_by_distance, window_weights
from .sasrec import SASRec, parameter_table

__all__ = [
    "SASRec",
    "last_layer_attention",
    "losses",
    "parameter_table",
    "weight_by_distance",
    "window_weights",
]
