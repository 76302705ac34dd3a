import numpy as np
import pandas as pd
import pytest

from sasrec_utils.data.sequences import (
    build_sequences,
    item_popularity,
    offsets_from_lengths,
    users_per_item,
)

from .conftest import sequences_from_lists


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
    assert data.lengths.tolist() == [2, 3]


def test_missing_columns_named():
    with pytest.raises(ValueError, match="timestamp"):
        build_sequences(pd.DataFrame({"user_id": [1], "item_id": [1]}))


def test_padded_matrix_and_counts():
    seqs = sequences_from_lists([[1, 2, 3], [2], []])
    assert seqs.to_padded(2).tolist() == [[2, 3], [0, 2], [0, 0]]
    assert item_popularity(seqs, 3).tolist() == [0, 1, 2, 1]
    assert users_per_item(sequences_from_lists([[1, 1, 2], [1]]), 2).tolist() == [0, 2, 1]


def test_offsets_and_row_cuts():
    assert offsets_from_lengths(np.array([2, 0, 3])).tolist() == [0, 2, 2, 5]
    seqs = sequences_from_lists([[1, 2, 3], [4], [5, 6]])
    assert seqs.keep_first(np.array([2, 0, 1])).items.tolist() == [1, 2, 5]
    assert seqs.drop_last(1).offsets.tolist() == [0, 2, 2, 3]
    assert seqs.select(np.array([2, 0])).items.tolist() == [5, 6, 1, 2, 3]
