"""Training windows: next item at every position, random windows, bucketing, token caps."""

import numpy as np

from sasrec_utils.data.batches import training_batches

from .conftest import sequences_from_lists


def test_training_batches_predict_next_item_at_every_position():
    seqs = sequences_from_lists([[1, 2, 3, 4, 5, 6], [7, 8], [9]])
    batches = list(training_batches(seqs, 3, 8, np.random.default_rng(0)))
    assert len(batches) == 1
    inputs, targets = batches[0]
    assert inputs.shape == (2, 3)  # the 1-item user has nothing to predict
    rows = {tuple(t[t > 0]): tuple(i[i > 0]) for i, t in zip(inputs, targets, strict=False)}
    assert rows == {(4, 5, 6): (3, 4, 5), (8,): (7,)}
    assert (inputs > 0).sum() == (targets > 0).sum()


def test_random_windows_stay_inside_history():
    seqs = sequences_from_lists([list(range(1, 21))])
    seen = set()
    for seed in range(30):
        ((inputs, targets),) = training_batches(seqs, 4, 1, np.random.default_rng(seed), "random")
        assert (targets[0] - inputs[0]).tolist() == [1, 1, 1, 1]
        seen.add(int(targets[0, -1]))
    assert len(seen) > 5 and max(seen) <= 20 and min(seen) >= 5


def test_bucketing_trims_padding():
    seqs = sequences_from_lists([[1, 2]] * 4 + [list(range(1, 30))] * 4)
    widths = sorted(x.shape[1] for x, _ in training_batches(seqs, 50, 4, np.random.default_rng(0)))
    assert widths == [1, 28]


def test_token_cap_splits_long_batches_and_keeps_every_user_once():
    seqs = sequences_from_lists([[1, 2]] * 4 + [list(range(1, 30))] * 5 + [list(range(1, 90))])
    batches = list(training_batches(seqs, 100, 4, np.random.default_rng(0), max_tokens=60))
    shapes = sorted(x.shape for x, _ in batches)
    # 4 short users fit one batch; 28-item windows go 2 at a time (2 x 28 <= 60), and the
    # 88-item window, over the cap on its own, still gets a batch of one
    assert shapes == [(1, 28), (1, 88), (2, 28), (2, 28), (4, 1)]
    firsts = sorted(int(t[t > 0][0]) for _, y in batches for t in y)
    assert firsts == [2] * 10  # every user once, each starting at its second item
