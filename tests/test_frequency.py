"""The frequency filter extension (BSARec-style): low-pass by hand, padding, serving path."""

import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.model.frequency import FrequencyFilter, low_pass_matrix
from sasrec_utils.model.sasrec import SASRec


def test_with_beta_one_the_filter_passes_the_window_unchanged():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 4)
    real = torch.ones(2, 5, dtype=torch.bool)
    assert torch.allclose(FrequencyFilter(4, 8, 2)(x, real), x, atol=1e-6)


def test_the_lowest_frequency_alone_is_the_mean_over_max_len():
    # cutoff 1 keeps only the constant term: every position gets sum / max_len
    x = torch.tensor([[[0.0], [3.0], [6.0]]])  # (1, 3, 1), the first position is padding
    real = torch.tensor([[False, True, True]])
    layer = FrequencyFilter(1, 6, 1)
    with torch.no_grad():
        layer.sqrt_beta.zero_()
    out = layer(x, real)
    assert torch.allclose(out, torch.full((1, 3, 1), 9.0 / 6), atol=1e-6)


def test_extra_left_padding_changes_no_real_position():
    torch.manual_seed(1)
    layer = FrequencyFilter(3, 10, 3)
    with torch.no_grad():
        layer.sqrt_beta.fill_(0.5)
    x = torch.randn(1, 4, 3)
    padded = torch.cat([torch.randn(1, 2, 3), x], dim=1)  # padding values are ignored
    real = torch.tensor([[False, False, True, True, True, True]])
    short = layer(x, torch.ones(1, 4, dtype=torch.bool))
    long = layer(padded, real)[:, 2:]
    assert torch.allclose(short, long, atol=1e-5)


def test_a_model_with_the_filter_serves_what_it_computes():
    torch.manual_seed(2)
    cfg = SASRecConfig(
        max_len=6, hidden_dim=8, train_examples="prefixes", frequency_mix=0.7, dropout=0.0
    )
    model = SASRec(20, cfg).eval()
    seq = torch.tensor([[0, 0, 3, 5, 7, 2], [1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        assert torch.allclose(model.user_vectors(seq), model(seq)[:, -1], atol=1e-5)
    assert sum(p.numel() for n, p in model.named_parameters() if "sqrt_beta" in n) == 2 * 8


def test_the_filter_on_windows_is_refused_by_name():
    with pytest.raises(ValueError, match=r"frequency_mix=0\.5 needs train_examples='prefixes'"):
        SASRecConfig(frequency_mix=0.5)


def test_the_matrix_filters_as_the_fft_does():
    # the reference: pad to max_len, real FFT, zero the high frequencies, inverse FFT
    torch.manual_seed(3)
    max_len, cutoff, length = 12, 3, 7
    x = torch.randn(2, length, 5, dtype=torch.float64)
    padded = torch.nn.functional.pad(x, (0, 0, max_len - length, 0))
    spectrum = torch.fft.rfft(padded, dim=1, norm="ortho")
    spectrum[:, cutoff:] = 0
    expected = torch.fft.irfft(spectrum, n=max_len, dim=1, norm="ortho")[:, -length:]
    layer = FrequencyFilter(5, max_len, cutoff)
    with torch.no_grad():
        layer.sqrt_beta.zero_()  # the low frequencies alone
    out = layer(x.float(), torch.ones(2, length, dtype=torch.bool))
    assert torch.allclose(out.double(), expected, atol=1e-5)


def test_the_low_pass_matrix_is_a_projection_of_rank_two_cutoff_less_one():
    # cutoff 3 keeps the constant and two (cos, sin) pairs: 5 directions of 12
    low_pass = low_pass_matrix(12, 3)
    assert torch.allclose(low_pass @ low_pass, low_pass, atol=1e-6)
    assert torch.allclose(low_pass, low_pass.T, atol=1e-6)
    assert round(float(torch.trace(low_pass))) == 5


def test_per_branch_norm_mixes_two_normalised_residual_sums_by_hand():
    from torch.nn.functional import layer_norm

    torch.manual_seed(3)
    cfg = SASRecConfig(
        max_len=4,
        hidden_dim=6,
        n_heads=1,
        train_examples="prefixes",
        frequency_mix=0.7,
        frequency_cutoff=1,
        layer_norm="post",
        frequency_norm="per_branch",
        dropout=0.0,
    )
    block = SASRec(5, cfg).blocks[0].eval()
    with torch.no_grad():
        block.frequency.sqrt_beta.zero_()  # the filter is then the window's mean / max_len
    x = torch.randn(1, 4, 6)
    bias = torch.zeros(1, 1, 4, 4).masked_fill_(~torch.ones(4, 4).tril().bool(), float("-inf"))
    with torch.no_grad():
        out, _ = block(x, bias)
        attended, _ = block.attn(x, bias)
        filtered = x.sum(dim=1, keepdim=True).expand_as(x) / 4
        mixed = 0.3 * layer_norm(x + attended, (6,)) + 0.7 * layer_norm(x + filtered, (6,))
        expected = layer_norm(mixed + block.ffn(mixed), (6,))
    assert torch.allclose(out, expected, atol=1e-5)


def test_a_per_branch_model_serves_what_it_computes():
    torch.manual_seed(4)
    cfg = SASRecConfig(
        max_len=6,
        hidden_dim=8,
        train_examples="prefixes",
        frequency_mix=0.7,
        layer_norm="post",
        frequency_norm="per_branch",
        dropout=0.0,
    )
    model = SASRec(20, cfg).eval()
    seq = torch.tensor([[0, 0, 3, 5, 7, 2], [1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        assert torch.allclose(model.user_vectors(seq), model(seq)[:, -1], atol=1e-5)


def test_per_branch_norm_without_post_norm_is_refused_by_name():
    with pytest.raises(ValueError, match="frequency_norm='per_branch' needs layer_norm='post'"):
        SASRecConfig(train_examples="prefixes", frequency_mix=0.7, frequency_norm="per_branch")
    with pytest.raises(ValueError, match="frequency_norm"):
        SASRecConfig(frequency_norm="both")


def test_the_filter_factor_starts_at_one_or_at_normal_draws():
    torch.manual_seed(5)
    drawn = FrequencyFilter(512, 8, 2, beta_init="normal").sqrt_beta.detach()
    assert (FrequencyFilter(4, 8, 2).sqrt_beta == 1).all()
    assert abs(drawn.mean().item()) < 0.15 and abs(drawn.std().item() - 1) < 0.1
    with pytest.raises(ValueError, match="frequency_beta_init"):
        SASRecConfig(frequency_beta_init="zeros")
