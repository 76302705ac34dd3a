import numpy as np
import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.model.sasrec import SASRec, attention_mask, parameter_table


def make(n_items=20, **kw):
    torch.manual_seed(0)
    cfg = SASRecConfig(max_len=10, hidden_dim=16, n_heads=2, n_layers=2, dropout=0.0, **kw)
    return SASRec(n_items, cfg).eval()


def test_shapes_and_attention():
    model = make()
    seq = torch.tensor([[0, 0, 3, 4, 5], [1, 2, 3, 4, 5]])
    hidden, weights = model(seq, return_attention=True)
    assert hidden.shape == (2, 5, 16)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 5, 5)
    assert torch.allclose(weights[0].sum(-1), torch.ones(2, 2, 5))
    assert torch.all(weights[0].triu(1) == 0)  # no attention to the future
    assert torch.all(weights[1][0, :, 2:, :2] == 0)  # no attention to padding
    assert model.score_last(seq).shape == (2, 21)
    assert torch.allclose(model(seq), hidden, atol=1e-5)  # fused path == explicit path


@pytest.mark.parametrize("layer_norm", ["pre", "post"])
def test_causality(layer_norm):
    model = make(layer_norm=layer_norm)
    seq = torch.tensor([[1, 2, 3, 4, 5, 6]])
    changed = seq.clone()
    changed[0, 4] = 17
    a, b = model(seq), model(changed)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not torch.allclose(a[:, 4:], b[:, 4:], atol=1e-3)


@pytest.mark.parametrize("layer_norm", ["pre", "post"])
def test_left_padding_does_not_change_last_scores(layer_norm):
    model = make(layer_norm=layer_norm)
    short = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[0, 0, 0, 0, 3, 4, 5]])
    assert torch.allclose(model.score_last(short), model.score_last(padded), atol=1e-5)


def test_post_norm_block_computed_by_hand():
    # layer_norm="post": LN(item + position), then LN(x + attn(x)), then LN(x + FFN(x)),
    # and no final LayerNorm; "pre" differs in every one of these steps
    torch.manual_seed(3)
    cfg = SASRecConfig(max_len=5, hidden_dim=8, n_heads=2, n_layers=1, dropout=0.0)
    model = SASRec(12, cfg.replace(layer_norm="post")).eval()
    seq = torch.tensor([[0, 4, 7, 1, 9]])
    with torch.no_grad():
        x = model.emb_norm(model.item_emb(seq) + model.pos_emb(torch.arange(5)))
        block = model.blocks[0]
        q, k, v = block.attn.qkv(x).split(8, dim=-1)
        heads = [t.view(1, 5, 2, 4).transpose(1, 2) for t in (q, k, v)]
        scores = heads[0] @ heads[1].transpose(-2, -1) / 2.0  # sqrt(d_head = 4)
        allowed = attention_mask(seq)
        weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
        attended = block.attn.out((weights @ heads[2]).transpose(1, 2).reshape(1, 5, 8))
        x = block.ln_attn(x + attended)
        expected = block.ln_ffn(x + block.ffn(x))
        assert torch.allclose(model(seq), expected, atol=1e-5)
        pre = SASRec(12, cfg).eval()
        pre.load_state_dict(model.state_dict(), strict=False)
        assert not torch.allclose(pre(seq), expected, atol=1e-2)


def test_unknown_layer_norm_is_refused_by_name():
    with pytest.raises(ValueError, match="layer_norm"):
        SASRecConfig(layer_norm="middle")


def test_mask_has_no_empty_rows():
    mask = attention_mask(torch.tensor([[0, 0, 1]]))
    assert mask.sum(-1).min() >= 1


def test_pretrained_init_projects_and_keeps_padding_zero():
    model = make(n_items=5)
    pretrained = np.random.default_rng(0).normal(size=(6, 32)).astype(np.float32)
    model.init_item_embeddings(pretrained)
    weight = model.item_emb.weight
    assert torch.all(weight[0] == 0)
    same_width = make(n_items=5)
    exact = np.random.default_rng(1).normal(size=(6, 16)).astype(np.float32)
    same_width.init_item_embeddings(exact)
    # same width: direction of each row is kept (centred, rescaled)
    centred = torch.tensor(exact[1:] - exact[1:].mean(0))
    cos = torch.nn.functional.cosine_similarity(same_width.item_emb.weight[1:], centred)
    assert torch.all(cos > 0.999)


def test_parameter_table_adds_up_to_the_model(tiny_cfg):
    model = SASRec(50, tiny_cfg)
    table = parameter_table(model)
    assert table.iloc[-1]["module"] == "total"
    assert table.iloc[-1]["parameters"] == model.n_parameters()
    assert table.iloc[:-1]["parameters"].sum() == model.n_parameters()
    item_row = table.set_index("module").loc["item_emb"]
    assert item_row["parameters"] == 51 * tiny_cfg.hidden_dim
    assert item_row["shapes"] == f"51×{tiny_cfg.hidden_dim}"
    assert table["share"].iloc[:-1].sum() == pytest.approx(1.0)
