"""Evaluation: what is ranked (scorers, baselines), the full ranking, and the metrics.

``scorers`` (the one ``Scorer`` interface: SASRec, ensembles, popularity, random),
``baselines`` (Markov, co-occurrence, EASE; tuned on validation), ``ranking`` (every
query ranks all items), ``metrics`` (HR, NDCG, MRR, coverage, novelty, the bootstrap),
``calibration`` (the softmax's top-k probability against the hit rate).
"""

from .baselines import BASELINES
from .calibration import top_k_calibration
from .metrics import (
    BootstrapPair,
    bootstrap_verdict,
    comparison_table,
    find_pair,
    metrics_by_history_length,
    paired_bootstrap,
    per_query_ndcg,
    ranking_metrics,
    seed_summary,
)
from .ranking import evaluate, evaluate_model, evaluate_sampled, rank_all_items, session_metrics
from .scorers import EnsembleScorer, ModelScorer, PopularityScorer, RandomScorer, Scorer
from .tuning import tune

__all__ = [
    "BASELINES",
    "BootstrapPair",
    "EnsembleScorer",
    "ModelScorer",
    "PopularityScorer",
    "RandomScorer",
    "Scorer",
    "bootstrap_verdict",
    "comparison_table",
    "evaluate",
    "evaluate_model",
    "evaluate_sampled",
    "find_pair",
    "metrics_by_history_length",
    "paired_bootstrap",
    "per_query_ndcg",
    "rank_all_items",
    "ranking_metrics",
    "seed_summary",
    "session_metrics",
    "top_k_calibration",
    "tune",
]
