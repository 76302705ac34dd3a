"""The retail layout's readers on generated parquet files."""

import numpy as np
import pandas as pd
import pytest

from sasrec_utils.data.event_files import load_event_parquets, load_item_embeddings


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
