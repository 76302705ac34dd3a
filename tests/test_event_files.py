"""The retail layout's readers on generated parquet files."""

import json
import logging

import numpy as np
import pandas as pd
import pytest

from sasrec_utils.data.event_files import load_event_parquets, load_item_embeddings
from sasrec_utils.data.sequences import build_sequences


def write_retail(tmp_path):
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u2"],
            "item_id": ["fmcg_1", "nfmcg_2", "offer_9", "fmcg_1", "fmcg_1", "nfmcg_2"],
            "timestamp": [1, 2, 3, 1, 1, 2],
            "extra": [0] * 6,
        }
    )
    events.to_parquet(tmp_path / "events.parquet")
    pd.DataFrame({"item_id": ["nfmcg_2", "fmcg_1"], "index": [1, 0]}).to_parquet(
        tmp_path / "vocab.parquet"
    )


def test_event_parquets_drop_unmapped_and_duplicates(tmp_path):
    write_retail(tmp_path)
    log = load_event_parquets([tmp_path / "events.parquet"], tmp_path / "vocab.parquet")
    assert list(log.events.columns) == ["user_id", "item_id", "timestamp"]
    assert log.dropped == {"duplicate_events": 1, "unmapped_events": 1, "unmapped_items": 1}
    assert log.item_ids.tolist() == ["fmcg_1", "nfmcg_2"]  # vocabulary order by index
    assert len(log.events) == 4


def test_event_parquet_missing_column_named(tmp_path):
    pd.DataFrame({"user_id": [1], "item": [2], "timestamp": [3]}).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['item_id'\].*found"):
        load_event_parquets(tmp_path / "e.parquet")


def test_embeddings_aligned_by_id_not_row_order(tmp_path):
    frame = pd.DataFrame(
        {"item_id": ["b", "a", "zzz"], "embedding": [[2.0, 2.0], [1.0, 1.0], [9.0, 9.0]]}
    )
    frame.to_parquet(tmp_path / "emb.parquet")
    matrix = load_item_embeddings(tmp_path / "emb.parquet", np.array(["a", "b", "c"]))
    assert matrix.shape == (4, 2) and matrix.dtype == np.float32
    assert matrix.tolist() == [[0, 0], [1, 1], [2, 2], [0, 0]]
    with pytest.raises(ValueError, match="dimension 2, expected 128"):
        load_item_embeddings(tmp_path / "emb.parquet", np.array(["a"]), dim=128)
    with pytest.raises(ValueError, match="none of its 3 item_ids match"):
        load_item_embeddings(tmp_path / "emb.parquet", np.array(["x", "y"]))


# ------------------------------------------------------------------ timestamp units across files

EPOCH_S = 1_700_000_000  # 2023-11-14 in Unix seconds


def write_one_user(path, items, stamps):
    pd.DataFrame({"user_id": [1] * len(items), "item_id": items, "timestamp": stamps}).to_parquet(
        path
    )
    return path


def loaded_order(paths):
    log = load_event_parquets(paths)
    data = build_sequences(log.events, log.item_ids)
    return data.to_original(data.sequences[0]).tolist()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ([EPOCH_S * 10**6, (EPOCH_S + 300) * 10**6], [(EPOCH_S + 100) * 10**9]),  # us + ns
        ([EPOCH_S, EPOCH_S + 300], [(EPOCH_S + 100) * 10**3]),  # s + ms
        (  # datetimes stored in us + in ns (Spark and pandas write these)
            pd.to_datetime([EPOCH_S, EPOCH_S + 300], unit="s").as_unit("us"),
            pd.to_datetime([EPOCH_S + 100], unit="s").as_unit("ns"),
        ),
        ([EPOCH_S, EPOCH_S + 300], pd.to_datetime([EPOCH_S + 100], unit="s")),  # s + datetimes
    ],
)
def test_files_in_different_time_units_merge_in_real_time_order(tmp_path, caplog, first, second):
    a = write_one_user(tmp_path / "a.parquet", [10, 12], first)
    b = write_one_user(tmp_path / "b.parquet", [11], second)
    assert loaded_order([a, b]) == [10, 11, 12]
    both_datetimes = isinstance(first, pd.DatetimeIndex) and isinstance(second, pd.DatetimeIndex)
    said = "timestamps converted to nanoseconds to order the files in one time" in caplog.text
    assert said != both_datetimes  # datetimes of any precision are read as nanoseconds


def test_one_unit_in_every_file_keeps_the_values_as_they_are(tmp_path):
    a = write_one_user(tmp_path / "a.parquet", [10, 12], [1, 3])  # counters, not epochs
    b = write_one_user(tmp_path / "b.parquet", [11], [2])
    assert load_event_parquets([a, b]).events["timestamp"].tolist() == [1, 3, 2]
    assert loaded_order([a, b]) == [10, 11, 12]


def test_counters_mixed_with_epochs_are_refused_naming_files_and_units(tmp_path):
    a = write_one_user(tmp_path / "a.parquet", [10, 12], [1, 3])
    b = write_one_user(tmp_path / "b.parquet", [11], pd.to_datetime([EPOCH_S], unit="s"))
    with pytest.raises(ValueError) as error:
        load_event_parquets([a, b])
    message = str(error.value)
    assert "a.parquet" in message and "b.parquet" in message and "datetime" in message


# ------------------------------------------------------------------ vocabulary, counts, summary


def test_a_null_item_id_in_the_vocabulary_names_the_file_and_row(tmp_path):
    write_retail(tmp_path)
    pd.DataFrame({"item_id": ["fmcg_1", None], "index": [0, 1]}).to_parquet(
        tmp_path / "vocab.parquet"
    )
    with pytest.raises(ValueError, match=r"vocab\.parquet: 1 row\(s\) have no item_id.*\[1\]"):
        load_event_parquets([tmp_path / "events.parquet"], tmp_path / "vocab.parquet")


def test_dropped_counts_are_plain_ints(tmp_path):
    write_retail(tmp_path)
    log = load_event_parquets([tmp_path / "events.parquet"], tmp_path / "vocab.parquet")
    assert {type(count) for count in log.dropped.values()} == {int}
    assert json.loads(json.dumps(log.dropped))["unmapped_items"] == 1


def test_users_with_two_events_are_counted_in_the_summary(caplog):
    events = pd.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 2, 3, 3, 4],
            "item_id": [5, 6, 5, 6, 7, 6, 7, 5],
            "timestamp": [1, 2, 1, 2, 3, 1, 2, 1],
        }
    )
    with caplog.at_level(logging.INFO, logger="sasrec_utils.data.sequences"):
        data = build_sequences(events)
    assert data.two_event_users == 2  # users 1 and 3
    assert "2 users have exactly 2 events" in caplog.text
    assert "dropped 1 users with fewer than 2 events" in caplog.text
