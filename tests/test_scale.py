"""Scale: compact loading, scalable losses against full CE, chunked evaluation, estimates."""

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.event_files import load_event_parquets
from sasrec_utils.data.prepared import PreparedData, prepare_data
from sasrec_utils.data.sequences import (
    build_sequences,
    item_popularity,
    users_per_item,
)
from sasrec_utils.data.synthetic import synthetic_events
from sasrec_utils.evaluation import ranking as evaluation
from sasrec_utils.evaluation.ranking import evaluate, evaluate_model, rank_all_items
from sasrec_utils.evaluation.scorers import ModelScorer, PopularityScorer
from sasrec_utils.model import cross_entropy, losses
from sasrec_utils.model.sasrec import SASRec
from sasrec_utils.training.loop import fit

from .conftest import FixedScorer, eval_queries, sequences_from_lists


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return synthetic_events(tmp_path_factory.mktemp("tiny"), seed=5)


@pytest.fixture(scope="module")
def prepared(tiny):
    cfg = tiny.config(max_len=16, hidden_dim=32, n_heads=2, n_layers=1, dropout=0.0)
    return cfg, prepare_data(cfg)


# ---------------------------------------------------------------- compact loading


def test_ids_load_as_categorical_codes(tmp_path):
    files = synthetic_events(tmp_path, n_users=2_000, n_items=3_000, n_events=60_000, seed=1)
    events = load_event_parquets(files.events_paths, files.vocabulary_path).events
    assert all(isinstance(events[c].dtype, pd.CategoricalDtype) for c in ("user_id", "item_id"))
    # plain string ids take ~40 bytes per event; codes + int64 timestamps take ~12
    assert events.memory_usage(deep=True).sum() / len(events) < 20
    assert events["user_id"].cat.categories.is_monotonic_increasing


def test_categorical_and_plain_ids_build_the_same_sequences(tiny):
    for vocabulary in (tiny.vocabulary_path, None):
        log = load_event_parquets(tiny.events_paths, vocabulary)
        plain = log.events.astype({"user_id": str, "item_id": str})
        fast, slow = (build_sequences(e, log.item_ids) for e in (log.events, plain))
        np.testing.assert_array_equal(fast.sequences.items, slow.sequences.items)
        np.testing.assert_array_equal(fast.sequences.offsets, slow.sequences.offsets)
        assert fast.user_ids.tolist() == slow.user_ids.tolist()
        assert fast.item_ids.tolist() == slow.item_ids.tolist()
        assert fast.dropped_users == slow.dropped_users


def test_duplicates_across_files_and_unmapped_users(tmp_path):
    pd.DataFrame(
        {
            "user_id": ["b", "b", "a", "z", "c"],
            "item_id": ["x", "y", "x", "gone", "x"],
            "timestamp": [5, 5, 1, 1, 1],
        }
    ).to_parquet(tmp_path / "one.parquet")
    pd.DataFrame({"user_id": ["b", "a"], "item_id": ["x", "y"], "timestamp": [5, 2]}).to_parquet(
        tmp_path / "two.parquet"
    )
    pd.DataFrame({"item_id": ["y", "x"], "index": [0, 1]}).to_parquet(tmp_path / "vocab.parquet")
    log = load_event_parquets(
        [tmp_path / "one.parquet", tmp_path / "two.parquet"], tmp_path / "vocab.parquet"
    )
    assert log.dropped == {"duplicate_events": 1, "unmapped_events": 1, "unmapped_items": 1}
    data = build_sequences(log.events, log.item_ids)
    assert data.user_ids.tolist() == ["a", "b"]
    assert data.dropped_users == 1  # "c"; "z" had only an unmapped event: no user at all
    # equal timestamps keep file order: b saw x then y at t=5
    assert data.to_original(data.sequences[1]).tolist() == ["x", "y"]


def test_users_per_item_counts_distinct_users():
    seqs = sequences_from_lists([[3, 1, 3, 3], [1], [2, 2, 1], []])
    naive = [0] + [sum(i in set(seqs[r].tolist()) for r in range(4)) for i in (1, 2, 3)]
    assert users_per_item(seqs, 3).tolist() == naive == [0, 3, 1, 1]


# ---------------------------------------------------------------- losses vs full CE


def reference_ce(hidden, targets, items, label_smoothing=0.0):
    logits = hidden @ items[1:].T
    return F.cross_entropy(logits, targets - 1, label_smoothing=label_smoothing)


@pytest.mark.parametrize("chunk_rows", [0, 1, 7, 64, 1000])
def test_chunked_ce_value_and_gradients_equal_the_plain_softmax(chunk_rows):
    torch.manual_seed(1)
    hidden = torch.randn(64, 16, requires_grad=True)
    items = torch.randn(301, 16, requires_grad=True)
    targets = torch.randint(1, 301, (64,))
    expected = reference_ce(hidden, targets, items, 0.1)
    chunked = cross_entropy.full_cross_entropy(hidden, targets, items, 0.1, chunk_rows)
    torch.testing.assert_close(chunked, expected, atol=1e-5, rtol=1e-5)
    for a, b in zip(
        torch.autograd.grad(chunked, [hidden, items]),
        torch.autograd.grad(expected, [hidden, items]),
        strict=True,
    ):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def skewed_proposal(n_items):
    counts = torch.cat([torch.zeros(1), 1000.0 / torch.arange(1, n_items + 1)])
    return losses.log_popularity_proposal(counts, power=1.0)


def test_sampled_softmax_with_log_q_estimates_full_ce_under_a_skewed_proposal():
    torch.manual_seed(0)
    hidden, items = torch.randn(128, 8), torch.randn(201, 8)
    targets = torch.randint(1, 201, (128,))
    full = reference_ce(hidden, targets, items).item()
    gen = torch.Generator().manual_seed(0)
    log_q = skewed_proposal(200)
    draws = [losses.sampled_softmax(hidden, targets, items, 4000, log_q, gen) for _ in range(8)]
    assert np.mean([d.item() for d in draws]) == pytest.approx(full, rel=0.03)


def test_sampled_softmax_gradient_points_like_the_full_gradient():
    torch.manual_seed(2)
    hidden = torch.randn(64, 8, requires_grad=True)
    items = torch.randn(151, 8)
    targets = torch.randint(1, 151, (64,))
    (full,) = torch.autograd.grad(reference_ce(hidden, targets, items), hidden)
    gen = torch.Generator().manual_seed(0)
    log_q = skewed_proposal(150)
    sampled = sum(
        torch.autograd.grad(
            losses.sampled_softmax(hidden, targets, items, 1000, log_q, gen), hidden
        )[0]
        for _ in range(4)
    )
    assert F.cosine_similarity(full.flatten(), sampled.flatten(), dim=0) > 0.97


def test_gbce_calibration_weights():
    torch.manual_seed(3)
    hidden, items = torch.randn(32, 8), torch.randn(101, 8)
    targets = torch.randint(1, 101, (32,))
    for t in (0.0, 0.75, 1.0):
        gen = torch.Generator().manual_seed(9)
        got = losses.gbce(hidden, targets, items, 20, t, generator=gen)
        negatives = torch.randint(1, 101, (20,), generator=torch.Generator().manual_seed(9))
        alpha = 20 / 99
        beta = alpha * (t * (1 - 1 / alpha) + 1 / alpha)  # t=0: 1 (plain BCE), t=1: alpha
        positive = (hidden * items[targets]).sum(-1)
        negative = hidden @ items[negatives].T
        negative = negative.masked_fill(negatives[None] == targets[:, None], float("-inf"))
        expected = (beta * F.softplus(-positive) + F.softplus(negative).sum(-1)).mean()
        torch.testing.assert_close(got, expected)


def test_sampled_softmax_trains_close_to_full_ce(prepared):
    """On the synthetic log sampled softmax gets most of full CE's test NDCG@10."""
    cfg, data = prepared
    split = data.split
    ndcg = {}
    for loss in ("ce", "sampled_softmax"):
        run = cfg.replace(loss=loss, n_negatives=64, epochs=6, patience=6, lr=5e-3)
        model = fit(run, PreparedData(data.sequences, split, None, data.pretrained), progress=False)
        ndcg[loss] = evaluate_model(model.model, split.test, split.train, run)["ndcg@10"]
    popular = evaluate(
        PopularityScorer(item_popularity(split.train, split.n_items)), split.test, split.n_items
    )["ndcg@10"]
    assert ndcg["ce"] > 1.5 * popular, (ndcg, popular)
    assert ndcg["sampled_softmax"] > 0.8 * ndcg["ce"], ndcg


# ---------------------------------------------------------------- chunked evaluation


@pytest.fixture(scope="module")
def scorer_and_queries(prepared):
    cfg, data = prepared
    torch.manual_seed(0)
    model = SASRec(data.split.n_items, cfg).eval()
    return ModelScorer(model, cfg.max_len), data.split.test, data.split.n_items


@pytest.mark.parametrize("item_chunk, batch_size", [(13, 64), (64, 33), (400, 300)])
@pytest.mark.parametrize("exclude_history", [True, False])
def test_chunked_ranking_equals_unchunked_on_a_model(
    scorer_and_queries, item_chunk, batch_size, exclude_history
):
    scorer, queries, n_items = scorer_and_queries
    whole = rank_all_items(scorer, queries, n_items, 512, n_items + 1, exclude_history)
    chunked = rank_all_items(scorer, queries, n_items, batch_size, item_chunk, exclude_history)
    np.testing.assert_array_equal(chunked.ranks, whole.ranks)
    np.testing.assert_array_equal(chunked.top_items, whole.top_items)


@pytest.mark.parametrize("item_chunk", [1000, 4001, 20])
def test_top_lists_and_ranks_equal_a_full_sort(item_chunk):
    """Brute force: the top-20 of each row by a full sort, the rank by counting."""
    rng = np.random.default_rng(0)
    n_users, n_items = 40, 4000
    scores = rng.standard_normal((n_users, n_items + 1)).astype(np.float32)
    scores[:5, 1:] = np.sort(scores[:5, 1:], axis=1)  # late chunks keep entering the top
    histories = [
        rng.choice(np.arange(1, n_items + 1), 30, replace=False).tolist() for _ in range(n_users)
    ]
    targets = [int(t) for t in rng.integers(1, n_items + 1, n_users)]
    ranking = rank_all_items(
        FixedScorer(scores),
        eval_queries(histories, targets),
        n_items,
        batch_size=16,
        item_chunk=item_chunk,
    )
    for row in range(n_users):
        masked = scores[row].astype(np.float64)
        masked[0] = -np.inf
        seen = [i for i in histories[row] if i != targets[row]]
        masked[seen] = -np.inf
        order = np.argsort(-masked, kind="stable")[:20]
        np.testing.assert_array_equal(ranking.top_items[row], order)
        others = np.delete(masked, targets[row])
        assert ranking.ranks[row] == 1 + np.sum(others >= masked[targets[row]])


class Recording:
    """A scorer that records the (B, C) shape of every score block it computes."""

    def __init__(self, scorer):
        self.scorer, self.blocks = scorer, []

    def prepare(self, histories, rows):
        return self.scorer.prepare(histories, rows)

    def chunk(self, state, start, stop):
        block = self.scorer.chunk(state, start, stop)
        self.blocks.append(block.shape)
        return block

    def gather(self, state, items):
        return self.scorer.gather(state, items)


def test_default_item_chunks_bound_the_score_block(scorer_and_queries, monkeypatch):
    scorer, queries, n_items = scorer_and_queries
    whole = rank_all_items(scorer, queries, n_items, 64)
    monkeypatch.setattr(evaluation, "SCORE_BLOCK", 64 * 50)
    recording = Recording(scorer)
    bounded = rank_all_items(recording, queries, n_items, 64)
    assert max(b * c for b, c in recording.blocks) <= 64 * 50
    assert len(recording.blocks) > n_items // 50
    np.testing.assert_array_equal(bounded.ranks, whole.ranks)
    np.testing.assert_array_equal(bounded.top_items, whole.top_items)


def test_max_users_and_valid_samples_are_labelled(prepared, scorer_and_queries, capsys):
    cfg, data = prepared
    scorer, queries, n_items = scorer_and_queries
    estimate = evaluate(scorer, queries, n_items, max_users=25)
    assert estimate["n_queries"] == 25 and estimate["estimate_on_users"] == 25
    assert "estimate_on_users" not in evaluate(scorer, queries, n_items)
    run = cfg.replace(epochs=1, valid_users=20)
    result = fit(run, data, progress="lines")
    assert "on a sample of 20 users" in capsys.readouterr().out
    assert result.history["valid_users"].tolist() == [20]
    assert result.history["valid_sample"].tolist() == [True]
    sample = data.split.valid.sample(20, run.seed)
    assert sample.users.tolist() == data.split.valid.sample(20, run.seed).users.tolist()
    assert sorted(sample.users.tolist()) == sample.users.tolist()  # a subset, in order
    assert len(set(sample.users) - set(data.split.valid.users)) == 0
    full = fit(cfg.replace(epochs=1), data, progress=False)
    assert full.history["valid_sample"].tolist() == [False]


def test_retail_config_reads_the_generated_files(tiny):
    cfg = tiny.config(hidden_dim=128, max_len=50)
    assert isinstance(cfg, SASRecConfig) and cfg.dataset == "events"
    data = prepare_data(cfg)
    assert data.pretrained.shape == (data.sequences.n_items + 1, 128)
