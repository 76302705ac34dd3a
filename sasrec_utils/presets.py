"""Named settings in one place: sizes of synthetic logs and configurations by use.

``LOG_SIZES`` are the sizes ``synthetic.synthetic_events`` takes; ``CONFIGS`` are changes
to ``SASRecConfig()`` for a setting, chosen by the benchmarks (``benchmarks/README.md``
says how each was measured).
"""

from __future__ import annotations

from typing import Any

from .config import SASRecConfig

LOG_SIZES: dict[str, dict[str, int]] = {
    "tiny": {"n_users": 300, "n_items": 400, "n_events": 9_000},
    "mid": {"n_users": 12_000, "n_items": 12_000, "n_events": 384_000},
    "retail": {"n_users": 286_000, "n_items": 316_000, "n_events": 9_200_000},
}

CONFIGS: dict[str, dict[str, Any]] = {
    # a retail catalogue of ~300k items on a CPU (benchmarks/README.md, "Scale")
    "retail": {
        "max_len": 50,
        "hidden_dim": 128,  # the pretrained embeddings' width
        "n_heads": 2,
        "n_layers": 2,
        "dropout": 0.2,
        "loss": "sampled_softmax",  # logQ-corrected, popularity proposal
        "n_negatives": 256,
        # in-batch negatives: chosen on the synthetic mid log's validation (+46% NDCG@10 over
        # K=256 alone) and re-checked on Amazon Beauty's (within 2% of full CE, where K=256
        # alone is 7% below; benchmarks/README.md, "Shopping data")
        "in_batch_negatives": True,
        "sparse_item_grad": True,  # lazy Adam on the rows a step touches
        "valid_users": 20_000,  # early stopping on a fixed sample; test on every user
        "loss_chunk_rows": 0,  # used by loss="ce" only: 0 = chunks of ~1M logits (4 MB)
        "batch_size": 256,
        "batch_tokens": 0,  # no cap: batches of 256 windows of up to 50 items, as measured
        "lr": 1e-3,
        "eval_batch_size": 256,
        "device": "cpu",
    },
    # short, sparse shopping histories (median 6 items), chosen on Amazon Beauty's
    # validation items with a selection seed only, under the papers' protocol
    # (benchmarks/README.md, rounds 3, 6 and 9); no dataset here: the recipe is meant for any
    # such log (set dataset and its path)
    "shopping": {
        "max_len": 50,  # a median history is 6 items: longer windows only pad
        "hidden_dim": 64,  # 128 wide: 0.0583 against 0.0604 (round 3)
        "n_heads": 1,
        "dropout": 0.5,  # it overfits within ~10 epochs; the S3-Rec family uses 0.5 too
        "attention_dropout": 0.5,  # on the attention weights, as the S3-Rec family's code
        "train_examples": "prefixes",  # every prefix a sample, as BSARec and FMLP-Rec
        "frequency_mix": 0.7,  # BSARec's frequency filter beside attention: an extension
        "frequency_cutoff": 3,
        # round 6: BSARec's block and training as its code has them, all together: 0.0641
        # against round 3's 0.0604 (each alone was within one seed's noise of it)
        "layer_norm": "post",  # LayerNorm after each residual sum
        "frequency_norm": "per_branch",  # filter and attention each normalised, then mixed
        "frequency_beta_init": "normal",
        "ffn_mult": 4,
        "ffn_inner_dropout": False,
        # round 9: lr 2e-3 decayed to zero over 15 epochs (cosine), chosen on validation
        # (0.0643 against round 6's 0.0641, selection seeds 0-1) for its time: held-out
        # seeds reach their kept epoch in 436-545 s instead of 733-1496 s, for -1.4% test
        # NDCG@10 (round 6's training: lr 5e-4, lr_schedule "constant", epochs 200)
        "lr": 2e-3,
        "lr_schedule": "cosine",
        "epochs": 15,
        # round 10: AdamW's decoupled weight decay on every parameter, chosen on validation
        # (0.0653 against 0.0641, selection seeds 0-2, higher on each; 0.05 / 0.2 / 0.4:
        # 0.0650 / 0.0652 / 0.0589, so 0.1 is interior)
        "weight_decay": 0.1,
        # round 13: the item table started from the training items' co-occurrence (PPMI of
        # pairs within 6 events, factorised by SVD), chosen on validation: 0.0666 against
        # 0.0650, selection seeds 0-4, higher on each; windows 1 / 3 / 10 / 20 on seed 0:
        # 0.0660 / 0.0663 / 0.0670 / 0.0666, so 6 sits on the plateau's interior
        "ppmi_init_window": 6,
        "grad_clip": 0.0,
        "batch_tokens": 0,  # 256 prefixes a batch whatever their length
        "empty_prefix": True,  # each history's first item is predicted from nothing too
        "mask_seen_in_loss": False,  # the whole catalogue in the softmax
        # the papers' protocol: trained on the training items only. A shop retrains on the
        # validation item too (refit_on_valid=True): a real gain, reported in its own rows
        "refit_on_valid": False,
    },
    # MovieLens-1M on a Colab T4 (benchmarks/README.md, "GPU / Colab")
    "ml1m-t4": {
        "dataset": "ml-1m",
        "device": "cuda",
        "amp": True,
        "max_len": 200,
        "hidden_dim": 64,
        "n_layers": 2,
        "n_heads": 1,
        "dropout": 0.2,
        "batch_size": 128,
        "lr": 1e-3,
        "epochs": 200,
        "patience": 20,
        "eval_batch_size": 512,
    },
}


# (name, the settings it changes) per step of a ladder or an ablation
Steps = tuple[tuple[str, dict[str, Any]], ...]

# The ablation ladder of the shopping preset (`make bench-beauty`, notebook 04): from the
# SASRec paper's model, one change at a time, to the preset. Each step's changes apply on
# top of the step before; the last step is the preset (tests/test_presets.py holds that).
SHOPPING_LADDER: Steps = (
    (
        "the paper's SASRec: one-negative BCE, ReLU, d=50, 1 head",
        {
            "loss": "bce",
            "ffn_activation": "relu",
            "hidden_dim": 50,
            "n_heads": 1,
            "n_layers": 2,
            "dropout": 0.5,
            "max_len": 50,
            "batch_size": 128,
        },
    ),
    ("+ full cross-entropy over all items", {"loss": "ce"}),
    (
        "+ GELU, width 64, batches of 256",
        {"ffn_activation": "gelu", "hidden_dim": 64, "batch_size": 256},
    ),
    ("+ every prefix as its own training example", {"train_examples": "prefixes"}),
    (
        "+ frequency filter beside attention (BSARec: an extension)",
        {"frequency_mix": 0.7, "frequency_cutoff": 3},
    ),
    ("+ dropout 0.5 on the attention weights", {"attention_dropout": 0.5}),
    (
        "+ BSARec's block: LayerNorm per branch, random filter factor, 4x feed-forward, "
        "no inner dropout",
        {
            "layer_norm": "post",
            "frequency_norm": "per_branch",
            "frequency_beta_init": "normal",
            "ffn_mult": 4,
            "ffn_inner_dropout": False,
        },
    ),
    (
        "+ BSARec's training: lr 5e-4, no clipping, the empty prefix, the whole softmax",
        {
            "lr": 5e-4,
            "grad_clip": 0.0,
            "batch_tokens": 0,
            "empty_prefix": True,
            "mask_seen_in_loss": False,
        },
    ),
    (
        "+ lr 2e-3 decayed to zero over 15 epochs (cosine)",
        {"lr": 2e-3, "lr_schedule": "cosine", "epochs": 15},
    ),
    ("+ weight decay 0.1 (AdamW, every parameter)", {"weight_decay": 0.1}),
    (
        "+ item table started from co-occurrence (PPMI-SVD of pairs within 6 events)",
        {"ppmi_init_window": 6},
    ),
)

# Beside the ladder, each measured on the same held-out seeds: the preset with one part
# taken away (an ablation), so the report can say what the preset reaches without it.
SHOPPING_ABLATIONS: Steps = (
    (
        "ablation: the preset without its frequency filter (plain SASRec, the same training)",
        {"frequency_mix": 0.0},
    ),
)


# what every ladder step takes from the benchmarked config: where the data is and how the
# machine runs it (device, threads), never a setting of the recipe
LADDER_KEEPS = ("dataset", "data_dir", "events_paths", "device", "num_threads")


def ladder_configs(
    base: SASRecConfig, ladder: Steps = SHOPPING_LADDER
) -> list[tuple[str, dict[str, Any], SASRecConfig]]:
    """``ladder``'s steps on ``base``'s data and machine (``LADDER_KEEPS``): (name, the
    step's own changes, the whole config of the step)."""
    data = {k: v for k, v in base.to_dict().items() if k in LADDER_KEEPS}
    steps, changes = [], {}
    for name, step in ladder:
        changes = {**changes, **step}
        steps.append((name, step, SASRecConfig().replace(**data, **changes)))
    return steps


def ablation_configs(
    base: SASRecConfig, ladder: Steps = SHOPPING_LADDER, ablations: Steps = SHOPPING_ABLATIONS
) -> list[tuple[str, dict[str, Any], SASRecConfig]]:
    """``ablations`` on ``ladder``'s last step (the preset on ``base``'s data and machine):
    (name, what it takes away, the whole config)."""
    preset = ladder_configs(base, ladder)[-1][2]
    return [(name, step, preset.replace(**step)) for name, step in ablations]


def preset_config(name: str, **changes: Any) -> SASRecConfig:
    """``SASRecConfig()`` with the preset ``name``'s settings, then ``changes``, applied."""
    if name not in CONFIGS:
        raise ValueError(f"unknown preset {name!r}; known presets: {sorted(CONFIGS)}")
    return SASRecConfig().replace(**{**CONFIGS[name], **changes})
