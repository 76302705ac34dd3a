"""Every prefix as its own example: (user, end) indices, last-position targets, bucketing."""

import numpy as np
import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.batches import epoch_batches
from sasrec_utils.data.prefixes import prefix_batches, prefix_ends

from .conftest import sequences_from_lists


def test_prefix_ends_index_every_target_of_every_row():
    seqs = sequences_from_lists([[1, 2, 3], [4], [5, 6]])  # items at 0 1 2 | 3 | 4 5
    targets_at, lengths = prefix_ends(seqs)
    assert targets_at.tolist() == [1, 2, 5]
    assert lengths.tolist() == [1, 2, 1]
    assert seqs.items[targets_at].tolist() == [2, 3, 6]


def test_each_prefix_predicts_only_its_next_item_from_its_last_position():
    seqs = sequences_from_lists([[1, 2, 3, 4], [7, 8], [9]])
    batches = list(prefix_batches(seqs, 2, 8, np.random.default_rng(0)))
    examples = set()
    for inputs, targets in batches:
        assert (targets[:, :-1] == 0).all() and (targets[:, -1] > 0).all()
        for row, target in zip(inputs, targets[:, -1], strict=True):
            examples.add((tuple(row[row > 0].tolist()), int(target)))
    # the window keeps the last max_len = 2 items of each prefix; the 1-item user gives none
    assert examples == {((1,), 2), ((1, 2), 3), ((2, 3), 4), ((7,), 8)}


def test_prefixes_of_one_length_share_a_batch_and_caps_hold():
    seqs = sequences_from_lists([list(range(1, 6))] * 3)  # 4 prefixes each, lengths 1..4
    batches = list(prefix_batches(seqs, 50, 3, np.random.default_rng(1), max_tokens=6))
    shapes = sorted(inputs.shape for inputs, _ in batches)
    # three of each length 1..4; at most 3 rows and 6 cells: (3, 1), (3, 2), 2 + 1 of
    # length 3 (3 x 3 > 6), and the length-4 ones one at a time
    assert shapes == [(1, 3), (1, 4), (1, 4), (1, 4), (2, 3), (3, 1), (3, 2)]
    assert sum(len(inputs) for inputs, _ in batches) == 12


def test_epoch_batches_follow_train_examples():
    seqs = sequences_from_lists([[1, 2, 3, 4]])
    rng = np.random.default_rng(0)
    windows = list(epoch_batches(SASRecConfig(max_len=4), seqs, rng))
    prefixes = list(epoch_batches(SASRecConfig(max_len=4, train_examples="prefixes"), seqs, rng))
    assert [t.shape for _, t in windows] == [(1, 3)]  # one window, 3 targets
    assert [t.shape for _, t in prefixes] == [(3, 3)]  # three prefixes, one target each
    assert prefixes[0][1][:, -1].tolist() == [2, 3, 4] and (prefixes[0][1][:, :-1] == 0).all()


def test_an_unknown_kind_of_training_example_is_refused_by_name():
    with pytest.raises(ValueError, match="train_examples"):
        SASRecConfig(train_examples="sessions")


def test_a_prefix_batch_trains_the_last_position_alone_to_the_same_loss():
    import torch

    from sasrec_utils.model.cross_entropy import full_cross_entropy
    from sasrec_utils.model.losses import FullCrossEntropy
    from sasrec_utils.model.sasrec import SASRec

    torch.manual_seed(0)
    cfg = SASRecConfig(max_len=5, hidden_dim=8, dropout=0.0, train_examples="prefixes")
    model = SASRec(9, cfg)
    seqs = sequences_from_lists([[1, 2, 3, 4, 5, 6], [7, 8, 9]])
    ((inputs, targets),) = prefix_batches(seqs, 5, 16, np.random.default_rng(0))
    inputs, targets = torch.from_numpy(inputs), torch.from_numpy(targets)
    fast = FullCrossEntropy(mask_seen=False)(model, inputs, targets)
    whole = full_cross_entropy(model(inputs)[:, -1], targets[:, -1], model.item_matrix())
    assert fast.item() == pytest.approx(whole.item(), rel=1e-5)


def test_the_empty_prefix_predicts_each_first_item_from_padding_alone():
    seqs = sequences_from_lists([[1, 2, 3], [4], [5, 6]])
    targets_at, lengths = prefix_ends(seqs, empty=True)
    assert seqs.items[targets_at].tolist() == [1, 2, 3, 4, 5, 6]
    assert lengths.tolist() == [0, 1, 2, 0, 0, 1]
    examples = set()
    for inputs, targets in prefix_batches(seqs, 5, 2, np.random.default_rng(0), empty=True):
        assert inputs.shape[1] >= 1  # a batch of empty prefixes is one padding column
        for row, target in zip(inputs, targets[:, -1], strict=True):
            examples.add((tuple(row[row > 0].tolist()), int(target)))
    assert examples == {((), 1), ((1,), 2), ((1, 2), 3), ((), 4), ((), 5), ((5,), 6)}


def test_empty_prefixes_train_through_the_model_and_need_prefixes():
    import torch

    from sasrec_utils.model.losses import FullCrossEntropy
    from sasrec_utils.model.sasrec import SASRec

    cfg = SASRecConfig(max_len=4, hidden_dim=8, train_examples="prefixes", empty_prefix=True)
    seqs = sequences_from_lists([[1, 2], [3]])
    batches = list(epoch_batches(cfg, seqs, np.random.default_rng(0)))
    assert sum(len(t) for _, t in batches) == 3  # [] -> 1, [1] -> 2, [] -> 3
    inputs, targets = (torch.from_numpy(a) for a in batches[0])
    loss = FullCrossEntropy(mask_seen=True)(SASRec(3, cfg), inputs, targets)
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="empty_prefix=True needs train_examples='prefixes'"):
        SASRecConfig(empty_prefix=True)
