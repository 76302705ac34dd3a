"""End-to-end training on a learnable pattern, checkpoints, resume and determinism."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from sasrec_utils.data.prepared import PreparedData
from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.evaluation.ranking import evaluate_model, rank_all_items
from sasrec_utils.evaluation.scorers import ModelScorer
from sasrec_utils.model import cross_entropy, losses
from sasrec_utils.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    with_checksums,
)
from sasrec_utils.training.loop import fit

from .conftest import cycle_events


@pytest.fixture(scope="module")
def cycle_split():
    data = build_sequences(cycle_events(n_users=80, n_items=30, length=15))
    return data, leave_one_out_split(data)


def test_learns_a_cycle_far_above_random(cycle_split, tiny_cfg, tmp_path):
    data, split = cycle_split
    cfg = tiny_cfg.replace(epochs=40, lr=1e-2, patience=40, hidden_dim=32)
    result = fit(cfg, PreparedData(data, split), out_dir=tmp_path, progress=False)
    test = evaluate_model(result.model, split.test, split.train, cfg)
    # random NDCG@10 over ~17 unseen candidates is about 0.15; the cycle is deterministic
    assert test["ndcg@10"] > 0.9, test
    assert result.best_epoch >= 1 and (tmp_path / "best.pt").exists()
    assert {"train_loss", "valid_ndcg@10", "lr", "seconds"} <= set(result.history.columns)


@pytest.mark.parametrize("loss", ["bce", "sampled_softmax", "gbce"])
def test_sampled_losses_learn_too(cycle_split, tiny_cfg, loss):
    data, split = cycle_split
    cfg = tiny_cfg.replace(epochs=30, lr=1e-2, patience=30, hidden_dim=32, loss=loss, n_negatives=8)
    result = fit(cfg, PreparedData(data, split), progress=False)
    assert evaluate_model(result.model, split.test, split.train, cfg)["ndcg@10"] > 0.5


def test_checkpoint_round_trip_gives_identical_scores(cycle_split, tiny_cfg, tmp_path):
    data, split = cycle_split
    result = fit(tiny_cfg, PreparedData(data, split), out_dir=tmp_path, progress=False)
    model, cfg, state = model_from_checkpoint(tmp_path / "best.pt")
    assert cfg == tiny_cfg and state["item_ids"] == data.item_ids.tolist()
    seq = torch.as_tensor(split.test.histories.to_padded(cfg.max_len))
    assert torch.equal(model.score_last(seq), result.model.score_last(seq))


def test_same_seed_same_metrics(cycle_split, tiny_cfg):
    data, split = cycle_split
    cfg = tiny_cfg.replace(dropout=0.2, epochs=3)
    runs = [fit(cfg, PreparedData(data, split), progress=False) for _ in range(2)]
    a, b = (evaluate_model(r.model, split.test, split.train, cfg) for r in runs)
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=1e-6)
    assert runs[0].history["train_loss"].tolist() == runs[1].history["train_loss"].tolist()


def test_resume_continues_to_the_same_result(cycle_split, tiny_cfg, tmp_path):
    data, split = cycle_split
    cfg = tiny_cfg.replace(dropout=0.2, epochs=4, patience=10)
    straight = fit(cfg, PreparedData(data, split), out_dir=tmp_path / "a", progress=False)
    fit(cfg.replace(epochs=2), PreparedData(data, split), out_dir=tmp_path / "b", progress=False)
    # pretend the 2-epoch run was a 4-epoch run cut off after epoch 2
    state = load_checkpoint(tmp_path / "b" / "last.pt")
    state["config"] = cfg.to_dict()
    torch.save(with_checksums(state), tmp_path / "b" / "last.pt")  # as if written so
    resumed = fit(
        cfg, PreparedData(data, split), out_dir=tmp_path / "b", resume=True, progress=False
    )
    assert resumed.history["epoch"].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(
        resumed.history["train_loss"], straight.history["train_loss"], rtol=1e-5
    )


def test_truncated_and_foreign_checkpoints_are_named(tmp_path):
    (tmp_path / "cut.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a sasrec_utils checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_chunked_ce_equals_full_ce():
    torch.manual_seed(0)
    hidden = torch.randn(50, 8, requires_grad=True)
    items = torch.randn(13, 8, requires_grad=True)
    targets = torch.randint(1, 13, (50,))
    full = cross_entropy.full_cross_entropy(hidden, targets, items, label_smoothing=0.1)
    grads_full = torch.autograd.grad(full, [hidden, items])
    chunked = cross_entropy.full_cross_entropy(
        hidden, targets, items, label_smoothing=0.1, chunk_rows=7
    )
    grads_chunked = torch.autograd.grad(chunked, [hidden, items])
    assert torch.allclose(full, chunked, atol=1e-6)
    for a, b in zip(grads_full, grads_chunked, strict=False):
        assert torch.allclose(a, b, atol=1e-6)


def test_sampled_softmax_approaches_full_ce_with_many_negatives():
    torch.manual_seed(0)
    hidden, items = torch.randn(64, 8), torch.randn(41, 8)
    targets = torch.randint(1, 41, (64,))
    full = cross_entropy.full_cross_entropy(hidden, targets, items)
    log_q = torch.full((41,), -np.log(40.0))  # uniform over items 1..40
    log_q[0] = float("-inf")  # padding is never drawn
    gen = torch.Generator().manual_seed(0)
    estimate = np.mean(
        [losses.sampled_softmax(hidden, targets, items, 2000, log_q, gen).item() for _ in range(5)]
    )
    assert estimate == pytest.approx(full.item(), rel=0.03)


def test_model_scorer_matches_score_last(cycle_split, tiny_cfg):
    data, split = cycle_split
    result = fit(tiny_cfg.replace(epochs=1), PreparedData(data, split), progress=False)
    ranking = rank_all_items(ModelScorer(result.model, tiny_cfg.max_len), split.test, split.n_items)
    scores = result.model.score_last(
        torch.as_tensor(split.test.histories.to_padded(tiny_cfg.max_len))
    )
    assert ranking.top_items.shape == (len(split.test), 20)
    assert np.all(ranking.ranks >= 1) and np.all(ranking.ranks <= split.n_items)
    assert scores.shape == (len(split.test), split.n_items + 1)


def test_progress_lines_print_each_epoch_and_why_training_stopped(cycle_split, tiny_cfg, capsys):
    data, split = cycle_split
    cfg = tiny_cfg.replace(epochs=30, patience=1, lr=1e-4)
    result = fit(cfg, PreparedData(data, split), progress="lines")
    start, *lines = capsys.readouterr().out.strip().splitlines()
    assert start.startswith("training on cpu with ")  # threads and checkpoints: test_reliability
    assert len(lines) == len(result.history) + 1
    assert lines[0].startswith("epoch 1/30: loss ") and "valid NDCG@10 " in lines[0]
    last = len(result.history)
    if last < 30:  # patience 1 at a tiny learning rate: a plateau comes early
        assert lines[-1].startswith(f"stopped at epoch {last}: no improvement for 1 valid")
    assert f"epoch {result.best_epoch} (valid NDCG@10 {result.best_valid:.4f}) is kept" in lines[-1]
    fit(cfg.replace(epochs=1), PreparedData(data, split), progress=False)
    assert capsys.readouterr().out == ""


def test_a_lazy_adam_on_a_sparse_item_table_learns_and_resumes(cycle_split, tiny_cfg, tmp_path):
    data, split = cycle_split
    cfg = tiny_cfg.replace(
        epochs=30,
        lr=1e-2,
        patience=30,
        hidden_dim=32,
        loss="sampled_softmax",
        n_negatives=8,
        sparse_item_grad=True,
    )
    result = fit(cfg, PreparedData(data, split), out_dir=tmp_path, progress=False)
    assert evaluate_model(result.model, split.test, split.train, cfg)["ndcg@10"] > 0.5
    assert "item_optimizer_state" in load_checkpoint(tmp_path / "last.pt")


def test_in_batch_negatives_keep_the_estimate_of_full_ce_unbiased():
    torch.manual_seed(0)
    hidden, items = torch.randn(256, 8), torch.randn(41, 8)
    counts = torch.randint(1, 50, (41,))
    frequency = counts / counts[1:].sum()
    targets = torch.multinomial(frequency[1:], 256, replacement=True) + 1  # (N,) like data
    full = cross_entropy.full_cross_entropy(hidden, targets, items)
    log_q = torch.full((41,), -np.log(40.0))
    log_q[0] = float("-inf")
    log_frequency = frequency.log()
    log_frequency[0] = float("-inf")
    gen = torch.Generator().manual_seed(0)
    mixed = [
        losses.sampled_softmax(hidden, targets, items, 200, log_q, gen, log_frequency).item()
        for _ in range(5)
    ]
    assert np.mean(mixed) == pytest.approx(full.item(), rel=0.03)


def test_importing_the_package_leaves_the_notebook_progress_bar_unimported():
    """tqdm.auto warns at import in a kernel without ipywidgets; reports print lines."""
    code = (
        "import sys, sasrec_utils.training.loop, sasrec_utils.serving.recommend; "
        "import sasrec_utils.evaluation.ranking; "
        "print(sorted(m for m in sys.modules if m.startswith('tqdm.auto')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
