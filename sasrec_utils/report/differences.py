"""Every way a run's SASRec differs from the paper's, with what each was measured to do.

``paper_differences(cfg, benchmark)`` is the table notebook 02 shows: one row per point
where this project may differ from the paper (Kang & McAuley, "Self-Attentive Sequential
Recommendation", ICDM 2018, and its authors' TensorFlow code), its "this run" side
generated from the run's config (a row says when the run does as the paper), then one
row per extension of SASRec the run uses (``extensions``), and a "measured effect"
sentence generated from the numbers. Two sources of numbers: the benchmark file of the
run's dataset (``BENCHMARK_FILES``: the full softmax against the paper's loss, held-out
seeds, test), and the ML-100k validation sweep quoted in ``VALIDATION_SWEEP``
(``benchmarks/README.md``, "Choosing the default on validation"). A difference nobody
measured says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..atomic import as_read_back
from ..config import SASRecConfig
from .contracts import benchmark_pair
from .extensions import CONTRASTIVE_LOSS, COOCCURRENCE_START, FREQUENCY_FILTER
from .protocol import PROTOCOLS, TRAIN
from .shopping import BENCHMARK_FILE as BEAUTY_FILE

# Validation NDCG@10 of the ML-100k selection split, mean over selection seeds 0, 1, 2
# (benchmarks/README.md, "Choosing the default on validation"): the default and the rows
# that undo one of the differences below.
VALIDATION_SWEEP = {
    "default": 0.1215,
    "mask_seen_in_loss=False": 0.1102,
    "n_heads=1": 0.1122,
    "batch_tokens=0, batch_size=128": 0.1155,
}
SWEEP_SEED_SD = 0.005  # sd of the default over those three seeds: smaller gaps are noise
SWEEP_SOURCE = "validation NDCG@10, ML-100k, selection seeds 0–2 (benchmarks/README.md)"
# the settings each sweep row changes (and, for batches, what a batch's rows are): its
# effect is quoted for a run only where the run keeps their defaults
SWEEP_FIELDS = {
    "mask_seen_in_loss=False": ("mask_seen_in_loss",),
    "n_heads=1": ("n_heads",),
    "batch_tokens=0, batch_size=128": ("batch_tokens", "batch_size", "train_examples"),
}
NOT_MEASURED = "not measured"
AS_THE_PAPER = "none: this run does as the paper"
# the file under reports/ that measured the full softmax against the paper's loss on each
# dataset, and the command that writes it
BENCHMARK_FILES = {
    "ml-100k": ("benchmark.json", "make bench"),
    "amazon-beauty": (BEAUTY_FILE, "make bench-beauty"),
}
# where the data is and how a run is executed or protocolled, not what model it trains
RUN_FIELDS = (
    "dataset",
    "data_dir",
    "events_paths",
    "vocabulary_path",
    "embeddings_path",
    "seed",
    "device",
    "amp",
    "num_threads",
    "valid_users",
    "eval_batch_size",
    "eval_every",
    "loss_chunk_rows",
    "refit_on_valid",
)

# (what, the paper (or its authors' code), the sweep row that undoes this project's default)
DIFFERENCES: tuple[tuple[str, str, str | None], ...] = (
    ("loss", "binary cross-entropy of the target against one random negative per position", None),
    ("seen items in the loss", "every item is a candidate", "mask_seen_in_loss=False"),
    ("feed-forward activation", "ReLU", None),
    ("width (D)", "50 (its Beauty and MovieLens-1M runs), the feed-forward layer as wide", None),
    ("attention heads", "one head (two were slightly worse in its ablation)", "n_heads=1"),
    ("item embedding scale", "E[s] in the equations; E[s]·√D in the authors' code", None),
    (
        "LayerNorm placement",
        "x + Dropout(g(LayerNorm(x))) in the equations (pre-LN); the code normalises "
        "only the queries",
        None,
    ),
    ("dropout", "also on the attention weights (authors' code)", None),
    ("batches", "128 sequences per batch", "batch_tokens=0, batch_size=128"),
    ("optimiser", "Adam, β₂ = 0.98, no clipping", None),
)


def this_run(cfg: SASRecConfig) -> dict[str, tuple[str, bool]]:
    """Each difference's ``what`` -> this run's choice, from ``cfg``, and whether it is the
    paper's own."""
    return {**_training_choices(cfg), **_model_choices(cfg)}


def _training_choices(cfg: SASRecConfig) -> dict[str, tuple[str, bool]]:
    """``this_run``'s rows about the loss, the batches and the optimiser."""
    loss = {
        "ce": ("cross-entropy of a softmax over all items (`loss='ce'`)", False),
        "bce": ("the paper's (`loss='bce'`)", True),
    }.get(cfg.loss, (f"`loss='{cfg.loss}'` (`training.losses`)", False))
    seen = (
        ("items already in the window leave each position's softmax (`mask_seen_in_loss`)", False)
        if cfg.mask_seen_in_loss
        else ("every item is a candidate, as the paper (`mask_seen_in_loss=False`)", True)
    )
    rows = "users" if cfg.train_examples == "windows" else "prefixes"
    batches = (
        (
            f"at most {cfg.batch_tokens:,} positions ({rows} × window length), at most "
            f"{cfg.batch_size} {rows}",
            False,
        )
        if cfg.batch_tokens > 0
        else (f"{cfg.batch_size} sequences per batch (`batch_tokens=0`)", cfg.batch_size == 128)
    )
    decay = (
        "AdamW with no weight decay (= Adam)"
        if cfg.weight_decay == 0
        else f"AdamW, weight decay {cfg.weight_decay:g}"
    )
    clip = f"gradients clipped at norm {cfg.grad_clip:g}" if cfg.grad_clip > 0 else "no clipping"
    return {
        "loss": loss,
        "seen items in the loss": seen,
        "batches": batches,
        "optimiser": (f"{decay}, β₂ = 0.999, {clip}", False),
    }


def _model_choices(cfg: SASRecConfig) -> dict[str, tuple[str, bool]]:
    """``this_run``'s rows about the architecture and its dropout."""
    activation = {
        "gelu": ("GELU (`ffn_activation='relu'` gives the paper's)", False),
        "relu": ("ReLU, as the paper (`ffn_activation='relu'`)", True),
    }.get(cfg.ffn_activation, (f"`ffn_activation='{cfg.ffn_activation}'`", False))
    heads = (
        ("one head, as the paper (`n_heads=1`)", True)
        if cfg.n_heads == 1
        else (f"{cfg.n_heads} heads of width D/{cfg.n_heads} (`n_heads={cfg.n_heads}`)", False)
    )
    norm = (
        ("pre-LN: queries, keys and values all from LayerNorm(x)", False)
        if cfg.layer_norm == "pre"
        else (
            "post-LN: LayerNorm after each residual sum and on the summed embeddings (BERT's "
            "order; `layer_norm='post'`)",
            False,
        )
    )
    inner = " and inside the FFN" if cfg.ffn_inner_dropout else ""
    dropout = (
        (
            f"{cfg.dropout:g} on embeddings and sub-layer outputs{inner}, and "
            f"{cfg.attention_dropout:g} on the attention weights, as the authors' code "
            "(`attention_dropout`)",
            bool(inner),
        )
        if cfg.attention_dropout > 0
        else (f"on embeddings and sub-layer outputs{inner} only (`attention_dropout=0`)", False)
    )
    ffn = "as wide" if cfg.ffn_mult == 1 else f"{cfg.ffn_mult}× as wide (`ffn_mult`)"
    return {
        "width (D)": (
            f"{cfg.hidden_dim} (`hidden_dim`), the feed-forward layer {ffn}",
            cfg.hidden_dim == 50 and cfg.ffn_mult == 1,
        ),
        "feed-forward activation": activation,
        "attention heads": heads,
        "item embedding scale": (
            ("E[s]·√D, as the authors' code", False)
            if cfg.layer_norm == "pre"
            else ("no scale: LayerNorm(E[s] + P) (`layer_norm='post'`)", False)
        ),
        "LayerNorm placement": norm,
        "dropout": dropout,
    }


def extensions(cfg: SASRecConfig) -> list[tuple[str, str, str]]:
    """(what, the paper, this run) for each extension of SASRec ``cfg`` uses."""
    rows = []
    if cfg.train_examples == "prefixes":
        rows.append(
            (
                "training examples",
                "one window per user, every position predicting its next item",
                "every prefix of a history is its own example, only its last position "
                "predicting (`train_examples='prefixes'`, as BSARec and FMLP-Rec)"
                + (
                    ", the empty prefix included: its first item from nothing (`empty_prefix`)"
                    if cfg.empty_prefix
                    else ""
                ),
            )
        )
    if cfg.frequency_mix > 0:
        rows.append(
            (
                FREQUENCY_FILTER,
                "none: attention only",
                f"each block mixes {cfg.frequency_mix:g} of a filter of its window in the "
                f"frequency domain (the {cfg.frequency_cutoff} lowest frequencies kept, the "
                f"rest rescaled by a learned factor) with {1 - cfg.frequency_mix:g} of "
                "attention (`frequency_mix`)"
                + (
                    ", each after its own residual sum and LayerNorm, as BSARec's code "
                    "(`frequency_norm='per_branch'`)"
                    if cfg.frequency_norm == "per_branch"
                    else ""
                ),
            )
        )
    if cfg.contrastive_weight > 0:
        rows.append(
            (
                CONTRASTIVE_LOSS,
                "none: the next-item loss only",
                f"plus {cfg.contrastive_weight:g} × InfoNCE between two dropout views of each "
                f"history, temperature {cfg.contrastive_temperature:g} "
                "(`contrastive_weight`)",
            )
        )
    if cfg.ppmi_init_window > 0:
        rows.append(
            (
                COOCCURRENCE_START,
                "a random item table",
                "the item table (also the output layer) starts from the positive PMI of item "
                f"pairs within {cfg.ppmi_init_window} events of each other in the training "
                "histories, factorised by a truncated SVD to the model's width "
                "(`ppmi_init_window`)",
            )
        )
    return rows


def sweep_effect(row: str, sweep: Mapping[str, float] = VALIDATION_SWEEP) -> str:
    """ "+0.0113 (0.1215 against 0.1102 with mask_seen_in_loss=False), beyond the seed noise"."""
    ours, paper_like = sweep["default"], sweep[row]
    gap = ours - paper_like
    noise = "beyond" if abs(gap) > SWEEP_SEED_SD else "within"
    return (
        f"{gap:+.4f} for ours ({ours:.4f} against {paper_like:.4f} with {row}; "
        f"{SWEEP_SOURCE}), {noise} the seed noise (sd {SWEEP_SEED_SD})"
    )


def settings_differ(ran: Mapping[str, Any], cfg: SASRecConfig) -> list[str]:
    """``"name theirs (this run: ours)"`` for each model or training setting in which the
    config ``ran`` (a benchmark file's; fields it lacks are the defaults) differs from
    ``cfg``; the data's place, the machine and the protocol (``RUN_FIELDS``) aside."""
    theirs = as_read_back({**SASRecConfig().to_dict(), **ran})
    ours = as_read_back(cfg.to_dict())
    return [
        f"{name} {theirs[name]} (this run: {value})"
        for name, value in ours.items()
        if name not in RUN_FIELDS and theirs[name] != value
    ]


def loss_effect(benchmark: Mapping[str, Any] | None, cfg: SASRecConfig) -> str:
    """The full softmax against the paper's BCE, from the bootstrap of the benchmark file of
    ``cfg``'s dataset (``BENCHMARK_FILES``); its protocol and any setting in which its
    SASRec differs from ``cfg``'s are named."""
    if cfg.dataset not in BENCHMARK_FILES:
        measured = ", ".join(f"{data} (`{make}`)" for data, (_, make) in BENCHMARK_FILES.items())
        return f"{NOT_MEASURED} on {cfg.dataset}: the benchmarks measure {measured}"
    name, make = BENCHMARK_FILES[cfg.dataset]
    if benchmark is None or benchmark["dataset"] != cfg.dataset:
        return f"{NOT_MEASURED} here: run `{make}` (reports/{name})"
    for protocol in PROTOCOLS:
        try:
            pair = benchmark_pair(benchmark, "sasrec", "sasrec-bce", protocol)
            break
        except KeyError:
            continue
    else:
        return f"{NOT_MEASURED} here: reports/{name} holds no bootstrap of sasrec - sasrec-bce"
    excludes = pair.difference_low > 0 or pair.difference_high < 0
    notes = [] if protocol == TRAIN else [f"both trained on {protocol} (`refit_on_valid`)"]
    differ = settings_differ(benchmark["config"], cfg)
    if differ:
        notes.append(f"the file's SASRec differs from this run's in {', '.join(differ)}")
    return (
        f"{pair.difference:+.4f} test NDCG@10 for ours, 95% interval "
        f"[{pair.difference_low:+.4f}, {pair.difference_high:+.4f}] "
        f"({'excludes' if excludes else 'includes'} zero; held-out seeds, "
        f"{benchmark['dataset']}, reports/{name}{''.join('; ' + note for note in notes)})"
    )


def paper_differences(
    cfg: SASRecConfig, benchmark: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """One row per difference, then per extension: ``what, paper, this run, measured effect``.

    ``benchmark`` is the benchmark file of ``cfg``'s dataset (``BENCHMARK_FILES``; None:
    the loss row says it was not measured). A sweep row's effect is quoted only when the
    run keeps the settings the sweep varied (``SWEEP_FIELDS``).
    """
    default, ours = SASRecConfig(), this_run(cfg)
    rows = []
    for what, paper, sweep_row in DIFFERENCES:
        run, as_paper = ours[what]
        if as_paper:
            effect = AS_THE_PAPER
        elif what == "loss" and cfg.loss == "ce":
            effect = loss_effect(benchmark, cfg)
        elif sweep_row is not None and all(
            getattr(cfg, name) == getattr(default, name) for name in SWEEP_FIELDS[sweep_row]
        ):
            effect = sweep_effect(sweep_row)
        else:
            effect = NOT_MEASURED
        rows.append((what, paper, run, effect))
    rows += [(what, paper, run, NOT_MEASURED) for what, paper, run in extensions(cfg)]
    return pd.DataFrame(rows, columns=["what", "paper", "this run", "measured effect"])
