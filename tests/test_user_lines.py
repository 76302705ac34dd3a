"""One-line-per-user files (the S3-Rec format) and the Amazon Beauty loader."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data import prepare_data, user_lines
from sasrec_utils.data.loading import load_events
from sasrec_utils.data.movielens import ChecksumError
from sasrec_utils.data.user_lines import BEAUTY_SHA256, load_amazon_beauty, read_user_lines

SHARED_BEAUTY = Path(__file__).resolve().parents[2] / "shared" / "data" / "Beauty.txt"


def write(tmp_path: Path, text: str, name: str = "lines.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_each_line_is_one_user_in_order(tmp_path):
    events = read_user_lines(write(tmp_path, "7 3 1 3\n\n2 9\n"))
    assert events["user_id"].tolist() == [7, 7, 7, 2]
    assert events["item_id"].tolist() == [3, 1, 3, 9]
    assert events["timestamp"].tolist() == [0, 1, 2, 0]  # position in the line
    assert events["item_id"].dtype == np.int64


def test_string_ids_stay_strings(tmp_path):
    events = read_user_lines(write(tmp_path, "u1 a b\nu2 7\n"))
    assert events["user_id"].tolist() == ["u1", "u1", "u2"]
    assert events["item_id"].tolist() == ["a", "b", "7"]


def test_order_survives_the_split(tmp_path):
    """Positions as timestamps: each user's last item is the test item, as in the file."""
    path = write(tmp_path, "1 5 6 7 8\n2 8 7 6 5\n3 6 5 8\n")
    cfg = SASRecConfig(dataset="user-lines", events_paths=[str(path)])
    prepared = prepare_data(cfg)
    to_original = prepared.sequences.to_original
    assert to_original(prepared.split.test.targets).tolist() == [8, 5, 8]
    assert to_original(prepared.split.valid.targets).tolist() == [7, 6, 5]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 3\n4\n", r"lines.txt:2: user 4 has no items"),
        ("1 2 3\n5 6\n1 7\n", r"lines.txt:3: user 1 is also on line 1"),
        ("\n\n", r"no events"),
    ],
)
def test_malformed_files_are_refused_with_the_line(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_user_lines(write(tmp_path, text))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.txt: file not found"):
        read_user_lines(tmp_path / "nowhere.txt")


def test_user_lines_needs_exactly_one_path():
    with pytest.raises(ValueError, match="user-lines' needs events_paths=\\[path\\]"):
        SASRecConfig(dataset="user-lines", events_paths=["a.txt", "b.txt"])


def test_a_local_beauty_file_with_another_checksum_is_refused_and_kept(tmp_path):
    path = write(tmp_path, "1 2 3\n", name="Beauty.txt")
    with pytest.raises(ChecksumError, match="expected 226cce9c"):
        load_amazon_beauty(tmp_path)
    assert path.read_text() == "1 2 3\n"


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_is_checked_before_it_is_written(tmp_path, monkeypatch):
    payload = b"1 2 3\n4 5 6\n"
    monkeypatch.setattr(user_lines.urllib.request, "urlopen", lambda *a, **k: FakeResponse(payload))
    with pytest.raises(ChecksumError, match="sha256 is " + hashlib.sha256(payload).hexdigest()):
        load_amazon_beauty(tmp_path)
    assert not (tmp_path / "Beauty.txt").exists()
    monkeypatch.setattr(user_lines, "BEAUTY_SHA256", hashlib.sha256(payload).hexdigest())
    events = load_amazon_beauty(tmp_path)
    assert (tmp_path / "Beauty.txt").read_bytes() == payload
    assert events["item_id"].tolist() == [2, 3, 5, 6]


def test_no_file_and_no_network_says_where_to_put_it(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(user_lines.urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="SASREC_DATA_DIR"):
        load_amazon_beauty(tmp_path)


@pytest.mark.real_data
def test_the_real_beauty_file_has_its_published_sizes():
    if not SHARED_BEAUTY.exists():
        if os.environ.get("SASREC_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"{SHARED_BEAUTY} missing; SASREC_REQUIRE_REAL_DATA=1 requires it")
        pytest.skip(f"{SHARED_BEAUTY} not here")
    assert hashlib.sha256(SHARED_BEAUTY.read_bytes()).hexdigest() == BEAUTY_SHA256
    log = load_events(SASRecConfig(dataset="amazon-beauty", data_dir=str(SHARED_BEAUTY.parent)))
    events = log.events
    assert len(events) == 198_502
    assert events["user_id"].nunique() == 22_363
    assert events["item_id"].nunique() == 12_101
    lengths = events.groupby("user_id").size()
    assert lengths.min() == 5 and lengths.median() == 6  # 5-core: every user has 5+


# --- issue 30: ids as written, encodings, interrupted downloads


def test_ids_beyond_int64_load_exactly(tmp_path):
    """A uint64 id (2^64 - 1) stays exact; beyond uint64 the ids stay the strings written."""
    events = read_user_lines(write(tmp_path, "1 18446744073709551615 5\n"))
    assert events["item_id"].dtype == np.uint64
    assert events["item_id"].tolist() == [18446744073709551615, 5]
    huge = read_user_lines(write(tmp_path, "1 18446744073709551616 5\n", name="huge.txt"))
    assert huge["item_id"].tolist() == ["18446744073709551616", "5"]


def test_users_1_and_01_stay_two_users(tmp_path):
    events = read_user_lines(write(tmp_path, "1 5 6\n01 7 8\n"))
    assert events["user_id"].tolist() == ["1", "1", "01", "01"]
    assert events.groupby("user_id", sort=False)["item_id"].apply(list).to_dict() == {
        "1": [5, 6],
        "01": [7, 8],
    }


def test_distinct_item_tokens_stay_distinct_items(tmp_path):
    """Seven tokens, seven items: '05'/'5', '1_000'/'1000', Arabic-Indic three/'3'."""
    events = read_user_lines(write(tmp_path, "u 05 5 1_000 1000 \u0663 3 -2\n"))
    assert events["item_id"].tolist() == ["05", "5", "1_000", "1000", "\u0663", "3", "-2"]
    assert events["item_id"].nunique() == 7


def test_a_byte_order_mark_is_not_part_of_the_first_user(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf1 5 6\n2 7\n")
    events = read_user_lines(path)
    assert events["user_id"].tolist() == [1, 1, 2]
    assert events["user_id"].dtype == np.int64


def test_a_gzip_file_is_read(tmp_path):
    import gzip

    path = tmp_path / "lines.txt.gz"
    path.write_bytes(gzip.compress(b"7 3 1\n2 9\n"))
    events = read_user_lines(path)
    assert events["item_id"].tolist() == [3, 1, 9]


def test_a_latin1_file_is_refused_naming_file_and_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"1 a b\n2 caf\xe9\n")
    with pytest.raises(ValueError, match=r"latin\.txt:2: not UTF-8 text \(byte 0xe9\)"):
        read_user_lines(path)


def test_an_interrupted_download_names_the_url_and_how_to_retry(tmp_path, monkeypatch):
    import http.client

    def cut_off(*args, **kwargs):
        raise http.client.IncompleteRead(b"1 2", 100)

    monkeypatch.setattr(user_lines.urllib.request, "urlopen", cut_off)
    with pytest.raises(FileNotFoundError, match=r"Beauty\.txt: not found.*IncompleteRead.*retry"):
        load_amazon_beauty(tmp_path)
    assert not (tmp_path / "Beauty.txt").exists()


def test_an_interrupted_movielens_download_is_an_oserror_naming_the_url(tmp_path, monkeypatch):
    import http.client

    from sasrec_utils.data import movielens

    def cut_off(*args, **kwargs):
        raise http.client.IncompleteRead(b"PK", 100)

    monkeypatch.setattr(movielens.urllib.request, "urlopen", cut_off)
    with pytest.raises(OSError, match=r"https://x/ml-100k\.zip: download cut off"):
        movielens.download("https://x/ml-100k.zip", tmp_path / "ml-100k.zip", "0" * 32)
    assert not (tmp_path / "ml-100k.zip").exists()


def test_uint64_and_string_ids_survive_prepare_data(tmp_path):
    path = write(tmp_path, "1 18446744073709551615 5 6\n2 5 6 18446744073709551615\n")
    prepared = prepare_data(SASRecConfig(dataset="user-lines", events_paths=[str(path)]))
    assert prepared.sequences.to_original(prepared.split.test.targets).tolist() == [
        6,
        18446744073709551615,
    ]


def test_users_with_two_items_only_are_refused_before_training(tmp_path):
    path = write(tmp_path, "1 5 6\n2 6 7\n3 7 5\n")
    cfg = SASRecConfig(dataset="user-lines", events_paths=[str(path)])
    with pytest.raises(ValueError, match=r"needs at least 3 events each.*3 users have at most 2"):
        prepare_data(cfg)


def test_fit_on_a_split_without_validation_queries_says_so_before_training():
    import pandas as pd

    from sasrec_utils.data.prepared import PreparedData
    from sasrec_utils.data.sequences import build_sequences
    from sasrec_utils.data.splits import leave_one_out_split
    from sasrec_utils.training.loop import fit

    events = pd.DataFrame(
        {"user_id": [1, 1, 2, 2], "item_id": [1, 2, 2, 3], "timestamp": [0, 1, 0, 1]}
    )
    sequences = build_sequences(events)
    prepared = PreparedData(sequences, leave_one_out_split(sequences))
    cfg = SASRecConfig(epochs=1, hidden_dim=8, max_len=5, device="cpu", num_threads=1)
    with pytest.raises(ValueError, match=r"no validation queries.*at least 3 events"):
        fit(cfg, prepared, progress=False)


def test_a_path_object_in_events_paths_trains_and_its_checkpoint_loads(tmp_path):
    from sasrec_utils.training.checkpoint import load_checkpoint
    from sasrec_utils.training.loop import fit

    path = write(
        tmp_path, "".join(f"{u} {u % 5 + 1} {u % 4 + 2} {u % 3 + 3} 9\n" for u in range(20))
    )
    cfg = SASRecConfig(
        dataset="user-lines",
        events_paths=[path],
        max_len=4,
        hidden_dim=8,
        n_heads=1,
        n_layers=1,
        epochs=1,
        device="cpu",
    )
    fit(cfg, prepare_data(cfg), out_dir=tmp_path / "run", progress=False)
    assert load_checkpoint(tmp_path / "run" / "best.pt")["config"]["events_paths"] == [str(path)]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1 5 6 7\n2 6\u00a07 8\n", r":2: '6\\xa07' holds a non-ASCII space \(U\+00A0\)"),
        ("1 5 6 7\n\ufeff2 6 7 8\n", r":2: '\\ufeff2' holds a byte-order mark \(U\+FEFF\)"),
    ],
)
def test_a_token_holding_another_space_or_a_mark_is_refused_by_line(tmp_path, text, says):
    with pytest.raises(ValueError, match=says):
        read_user_lines(write(tmp_path, text))
