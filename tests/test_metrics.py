"""Metrics from ranks: hand-computed HR, NDCG, MRR, coverage, novelty, buckets."""

import json

import numpy as np
import pytest

from sasrec_utils.evaluation.metrics import (
    BootstrapPair,
    Ranking,
    bootstrap_verdict,
    comparison_table,
    find_pair,
    hit_metrics,
    metrics_by_history_length,
    paired_bootstrap,
    per_query_ndcg,
    ranking_metrics,
    seed_summary,
)


def test_hit_metrics_by_hand():
    m = hit_metrics(np.array([3, 4]), ks=(1, 3, 5))
    assert m["hr@1"] == 0 and m["hr@3"] == 0.5 and m["hr@5"] == 1.0
    assert m["ndcg@3"] == pytest.approx((1 / np.log2(4)) / 2)
    assert m["ndcg@5"] == pytest.approx((1 / np.log2(4) + 1 / np.log2(5)) / 2)
    assert m["mrr"] == pytest.approx((1 / 3 + 1 / 4) / 2)


def test_coverage_and_novelty():
    ranking = Ranking(np.array([1, 2]), np.array([[1, 2], [1, 3]]))
    users = np.array([0, 4, 2, 1])
    m = ranking_metrics(ranking, 4, users, n_train_users=4, ks=(1,), list_k=2)
    assert m["coverage@2"] == pytest.approx(3 / 4)
    expected = np.mean([-np.log2(4 / 4), -np.log2(2 / 4), -np.log2(4 / 4), -np.log2(1 / 4)])
    assert m["novelty@2"] == pytest.approx(expected)


def test_metrics_by_history_length_by_hand():
    lengths = np.array([3, 4, 10, 12])
    ranks = {"A": np.array([1, 11, 3, 1]), "B": np.array([20, 20, 20, 2])}
    frame = metrics_by_history_length(ranks, lengths, n_buckets=2)
    a = frame[frame["system"] == "A"].set_index("bucket")
    assert list(a.index) == ["3–4", "10–12"]
    assert a.loc["3–4", "hr@10"] == 0.5 and a.loc["10–12", "hr@10"] == 1.0
    assert a.loc["10–12", "ndcg@10"] == pytest.approx((1 / np.log2(4) + 1) / 2)
    b = frame[frame["system"] == "B"].set_index("bucket")
    assert b.loc["10–12", "ndcg@10"] == pytest.approx(0.5 / np.log2(3))
    assert set(frame["users"]) == {2}


def test_per_query_ndcg_by_hand():
    np.testing.assert_allclose(
        per_query_ndcg(np.array([1, 3, 11]), k=10), [1.0, 1 / np.log2(4), 0.0]
    )


def test_paired_bootstrap_difference_interval_and_pairing():
    rng = np.random.default_rng(0)
    theirs = rng.random(500)
    ours = theirs + 0.05  # better by exactly 0.05 on every query
    result = paired_bootstrap(ours, theirs, n_resamples=2000)
    assert result["difference"] == pytest.approx(0.05)
    # paired: the per-user spread cancels, so the interval is (almost) a point
    assert result["difference_low"] == pytest.approx(0.05) == result["difference_high"]
    assert result["lift"] == pytest.approx(0.05 / theirs.mean())
    noisy = paired_bootstrap(theirs + rng.normal(0, 0.3, 500), theirs, n_resamples=2000)
    assert noisy["difference_low"] < noisy["difference"] < noisy["difference_high"]
    assert noisy["difference_low"] < 0 < noisy["difference_high"]  # no real difference
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap(ours, theirs[:-1])


def _pair(low: float, high: float, difference: float = 0.01) -> BootstrapPair:
    return BootstrapPair("SASRec", "markov", difference, low, high, 0.1, 0.02, 0.18, 2000, 943)


def test_bootstrap_verdict_follows_the_interval():
    said = bootstrap_verdict(_pair(0.002, 0.018))
    assert said == (
        "SASRec against markov: NDCG@10 +0.0100 [+0.0020, +0.0180], +10.0% "
        "[+2.0%, +18.0%]; SASRec is better"
    )
    assert _pair(-0.001, 0.018).verdict == "tie"
    assert bootstrap_verdict(_pair(-0.001, 0.018), "a", "b").endswith(
        "the interval includes zero: no difference this test set can show"
    )
    assert bootstrap_verdict(_pair(-0.02, -0.001, -0.01), "a", "b").endswith("a is worse")


def test_bootstrap_pair_is_data_measured_and_found_by_its_systems():
    rng = np.random.default_rng(1)
    theirs = rng.random(300)
    pair = BootstrapPair.measure("SASRec", "markov", theirs + 0.05, theirs, 500, seed=3)
    assert (pair.system, pair.baseline, pair.n_queries, pair.n_resamples) == (
        "SASRec",
        "markov",
        300,
        500,
    )
    assert pair.difference == pytest.approx(0.05) and pair.verdict == "better"
    assert BootstrapPair.from_dict(json.loads(json.dumps(pair.to_dict()))) == pair
    other = BootstrapPair("ensemble", "markov", 0.0, -0.01, 0.02, 0.0, -0.1, 0.2, 2000, 943)
    assert find_pair([other, pair], "SASRec", "markov") is pair
    assert find_pair([other, pair], "ensemble", "markov") is other
    with pytest.raises(KeyError, match="'ensemble' against 'ease'"):
        find_pair([pair, other], "ensemble", "ease")


def test_seed_summary_and_comparison_table_by_hand():
    sasrec = seed_summary({1: {"ndcg@10": 0.10, "hr@10": 0.2}, 2: {"ndcg@10": 0.12, "hr@10": 0.3}})
    assert sasrec["mean"]["ndcg@10"] == pytest.approx(0.11)
    assert sasrec["sd"]["ndcg@10"] == pytest.approx(np.std([0.10, 0.12], ddof=1))
    assert sasrec["per_seed"]["2"]["hr@10"] == 0.3 and sasrec["n_seeds"] == 2
    popular = seed_summary({None: {"ndcg@10": 0.044, "hr@10": 0.08}})
    assert popular["sd"]["ndcg@10"] == 0.0 and popular["n_seeds"] == 1
    table = comparison_table({"SASRec": sasrec, "most-popular": popular}, keys=("ndcg@10",))
    assert table.loc["SASRec", "lift_ndcg@10"] == pytest.approx(0.11 / 0.044)
    assert table.loc["SASRec", "seeds"] == 2 and table.loc["most-popular", "ndcg@10 sd"] == 0
