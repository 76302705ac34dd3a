import numpy as np
import pandas as pd
import pytest

from sasrec_utils.sequences import (
    Sequences,
    build_sequences,
    item_popularity,
    leave_one_out_split,
    training_batches,
    user_split,
    users_per_item,
)


def test_build_sorts_stably_and_remaps():
    events = pd.DataFrame(
        {
            "user_id": [7, 7, 7, 3, 3, 9],
            "item_id": [30, 10, 20, 10, 40, 10],
            "timestamp": [5, 5, 1, 2, 2, 1],
        }
    )
    data = build_sequences(events)
    # user 9 has one event: dropped and counted
    assert data.dropped_users == 1
    assert list(data.user_ids) == [3, 7]
    assert list(data.item_ids) == [10, 20, 30, 40]
    # user 3: equal timestamps keep file order (10, 40)
    # user 7: 20 (t=1), then 30, 10 (both t=5, file order)
    assert data.to_original(data.sequences[0]).tolist() == [10, 40]
    assert data.to_original(data.sequences[1]).tolist() == [20, 30, 10]
    assert data.sequences.items.dtype == np.int32
    assert data.to_internal([40, 99]).tolist() == [4, 0]


def test_missing_columns_named():
    with pytest.raises(ValueError, match="timestamp"):
        build_sequences(pd.DataFrame({"user_id": [1], "item_id": [1]}))


def test_leave_one_out_has_no_leakage():
    seqs = Sequences.from_lists([[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]])
    data = build_sequences(
        pd.DataFrame(
            {
                "user_id": np.repeat([0, 1, 2], [5, 2, 3]),
                "item_id": seqs.items,
                "timestamp": np.arange(10),
            }
        )
    )
    split = leave_one_out_split(data)
    assert split.unevaluated_users == 1  # the 2-item user
    assert split.train[0].tolist() == [1, 2, 3] and split.train[1].tolist() == [6, 7]
    assert split.valid.targets.tolist() == [4, 9] and split.test.targets.tolist() == [5, 10]
    assert split.test.histories[0].tolist() == [1, 2, 3, 4]
    assert split.valid.histories[1].tolist() == [8]
    for row, user in enumerate(split.test.users):
        assert split.test.targets[row] not in split.train[user]
        assert split.valid.targets[row] not in split.train[user]


def test_user_split_partitions_users():
    data = build_sequences(
        pd.DataFrame(
            {
                "user_id": np.repeat(np.arange(50), 4),
                "item_id": np.tile([1, 2, 3, 4], 50),
                "timestamp": np.tile(np.arange(4), 50),
            }
        )
    )
    split = user_split(data, (0.8, 0.1, 0.1), seed=1)
    assert len(split.train) == 40 and len(split.valid) == 5 and len(split.test) == 5
    assert not set(split.valid.users) & set(split.test.users)
    assert split.test.targets.tolist() == [4] * 5
    with pytest.raises(ValueError, match="frac"):
        user_split(data, (0.5, 0.1, 0.1))


def test_training_batches_predict_next_item_at_every_position():
    seqs = Sequences.from_lists([[1, 2, 3, 4, 5, 6], [7, 8], [9]])
    batches = list(training_batches(seqs, 3, 8, np.random.default_rng(0)))
    assert len(batches) == 1
    inputs, targets = batches[0]
    assert inputs.shape == (2, 3)  # the 1-item user has nothing to predict
    rows = {tuple(t[t > 0]): tuple(i[i > 0]) for i, t in zip(inputs, targets, strict=False)}
    assert rows == {(4, 5, 6): (3, 4, 5), (8,): (7,)}
    assert (inputs > 0).sum() == (targets > 0).sum()


def test_random_windows_stay_inside_history():
    seqs = Sequences.from_lists([list(range(1, 21))])
    seen = set()
    for seed in range(30):
        ((inputs, targets),) = training_batches(seqs, 4, 1, np.random.default_rng(seed), "random")
        assert (targets[0] - inputs[0]).tolist() == [1, 1, 1, 1]
        seen.add(int(targets[0, -1]))
    assert len(seen) > 5 and max(seen) <= 20 and min(seen) >= 5


def test_bucketing_trims_padding():
    seqs = Sequences.from_lists([[1, 2]] * 4 + [list(range(1, 30))] * 4)
    widths = sorted(x.shape[1] for x, _ in training_batches(seqs, 50, 4, np.random.default_rng(0)))
    assert widths == [1, 28]


def test_padded_matrix_and_counts():
    seqs = Sequences.from_lists([[1, 2, 3], [2], []])
    assert seqs.to_padded(2).tolist() == [[2, 3], [0, 2], [0, 0]]
    assert item_popularity(seqs, 3).tolist() == [0, 1, 2, 1]
    assert users_per_item(Sequences.from_lists([[1, 1, 2], [1]]), 2).tolist() == [0, 2, 1]


def test_token_cap_splits_long_batches_and_keeps_every_user_once():
    seqs = Sequences.from_lists([[1, 2]] * 4 + [list(range(1, 30))] * 5 + [list(range(1, 90))])
    batches = list(training_batches(seqs, 100, 4, np.random.default_rng(0), max_tokens=60))
    shapes = sorted(x.shape for x, _ in batches)
    # 4 short users fit one batch; 28-item windows go 2 at a time (2 x 28 <= 60), and the
    # 88-item window, over the cap on its own, still gets a batch of one
    assert shapes == [(1, 28), (1, 88), (2, 28), (2, 28), (4, 1)]
    firsts = sorted(int(t[t > 0][0]) for _, y in batches for t in y)
    assert firsts == [2] * 10  # every user once, each starting at its second item
