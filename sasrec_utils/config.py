"""One configuration object that travels from data loading to serving.

Every field is validated when the object is built, so an impossible value fails at once
with a message naming the field, the value found and the accepted range.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config_rules import check_data_files, check_option_pairs
from .field_checks import choice, int_at_least, is_number, number_in

DATASETS = ("ml-100k", "ml-1m", "amazon-beauty", "user-lines", "events")
LOSSES = ("ce", "bce", "sampled_softmax", "gbce")
DEVICES = ("auto", "cpu", "cuda", "mps")
WINDOWS = ("recent", "random")
SPLITS = ("leave_one_out", "user")
SCHEDULES = ("constant", "cosine")
ACTIVATIONS = ("gelu", "relu", "swiglu")
TRAIN_EXAMPLES = ("windows", "prefixes")
PROPOSALS = ("popularity", "uniform")
LAYER_NORMS = ("pre", "post")
FREQUENCY_NORMS = ("shared", "per_branch")
BETA_INITS = ("ones", "normal")
SOFTMAX_DTYPES = ("float32", "bfloat16")


@dataclass
class SASRecConfig:
    """All settings of one experiment: data, model, training and evaluation.

    Data
        dataset: ``ml-100k``, ``ml-1m``, ``amazon-beauty`` (S3-Rec's Beauty file),
        ``user-lines`` (any file of one line per user: ``events_paths=[path]``) or
        ``events`` (the retail parquet layout); readers in ``data.loading.DATASETS``.
        data_dir: where downloads are cached (``None``: ``$SASREC_DATA_DIR`` or ``data/``).
        events_paths / vocabulary_path / embeddings_path: the retail layout's files.
        split: ``leave_one_out`` (last item = test, second-to-last = validation) or ``user``.
    Model
        max_len: items of history the model sees (L).
        hidden_dim: embedding width (D); must be divisible by ``n_heads``.
        ffn_mult: width of the feed-forward layer as a multiple of D.
        ffn_activation: ``gelu``, ``relu`` (the paper's) or ``swiglu`` (gated).
        dropout: the rate on the embeddings and on each block's attention and feed-forward
        outputs (and inside the feed-forward layer, unless ``ffn_inner_dropout=False``: the
        SASRec paper's code drops there, BSARec's does not).
        attention_dropout: the rate on the attention weights (0: none, the default).
        layer_norm: ``pre`` (LayerNorm before each block's attention and feed-forward and
        once at the end, item embeddings scaled by sqrt(D): the SASRec paper's code) or
        ``post`` (LayerNorm after each residual sum and on the summed embeddings, no
        scaling: BERT's order, kept by the S3-Rec family's code that FMLP-Rec, ICLRec and
        BSARec build on).
        frequency_mix: an extension of SASRec (BSARec, Shin et al. AAAI 2024; after
        FMLP-Rec, Zhou et al. WWW 2022): each block mixes ``frequency_mix`` of a
        frequency-domain filter of its input with ``1 - frequency_mix`` of attention (0:
        plain SASRec). The filter keeps the ``frequency_cutoff`` lowest frequencies of the
        window and rescales the rest by a learned per-dimension factor; it sees the whole
        window, so it needs ``train_examples="prefixes"`` (``model.frequency``).
        frequency_norm: ``shared`` (the filter's and attention's outputs are mixed, then
        added to the block's input) or ``per_branch`` (each gets its own residual sum and
        LayerNorm, then they are mixed: BSARec's code; needs ``layer_norm="post"``; with
        ``frequency_mix=0`` there is no filter branch and both are plain post-norm).
        frequency_beta_init: the filter's per-dimension factor starts at 1 (``ones``: the
        identity) or at N(0, 1) draws (``normal``: BSARec's code).
    Training
        loss: ``ce`` (full softmax over all items), ``bce`` (one sampled negative, as in the
        paper), ``sampled_softmax`` (``n_negatives`` shared negatives, logQ-corrected) or
        ``gbce`` (generalised BCE with ``gbce_t`` calibration).
        batch_tokens: cap on the cells (users x window length) of one training batch (0: no
        cap): batches of long histories hold fewer than ``batch_size`` users, so the
        activations of a step, and the process's peak memory, stay bounded.
        train_examples: ``windows`` (one window per user, every position predicts its next
        item: the paper's) or ``prefixes`` (every prefix of a history is one example whose
        last position predicts the next item, as BSARec and FMLP-Rec train;
        ``data.prefixes``).
        empty_prefix: with ``prefixes``, each history also gives the empty prefix, whose
        (all-padding) window predicts the history's first item, as BSARec's data does.
        contrastive_weight / contrastive_temperature: an extension of SASRec (CL4SRec, Xie
        et al. ICDE 2022; DuoRec, Qiu et al. WSDM 2022): with a weight > 0, InfoNCE of two
        dropout views of each history (temperature) is added to the loss
        (``model.contrastive``).
        negative_proposal / logq_correction: with ``sampled_softmax`` (and ``gbce``'s
        shared negatives: uniform always), negatives are drawn from popularity ** 0.5
        (``popularity``) or uniformly (``uniform``); with ``logq_correction`` each
        negative's logit is lowered by the log of its expected draw count.
        loss_chunk_rows: rows of logits computed at once by the full CE (0: all at once);
        bounds memory for large catalogues.
        in_batch_negatives: with ``loss="sampled_softmax"``, the batch's distinct targets
        join the sampled negatives (``losses.sampled_softmax``; logQ-corrected).
        sparse_item_grad: the item table gets sparse gradients and a lazy Adam
        (``optimizers``): a step's optimiser work grows with the rows a batch touches, not
        the catalogue. Only with a sampled loss (``bce``, ``sampled_softmax``, ``gbce``:
        full CE touches every row) and on one process.
        refit_on_valid: the final model is retrained on training + validation items for the
        number of epochs early stopping chose on validation (``train.train_final``).
        loss_horizon / horizon_decay: with ``loss="ce"``, each position learns its next
        ``loss_horizon`` items (weights ``horizon_decay ** j``) from one softmax, not only
        the very next (a dense all-action loss; 1 = the classic next-item loss).
        num_threads: torch's CPU threads for this process (0: auto, the physical cores less
        one for the data path, or ``OMP_NUM_THREADS`` when set; ``runtime.training_threads``).
        softmax_dtype: with ``loss="ce"``, the dtype of the full softmax's three matrix
        products (the logits and the gradients they send back): ``float32`` or ``bfloat16``
        (inputs and results rounded to bfloat16, sums inside each product and the softmax
        in float32, as mixed precision on a GPU: the products ~3x faster on a CPU with
        AVX512-BF16 or AMX; ``cross_entropy.full_cross_entropy``).
        ppmi_init_window: start the item table from the training items' co-occurrence
        (pairs within this many events; their PPMI factorised by SVD: ``model.item_init``)
        instead of random vectors; 0 (the default): random. Not with ``embeddings_path``.
        mask_seen_in_loss: with ``loss="ce"``, leave each position's already seen window
        items out of its softmax, as the evaluation leaves a history out of the ranking
        (right where items are consumed once, as films; not where they are re-bought).
    Evaluation
        valid_users: early stopping scores a fixed random sample of this many validation
        users (0: all of them), for logs where validating everyone takes longer than an
        epoch; the final test always ranks for every user.
    """

    # data
    dataset: str = "ml-100k"
    data_dir: str | None = None
    events_paths: list[str] = field(default_factory=list)
    vocabulary_path: str | None = None
    embeddings_path: str | None = None
    split: str = "leave_one_out"
    # model
    max_len: int = 200
    hidden_dim: int = 64
    n_layers: int = 2
    n_heads: int = 2
    ffn_mult: int = 1
    ffn_activation: str = "gelu"
    dropout: float = 0.2
    attention_dropout: float = 0.0
    ffn_inner_dropout: bool = True
    layer_norm: str = "pre"
    frequency_mix: float = 0.0
    frequency_cutoff: int = 3
    frequency_norm: str = "shared"
    frequency_beta_init: str = "ones"
    # training
    loss: str = "ce"
    n_negatives: int = 256
    negative_proposal: str = "popularity"
    logq_correction: bool = True
    gbce_t: float = 0.75
    label_smoothing: float = 0.0
    contrastive_weight: float = 0.0
    contrastive_temperature: float = 1.0
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    batch_size: int = 256
    batch_tokens: int = 4096
    epochs: int = 200
    patience: int = 10
    grad_clip: float = 1.0
    window: str = "recent"
    train_examples: str = "windows"
    empty_prefix: bool = False
    loss_chunk_rows: int = 0
    loss_horizon: int = 1
    horizon_decay: float = 1.0
    softmax_dtype: str = "float32"
    ppmi_init_window: int = 0
    mask_seen_in_loss: bool = True
    refit_on_valid: bool = False
    sparse_item_grad: bool = False
    in_batch_negatives: bool = False
    seed: int = 42
    device: str = "auto"
    amp: bool = True
    num_threads: int = 0
    # evaluation
    valid_users: int = 0
    eval_batch_size: int = 256
    eval_every: int = 1

    def __post_init__(self) -> None:
        for name, value in self.to_dict().items():  # np.int64(16) from a sweep is 16
            if isinstance(value, (np.integer, np.floating, np.bool_)):
                setattr(self, name, value.item())
        for name in ("data_dir", "vocabulary_path", "embeddings_path"):  # Path("a") is "a"
            if isinstance(getattr(self, name), os.PathLike):
                setattr(self, name, os.fspath(getattr(self, name)))
        if isinstance(self.events_paths, (list, tuple)):
            self.events_paths = [
                os.fspath(p) if isinstance(p, os.PathLike) else p for p in self.events_paths
            ]
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field whose value is impossible."""
        choice("dataset", self.dataset, DATASETS)
        choice("loss", self.loss, LOSSES)
        choice("device", self.device, DEVICES)
        choice("window", self.window, WINDOWS)
        choice("split", self.split, SPLITS)
        choice("lr_schedule", self.lr_schedule, SCHEDULES)
        choice("ffn_activation", self.ffn_activation, ACTIVATIONS)
        choice("train_examples", self.train_examples, TRAIN_EXAMPLES)
        choice("negative_proposal", self.negative_proposal, PROPOSALS)
        choice("layer_norm", self.layer_norm, LAYER_NORMS)
        choice("frequency_norm", self.frequency_norm, FREQUENCY_NORMS)
        choice("frequency_beta_init", self.frequency_beta_init, BETA_INITS)
        choice("softmax_dtype", self.softmax_dtype, SOFTMAX_DTYPES)
        int_at_least("max_len", self.max_len, 2)
        int_at_least("hidden_dim", self.hidden_dim, 1)
        int_at_least("n_layers", self.n_layers, 1)
        int_at_least("n_heads", self.n_heads, 1)
        int_at_least("ffn_mult", self.ffn_mult, 1)
        int_at_least("n_negatives", self.n_negatives, 1)
        int_at_least("batch_size", self.batch_size, 1)
        int_at_least("batch_tokens", self.batch_tokens, 0)
        int_at_least("epochs", self.epochs, 1)
        int_at_least("patience", self.patience, 1)
        int_at_least("loss_chunk_rows", self.loss_chunk_rows, 0)
        int_at_least("loss_horizon", self.loss_horizon, 1)
        int_at_least("ppmi_init_window", self.ppmi_init_window, 0)
        int_at_least("frequency_cutoff", self.frequency_cutoff, 1)
        int_at_least("seed", self.seed, 0)
        int_at_least("num_threads", self.num_threads, 0)
        int_at_least("eval_batch_size", self.eval_batch_size, 1)
        int_at_least("valid_users", self.valid_users, 0)
        int_at_least("eval_every", self.eval_every, 1)
        if self.hidden_dim % self.n_heads:
            raise ValueError(
                f"hidden_dim={self.hidden_dim} is not divisible by n_heads={self.n_heads}; "
                "choose hidden_dim as a multiple of n_heads"
            )
        # NaN passes every range check (all comparisons fail): refused by name first
        for name in _fields_of_type(self, float):
            value = getattr(self, name)
            if is_number(value) and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        number_in("dropout", self.dropout, 0.0, 1.0, upper_open=True)
        number_in("label_smoothing", self.label_smoothing, 0.0, 1.0, upper_open=True)
        number_in("gbce_t", self.gbce_t, 0.0, 1.0)
        number_in("frequency_mix", self.frequency_mix, 0.0, 1.0)
        number_in("contrastive_weight", self.contrastive_weight, 0.0, float("inf"))
        for name in ("lr", "contrastive_temperature"):
            if not is_number(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a number > 0, got {getattr(self, name)!r}")
        number_in("attention_dropout", self.attention_dropout, 0.0, 1.0, upper_open=True)
        number_in("horizon_decay", self.horizon_decay, 0.0, 1.0)
        number_in("weight_decay", self.weight_decay, 0.0, float("inf"))
        number_in("grad_clip", self.grad_clip, 0.0, float("inf"))
        self._check_flags()
        check_option_pairs(self)
        check_data_files(self)

    def _check_flags(self) -> None:
        for name in _fields_of_type(self, bool):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (safe to store in a checkpoint or JSON)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SASRecConfig:
        """Build from a dict, refusing keys that are not fields (typos fail loudly)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**values)

    def amp_on(self, device_type: str) -> bool:
        """Whether ``amp`` takes effect on a device of this type: autocast runs on CUDA only."""
        return self.amp and device_type == "cuda"

    def replace(self, **changes: Any) -> SASRecConfig:
        """A validated copy with some fields changed."""
        return self.from_dict({**self.to_dict(), **changes})


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` strings as config overrides (``lr=0.002``, ``loss=gbce``).

    A value is read as JSON when it parses (numbers, ``true``, lists), else as a string.
    """
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"expected FIELD=VALUE, got {pair!r}")
        try:
            overrides[name] = json.loads(text)
        except json.JSONDecodeError:
            overrides[name] = text
    return overrides


def _fields_of_type(cfg: SASRecConfig, kind: type) -> list[str]:
    """Names of the fields declared ``kind`` (``float``: each must be finite; ``bool``: a flag,
    True or False)."""
    return [f.name for f in dataclasses.fields(cfg) if f.type in (kind.__name__, kind)]
