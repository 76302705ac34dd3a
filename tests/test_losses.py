"""Each loss object computes, bit for bit, what the loop computed before losses owned their
state: the old dispatcher (an if-chain over ``cfg.loss`` whose sampled softmax took its
proposal from the optimiser bundle) is written out here as the reference."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from sasrec_utils.config import LOSSES, SASRecConfig
from sasrec_utils.data.sequences import build_sequences, item_popularity
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.model import cross_entropy, losses
from sasrec_utils.model.sasrec import SASRec

from .conftest import cycle_events

CASES = {
    "ce": dict(loss="ce"),
    "ce, smoothed, 3 future items, seen kept": dict(
        loss="ce", label_smoothing=0.1, loss_horizon=3, horizon_decay=0.5, mask_seen_in_loss=False
    ),
    "bce": dict(loss="bce"),
    "gbce": dict(loss="gbce", n_negatives=5, gbce_t=0.5),
    "sampled_softmax": dict(loss="sampled_softmax", n_negatives=5),
    "sampled_softmax, in-batch negatives": dict(
        loss="sampled_softmax", n_negatives=5, in_batch_negatives=True
    ),
}


def reference_loss(cfg, split, model, inputs, targets):
    """The loss as the loop computed it before: the proposal built beside the optimisers
    (only for the sampled softmax), then one if-chain over ``cfg.loss``."""
    log_q = log_frequency = None
    if cfg.loss == "sampled_softmax":
        counts = torch.as_tensor(item_popularity(split.train, split.n_items))
        log_q = losses.log_popularity_proposal(counts)
        if cfg.in_batch_negatives:
            log_frequency = losses.log_popularity_proposal(counts, power=1.0)
    hidden = model(inputs)
    real = targets > 0
    items = model.item_matrix()
    if cfg.loss == "ce":
        seen = cross_entropy.seen_pairs(inputs, targets) if cfg.mask_seen_in_loss else None
        future, weights = cross_entropy.future_targets(targets, cfg.loss_horizon, cfg.horizon_decay)
        return cross_entropy.full_cross_entropy(
            hidden[real],
            future[real],
            items,
            cfg.label_smoothing,
            cfg.loss_chunk_rows,
            seen,
            weights[real],
        )
    hidden, targets = hidden[real], targets[real]
    if cfg.loss == "bce":
        return losses.bce_one_negative(hidden, targets, items)
    if cfg.loss == "gbce":
        return losses.gbce(hidden, targets, items, cfg.n_negatives, cfg.gbce_t)
    return losses.sampled_softmax(
        hidden, targets, items, cfg.n_negatives, log_q, log_frequency=log_frequency
    )


@pytest.fixture(scope="module")
def split():
    return leave_one_out_split(build_sequences(cycle_events(n_users=12, n_items=15, length=9)))


@pytest.mark.parametrize("case", list(CASES))
def test_each_loss_object_gives_the_old_value_and_gradients_bit_for_bit(split, case):
    cfg = SASRecConfig(max_len=6, hidden_dim=8, n_layers=1, n_heads=2, dropout=0.2, **CASES[case])
    inputs = torch.tensor([[0, 0, 3, 4, 5, 3], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 9, 10]])
    targets = torch.tensor([[0, 0, 4, 5, 3, 7], [2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 10, 11]])
    results = []
    for compute in (
        lambda model: losses.build_loss(cfg, split, torch.device("cpu"))(model, inputs, targets),
        lambda model: reference_loss(cfg, split, model, inputs, targets),
    ):
        torch.manual_seed(0)
        model = SASRec(split.n_items, cfg).train()  # dropout on: the same random draws too
        torch.manual_seed(1)
        value = compute(model)
        value.backward()
        grads = {name: p.grad.to_dense() for name, p in model.named_parameters()}
        results.append((value.detach(), grads))
    (value, grads), (expected, expected_grads) = results
    assert math.isfinite(value.item()) and value.item() > 0
    assert torch.equal(value, expected)
    assert all(torch.equal(grads[name], expected_grads[name]) for name in expected_grads)


def test_the_sampled_softmax_owns_a_proposal_from_the_training_popularity():
    events = pd.DataFrame(
        {"user_id": [1] * 5 + [2] * 3, "item_id": [10, 20, 10, 30, 40, 10, 20, 30]}
    ).assign(timestamp=range(8))
    split = leave_one_out_split(build_sequences(events))  # trains on 10, 20, 10 and on 10
    cfg = SASRecConfig(loss="sampled_softmax", in_batch_negatives=True)
    loss = losses.build_loss(cfg, split, torch.device("cpu"))
    counts = item_popularity(split.train, split.n_items)  # (V,), padding 0
    assert sorted(counts[1:]) == [0, 0, 1, 3]
    proposal = np.sqrt(counts + 1.0)  # popularity ** 0.5, add-one smoothed
    proposal[0] = 0.0
    shares = counts + 1.0
    shares[0] = 0.0
    np.testing.assert_allclose(loss.log_q.exp().numpy(), proposal / proposal.sum(), rtol=1e-6)
    np.testing.assert_allclose(loss.log_frequency.exp().numpy(), shares / shares.sum(), rtol=1e-6)
    without = losses.build_loss(cfg.replace(in_batch_negatives=False), split, torch.device("cpu"))
    assert without.log_frequency is None


def test_every_configurable_loss_has_an_object():
    assert sorted(losses.LOSS_CLASSES) == sorted(LOSSES)


def test_a_uniform_proposal_without_correction_is_a_plain_softmax_over_the_draws():
    events = pd.DataFrame(
        {"user_id": [1] * 5 + [2] * 3, "item_id": [10, 20, 10, 30, 40, 10, 20, 30]}
    ).assign(timestamp=range(8))
    split = leave_one_out_split(build_sequences(events))
    cfg = SASRecConfig(loss="sampled_softmax", negative_proposal="uniform", logq_correction=False)
    loss = losses.build_loss(cfg, split, torch.device("cpu"))
    np.testing.assert_allclose(loss.log_q.exp().numpy(), [0, 0.25, 0.25, 0.25, 0.25], atol=1e-7)
    hidden = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # (N, D)
    items = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    targets = torch.tensor([1, 3])
    generator = torch.Generator().manual_seed(0)
    value = losses.sampled_softmax(
        hidden, targets, items, 3, loss.log_q, generator, logq_correction=False
    )
    drawn = torch.multinomial(
        loss.log_q.exp(), 3, replacement=True, generator=torch.Generator().manual_seed(0)
    )
    expected = []
    for row, target in zip(hidden, targets, strict=True):  # -log softmax by hand
        logits = [float(row @ items[target])]
        logits += [float(row @ items[d]) for d in drawn if d != target]
        expected.append(-logits[0] + math.log(sum(math.exp(z) for z in logits)))
    assert value.item() == pytest.approx(sum(expected) / 2, rel=1e-6)
