"""Leave-one-out and user splits: no leakage, the right targets, partitions."""

import numpy as np
import pandas as pd
import pytest

from sasrec_utils.sequences import build_sequences
from sasrec_utils.splits import leave_one_out_split, user_split

from .conftest import sequences_from_lists


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
