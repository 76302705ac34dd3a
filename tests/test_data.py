"""Loaders on generated files in each format (never the network)."""

import zipfile

import numpy as np
import pandas as pd
import pytest

from sasrec_utils import data as data_module
from sasrec_utils.data import (
    ChecksumError,
    load_event_parquets,
    load_item_embeddings,
    load_ml1m,
    load_ml1m_items,
    load_ml100k,
    load_ml100k_items,
    verify_checksum,
)


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(data_module.urllib.request, "urlopen", refuse)


def test_ml100k_official_layout(tmp_path, offline):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t10\t4\t100\n2\t20\t3\t90\n1\t20\t5\t100\n")
    flags = "|".join(["0"] * 19)
    (folder / "u.item").write_text(
        f"10|Toy Story (1995)|01-Jan-1995||http://x|{flags[:-1]}1\n20|Heat (1995)|x||y|{flags}\n"
    )
    events = load_ml100k(tmp_path)
    assert events.shape == (3, 4) and list(events.columns) == [
        "user_id",
        "item_id",
        "timestamp",
        "rating",
    ]
    assert events["item_id"].tolist() == [10, 20, 20]
    items = load_ml100k_items(tmp_path)
    assert items.loc[0, "title"] == "Toy Story (1995)" and items.loc[0, "genres"] == "Western"


def test_ml100k_recbole_layout(tmp_path, offline):
    folder = tmp_path / "ml-100k-recbole"
    folder.mkdir()
    (folder / "ml-100k.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n"
    )
    (folder / "ml-100k.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "242\tKolya\t1996\tComedy Drama\n"
    )
    events = load_ml100k(tmp_path)
    assert events.iloc[0].tolist() == [196, 242, 881250949, 3]
    items = load_ml100k_items(tmp_path)
    assert items.iloc[0].tolist() == [242, "Kolya (1996)", "Comedy|Drama"]


def test_ml1m_ratings_dat(tmp_path):
    (tmp_path / "ratings.dat").write_text(
        "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"
    )
    (tmp_path / "movies.dat").write_bytes(
        "1193::One Flew (1975)::Drama\n661::Caf\xe9 (1996)::Comedy\n".encode("latin-1")
    )
    events = load_ml1m(tmp_path / "ratings.dat")
    assert events.shape == (3, 4) and events["user_id"].tolist() == [1, 1, 2]
    assert load_ml1m_items(tmp_path)["title"].tolist()[1] == "Caf\xe9 (1996)"


def test_ml1m_missing_gives_instructions(tmp_path, offline):
    with pytest.raises(RuntimeError, match=r"ratings\.dat"):
        load_ml1m(tmp_path)


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


def test_bad_checksum_deletes_file(tmp_path):
    path = tmp_path / "file.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(ChecksumError, match="deleted"):
        verify_checksum(path, "0" * 64)
    assert not path.exists()
