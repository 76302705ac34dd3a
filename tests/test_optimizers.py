"""The optimisers: a lazy Adam moves only the item rows a step touched, by hand-computed steps."""

import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.model.losses import SampledSoftmax, log_popularity_proposal
from sasrec_utils.training import distributed
from sasrec_utils.training.optimizers import build_training, clip_gradients

from .conftest import cycle_events


@pytest.fixture
def split():
    return leave_one_out_split(build_sequences(cycle_events(n_users=20, n_items=40, length=8)))


def test_sparse_item_table_steps_only_the_rows_touched(split):
    cfg = SASRecConfig(
        max_len=4,
        hidden_dim=8,
        n_layers=1,
        n_heads=1,
        dropout=0.0,
        loss="sampled_softmax",
        n_negatives=3,
        sparse_item_grad=True,
        grad_clip=0.0,
        lr=0.01,
        device="cpu",
    )
    torch.manual_seed(0)
    parts = build_training(cfg, split, torch.device("cpu"), distributed.Context())
    assert all(
        p is not parts.model.item_emb.weight
        for g in parts.optimizer.param_groups
        for p in g["params"]
    )
    inputs = torch.tensor([[0, 1, 2, 3]])
    targets = torch.tensor([[0, 2, 3, 4]])
    loss = SampledSoftmax(cfg.n_negatives, log_popularity_proposal(torch.ones(41)))
    before = parts.model.item_emb.weight.detach().clone()
    torch.manual_seed(1)  # the negatives drawn
    parts.zero_grad()
    loss(parts.model, inputs, targets).backward()
    grad = parts.model.item_emb.weight.grad
    assert grad.is_sparse
    dense_grad = grad.coalesce().to_dense()
    touched = dense_grad.abs().sum(dim=1) > 0
    parts.step(cfg.grad_clip)
    after = parts.model.item_emb.weight.detach()
    # Adam's first step: m = (1 - b1) g, v = (1 - b2) g^2; with bias correction the
    # update is lr * g / (|g| + eps) on every touched row
    expected = before - cfg.lr * dense_grad / (dense_grad.abs() + 1e-8)
    torch.testing.assert_close(after[touched], expected[touched], rtol=1e-4, atol=1e-6)
    assert torch.equal(after[~touched], before[~touched])  # untouched rows stay exactly
    assert 1 < int(touched.sum()) < 41  # inputs, targets and negatives, not the catalogue


def test_sparse_gradients_need_a_sampled_loss():
    with pytest.raises(ValueError, match="sparse_item_grad=True needs a sampled loss"):
        SASRecConfig(sparse_item_grad=True)


def test_clipping_counts_sparse_values_like_dense_ones():
    dense = torch.nn.Parameter(torch.zeros(3))
    dense.grad = torch.tensor([3.0, 0.0, 0.0])
    table = torch.nn.Parameter(torch.zeros(5, 2))
    table.grad = torch.sparse_coo_tensor(
        [[1, 1]], torch.tensor([[2.0, 0.0], [2.0, 0.0]]), (5, 2), check_invariants=True
    )
    norm = clip_gradients([dense, table], max_norm=1.0)
    assert norm == pytest.approx(5.0)  # 3 from the dense, 2 + 2 summed into one sparse row
    assert dense.grad.norm().item() == pytest.approx(3 / 5, rel=1e-5)
    assert table.grad.coalesce().to_dense()[1, 0].item() == pytest.approx(4 / 5, rel=1e-5)
