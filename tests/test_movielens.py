"""MovieLens loaders on generated files in each layout (never the network)."""

import zipfile

import pytest

from sasrec_utils.data import movielens
from sasrec_utils.data.movielens import (
    ChecksumError,
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

    monkeypatch.setattr(movielens.urllib.request, "urlopen", refuse)


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


def test_bad_checksum_deletes_file(tmp_path):
    path = tmp_path / "file.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(ChecksumError, match="deleted"):
        verify_checksum(path, "0" * 64)
    assert not path.exists()
