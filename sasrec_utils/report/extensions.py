"""The published extensions of SASRec a configuration can switch on, named with their papers:
every table that shows a model using one says so (``model_extensions``). A start of the item
table other than the paper's random one is named too: it is not SASRec's initialisation."""

from __future__ import annotations

from ..config import SASRecConfig

FREQUENCY_FILTER = "frequency filter (an extension: BSARec, Shin et al., AAAI 2024)"
CONTRASTIVE_LOSS = "contrastive loss (an extension: CL4SRec, Xie et al., ICDE 2022)"
COOCCURRENCE_START = (
    "item table started from co-occurrence (PPMI-SVD: Levy & Goldberg, NeurIPS 2014; "
    "item2vec, Barkan & Koenigstein, 2016)"
)


def model_extensions(cfg: SASRecConfig) -> list[str]:
    """The names of the extensions ``cfg`` switches on (empty: plain SASRec)."""
    switched_on = {
        FREQUENCY_FILTER: cfg.frequency_mix > 0,
        CONTRASTIVE_LOSS: cfg.contrastive_weight > 0,
        COOCCURRENCE_START: cfg.ppmi_init_window > 0,
    }
    return [name for name, on in switched_on.items() if on]
