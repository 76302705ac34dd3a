"""The simple baselines' scorers: popularity ties and the random floor."""

import numpy as np

from sasrec_utils.evaluation import rank_all_items
from sasrec_utils.scorers import PopularityScorer, RandomScorer

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
