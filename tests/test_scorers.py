"""Scorers: popularity ties, the random floor, seed ensembles."""

import numpy as np
import pytest
import torch

from sasrec_utils.evaluation.ranking import rank_all_items
from sasrec_utils.evaluation.scorers import EnsembleScorer, PopularityScorer, RandomScorer
from sasrec_utils.model.sasrec import SASRec

from .conftest import eval_queries as queries


def test_popularity_ties_are_pessimistic():
    counts = np.array([0, 5, 5, 5, 1])
    ranking = rank_all_items(PopularityScorer(counts), queries([[4]], [2]), 4)
    assert ranking.ranks.tolist() == [3]


def test_random_baseline_near_chance():
    n_items, n = 200, 2000
    q = queries([[1]] * n, list(np.arange(n) % 199 + 2))
    ranks = rank_all_items(RandomScorer(3), q, n_items, batch_size=500).ranks
    assert abs((ranks <= 10).mean() - 10 / 199) < 0.02


def test_ensemble_scores_are_the_mean_of_its_members(tiny_cfg):
    torch.manual_seed(0)
    models = [SASRec(20, tiny_cfg).eval() for _ in range(3)]
    batch = queries([[1, 2, 3], [4, 5]], [6, 7])
    ensemble = EnsembleScorer(models, tiny_cfg.max_len)
    state = ensemble.prepare(batch.histories, batch.users)
    seq = torch.as_tensor(batch.histories.to_padded(tiny_cfg.max_len))
    with torch.no_grad():
        expected = torch.stack([m.score_last(seq) for m in models]).mean(0)
    torch.testing.assert_close(ensemble.chunk(state, 0, 21), expected)
    items = torch.tensor([[3, 9], [1, 1]])
    torch.testing.assert_close(ensemble.gather(state, items), expected.gather(1, items))
    with pytest.raises(ValueError, match="at least one model"):
        EnsembleScorer([], 8)
