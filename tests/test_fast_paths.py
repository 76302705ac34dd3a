"""The speed paths compute exactly what the plain formulas compute."""

import pytest
import torch
import torch.nn.functional as F

from sasrec_utils.config import SASRecConfig
from sasrec_utils.model import cross_entropy, losses
from sasrec_utils.model import sasrec as model_module
from sasrec_utils.model.sasrec import LeanDropout, SASRec


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("chunk_rows", [0, 1, 7, 50])
def test_fused_cross_entropy_matches_the_plain_formula(label_smoothing, chunk_rows):
    torch.manual_seed(0)
    hidden = torch.randn(50, 8, requires_grad=True)
    items = torch.randn(13, 8, requires_grad=True)
    targets = torch.randint(1, 13, (50,))
    targets[:5] = 3  # repeated targets accumulate into the same item row
    plain = F.cross_entropy(hidden @ items[1:].T, targets - 1, label_smoothing=label_smoothing)
    fused = cross_entropy.full_cross_entropy(hidden, targets, items, label_smoothing, chunk_rows)
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    expected = torch.autograd.grad(plain * 3.0, [hidden, items])
    got = torch.autograd.grad(fused * 3.0, [hidden, items])
    for want, have in zip(expected, got, strict=True):
        assert torch.allclose(want, have, atol=1e-6)
    assert torch.all(got[1][0] == 0)  # the padding row is never a candidate


def test_fused_cross_entropy_without_gradients_and_with_huge_logits():
    hidden = torch.tensor([[300.0, 0.0], [0.0, -300.0]])
    items = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    targets = torch.tensor([2, 1])
    plain = F.cross_entropy(hidden @ items[1:].T, targets - 1)
    fused = cross_entropy.full_cross_entropy(hidden, targets, items)
    assert torch.isfinite(fused) and fused.item() == pytest.approx(plain.item(), rel=1e-6)


def test_bfloat16_products_equal_float32_on_inputs_rounded_to_bfloat16():
    torch.manual_seed(0)
    hidden = (0.3 * torch.randn(40, 16)).requires_grad_()
    items = (0.3 * torch.randn(30, 16)).requires_grad_()
    targets = torch.randint(1, 30, (40,))
    plain = cross_entropy.full_cross_entropy(hidden, targets, items)
    low = cross_entropy.full_cross_entropy(hidden, targets, items, product_dtype=torch.bfloat16)
    rounded_hidden, rounded_items = hidden.bfloat16().float(), items.bfloat16().float()
    rounded_logits = (rounded_hidden @ rounded_items[1:].T).bfloat16().float()
    by_hand = F.cross_entropy(rounded_logits, targets - 1)
    # the product sums rounded inputs in float32 and rounds its result; the softmax is float32
    assert low.item() == pytest.approx(by_hand.item(), rel=1e-6)
    assert low.item() != plain.item()  # the rounding happened
    assert low.item() == pytest.approx(plain.item(), rel=1e-2)
    expected = torch.autograd.grad(plain, [hidden, items])
    got = torch.autograd.grad(low, [hidden, items])
    for want, have in zip(expected, got, strict=True):
        assert have.dtype == torch.float32  # gradients in the inputs' dtype
        error = (have - want).norm() / want.norm()
        assert 0 < error < 0.02  # rounded inputs and probabilities: ~0.4% each


def test_the_loss_object_takes_its_products_dtype_from_the_config():
    cfg = SASRecConfig(softmax_dtype="bfloat16")
    assert losses.FullCrossEntropy.from_config(cfg, None, torch.device("cpu")).product_dtype == (
        torch.bfloat16
    )
    default = losses.FullCrossEntropy.from_config(SASRecConfig(), None, torch.device("cpu"))
    assert default.product_dtype is None


def test_user_vectors_equal_the_last_position_of_the_full_forward():
    torch.manual_seed(0)
    cfg = SASRecConfig(max_len=12, hidden_dim=16, n_heads=2, n_layers=3, dropout=0.0)
    model = SASRec(30, cfg).eval()
    seq = torch.tensor([[0, 0, 0, 5, 6, 7], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 9]])
    full = model(seq)[:, -1]
    fast = model.user_vectors(seq)
    assert fast.shape == (3, 16)
    assert torch.allclose(fast, full, atol=1e-5)
    assert not torch.allclose(fast[0], fast[1], atol=1e-3)  # not a constant


def test_user_vectors_in_row_groups_equal_one_pass(monkeypatch):
    torch.manual_seed(0)
    cfg = SASRecConfig(max_len=6, hidden_dim=16, n_heads=2, n_layers=2, dropout=0.0)
    model = SASRec(30, cfg).eval()
    seq = torch.randint(0, 31, (7, 6))
    seq[:, -1] = torch.arange(1, 8)  # every row has a real last item
    whole = model.user_vectors(seq)
    monkeypatch.setattr(model_module, "USER_VECTOR_TOKENS", 12)  # groups of 2 rows
    grouped = model.user_vectors(seq)
    assert grouped.shape == (7, 16)
    assert torch.allclose(grouped, whole, atol=1e-6)


def test_lean_dropout_drops_at_rate_p_and_scales_the_rest():
    torch.manual_seed(0)
    drop = LeanDropout(0.2).train()
    x = torch.ones(200_000, requires_grad=True)
    y = drop(x)
    kept = y > 0
    assert kept.float().mean().item() == pytest.approx(0.8, abs=0.005)
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.8), rtol=1e-5)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)  # unbiased
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # gradient: the same mask and scale
    drop.eval()
    assert torch.equal(drop(x), x)


def test_seen_items_leave_the_softmax_exactly_like_a_masked_cross_entropy():
    inputs = torch.tensor([[0, 3, 5, 2], [1, 4, 4, 6]])
    targets = torch.tensor([[0, 5, 2, 7], [4, 4, 6, 3]])
    rows, items = cross_entropy.seen_pairs(inputs, targets)
    # real targets in row-major order: 5, 2, 7 | 4, 4, 6, 3; each sees its window so far,
    # but never its own target (row 4 saw 4 before and predicts 4 again: a repeat)
    by_row = {r: sorted(set(items[rows == r].tolist())) for r in range(7)}
    assert by_row == {0: [3], 1: [3, 5], 2: [2, 3, 5], 3: [1], 4: [1], 5: [1, 4], 6: [1, 4, 6]}
    assert torch.equal(rows, rows.sort().values)
    torch.manual_seed(0)
    hidden = torch.randn(7, 8, requires_grad=True)
    table = torch.randn(9, 8, requires_grad=True)
    real = targets[targets > 0]
    fused = cross_entropy.full_cross_entropy(hidden, real, table, 0.0, 3, (rows, items))
    mask = torch.zeros(7, 8, dtype=torch.bool)
    mask[rows, items - 1] = True
    plain = F.cross_entropy((hidden @ table[1:].T).masked_fill(mask, float("-inf")), real - 1)
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    for want, have in zip(
        torch.autograd.grad(plain, [hidden, table]),
        torch.autograd.grad(fused, [hidden, table]),
        strict=True,
    ):
        assert torch.allclose(want, have, atol=1e-6)


def test_cross_entropy_is_exact_when_logits_span_far_more_than_the_exp_floor():
    torch.manual_seed(0)
    hidden = (torch.randn(6, 8) * 30).requires_grad_()  # logits spread over hundreds
    table = torch.randn(50, 8, requires_grad=True)
    targets = torch.randint(1, 50, (6,))
    logits = hidden @ table[1:].T
    assert (logits.amax(1) - logits.amin(1)).min() > -cross_entropy.EXP_FLOOR
    plain = F.cross_entropy(logits, targets - 1)
    fused = cross_entropy.full_cross_entropy(hidden, targets, table, 0.0, 4)
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    for want, have in zip(
        torch.autograd.grad(plain, [hidden, table]),
        torch.autograd.grad(fused, [hidden, table]),
        strict=True,
    ):
        assert torch.allclose(want, have, rtol=1e-5, atol=1e-6)


def test_the_feed_forward_layer_drops_inside_unless_told_not_to():
    cfg = SASRecConfig(hidden_dim=8, dropout=0.5)
    inner = SASRec(5, cfg).blocks[0].ffn[2]
    bare = SASRec(5, cfg.replace(ffn_inner_dropout=False)).blocks[0].ffn[2]
    assert isinstance(inner, LeanDropout) and inner.p == 0.5
    assert bare.p == 0.0  # ... while the block's output dropout keeps its rate
    assert SASRec(5, cfg.replace(ffn_inner_dropout=False)).blocks[0].drop.p == 0.5
