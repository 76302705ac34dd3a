"""Leave-one-out and user splits: no leakage, the right targets, partitions."""

import numpy as np
import pandas as pd
import pytest

from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split, selection_split, user_split

from .conftest import cycle_events, eval_queries, sequences_from_lists


def test_leave_one_out_has_no_leakage():
    seqs = sequences_from_lists([[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]])
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


def test_session_queries_keep_only_the_last_items_and_their_targets():
    queries = eval_queries([[1, 2, 3, 4], [5], [6, 7]], [9, 8, 7])
    short = queries.session(2)
    assert [short.histories[row].tolist() for row in range(3)] == [[3, 4], [5], [6, 7]]
    assert short.targets.tolist() == [9, 8, 7] and short.users.tolist() == [0, 1, 2]


def test_validation_in_train_appends_each_validation_target_to_its_row():
    seqs = sequences_from_lists([[1, 2, 3, 4, 5], [6, 7], [8, 9, 10]])
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
    grown = split.with_validation_in_train()
    assert [grown.train[row].tolist() for row in range(3)] == [[1, 2, 3, 4], [6, 7], [8, 9]]
    for row, user in enumerate(grown.test.users):  # test history = the grown training row
        assert grown.test.histories[row].tolist() == grown.train[user].tolist()
    assert grown.test is split.test
    with pytest.raises(ValueError, match="leave-one-out split"):
        user_split(data, (0.4, 0.3, 0.3), seed=0).with_validation_in_train()


def test_selection_split_tests_on_the_validation_queries_and_never_sees_test_items():
    data = build_sequences(cycle_events(n_users=30, n_items=9, length=7))
    full, selection = leave_one_out_split(data), selection_split(data)
    common = np.isin(full.valid.users, selection.test.users)
    assert common.all()  # every validation user (>= 4 items) is a selection test user
    rows = np.searchsorted(selection.test.users, full.valid.users)
    assert selection.test.targets[rows].tolist() == full.valid.targets.tolist()
    for row, user in enumerate(full.valid.users):
        assert selection.test.histories[rows[row]].tolist() == full.valid.histories[row].tolist()
        held_out = full.test.targets[row]
        position = len(data.sequences[user]) - 1  # the test item is the last one
        assert len(selection.train[user]) + 2 == position
        assert data.sequences[user][position] == held_out
