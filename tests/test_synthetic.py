"""The synthetic retail log: layout, alignment, determinism, structure, and the loaders."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sasrec_utils.cli import main
from sasrec_utils.data.event_files import load_event_parquets, load_item_embeddings
from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.synthetic import synthetic_events
from sasrec_utils.presets import LOG_SIZES


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return synthetic_events(tmp_path_factory.mktemp("tiny"), seed=3)


def read(path):
    return pq.read_table(path).to_pandas()


def test_retail_layout_and_domains(tiny):
    retail, market = (read(p) for p in tiny.events_paths)
    for frame in (retail, market):
        assert list(frame.columns) == ["user_id", "item_id", "timestamp"]
        assert frame["timestamp"].dtype == np.int64
        assert frame["user_id"].str.startswith("user_").all()
    assert set(retail["item_id"].str.split("_").str[0]) == {"fmcg", "offer"}
    assert set(market["item_id"].str.split("_").str[0]) == {"nfmcg"}
    assert len(retail) + len(market) == tiny.n_events == 9_000 + tiny.n_duplicates
    assert tiny.n_duplicates > 0 and tiny.n_unmapped_events > 0


def test_vocabulary_and_embeddings_align(tiny):
    vocab = read(tiny.vocabulary_path)
    n_items = LOG_SIZES["tiny"]["n_items"]
    assert len(vocab) == n_items and vocab["item_id"].is_unique
    assert sorted(vocab["index"]) == list(range(n_items))
    assert not vocab["index"].is_monotonic_increasing  # loaders must order by `index`
    emb = read(tiny.embeddings_path)
    assert len(emb) == n_items - tiny.n_items_without_embedding
    assert set(emb["item_id"]) <= set(vocab["item_id"])
    item_ids = vocab.sort_values("index")["item_id"].to_numpy()
    matrix = load_item_embeddings(tiny.embeddings_path, item_ids, dim=128)
    assert matrix.shape == (n_items + 1, 128)
    row = emb.iloc[7]
    internal = int(np.flatnonzero(item_ids == row["item_id"])[0]) + 1
    np.testing.assert_array_equal(matrix[internal], np.asarray(row["embedding"], np.float32))
    assert int((np.abs(matrix[1:]).sum(1) == 0).sum()) == tiny.n_items_without_embedding


def test_same_seed_same_files_other_seed_other_files(tiny, tmp_path):
    again = synthetic_events(tmp_path / "a", seed=3)
    other = synthetic_events(tmp_path / "b", seed=4)
    for mine, same, different in zip(
        [*tiny.events_paths, tiny.vocabulary_path, tiny.embeddings_path],
        [*again.events_paths, again.vocabulary_path, again.embeddings_path],
        [*other.events_paths, other.vocabulary_path, other.embeddings_path],
        strict=True,
    ):
        assert pq.read_table(mine).equals(pq.read_table(same))
        assert not pq.read_table(mine).equals(pq.read_table(different))


def test_loaders_report_what_was_planted(tiny):
    log = load_event_parquets(tiny.events_paths, tiny.vocabulary_path)
    assert log.dropped["duplicate_events"] == tiny.n_duplicates
    assert log.dropped["unmapped_events"] == tiny.n_unmapped_events
    assert log.dropped["unmapped_items"] >= 1
    assert len(log.events) == 9_000 - tiny.n_unmapped_events
    data = build_sequences(log.events, log.item_ids)
    assert data.n_items == LOG_SIZES["tiny"]["n_items"]
    assert data.n_users + data.dropped_users == LOG_SIZES["tiny"]["n_users"]
    assert data.sequences.lengths.sum() == len(log.events) - data.dropped_users


def test_popularity_and_lengths_are_heavy_tailed(tiny):
    log = load_event_parquets(tiny.events_paths, tiny.vocabulary_path)
    counts = np.sort(log.events["item_id"].value_counts().to_numpy())[::-1]
    assert counts[: len(counts) // 10].sum() > 0.25 * counts.sum()  # uniform: 0.10
    lengths = log.events["user_id"].value_counts()
    assert lengths.max() > 10 * lengths.median()


def test_next_item_is_learnable(tiny):
    """Predicting each item's most frequent successor beats predicting the most popular."""
    log = load_event_parquets(tiny.events_paths, tiny.vocabulary_path)
    seqs = build_sequences(log.events, log.item_ids).sequences
    same_user = np.repeat(np.arange(len(seqs)), seqs.lengths)
    pairs = pd.DataFrame({"now": seqs.items[:-1], "next": seqs.items[1:]})
    pairs = pairs[same_user[:-1] == same_user[1:]]
    successor = pairs.groupby("now")["next"].agg(lambda s: s.value_counts().index[0])
    bigram = (pairs["now"].map(successor) == pairs["next"]).mean()
    popular = (pairs["next"] == pairs["next"].value_counts().index[0]).mean()
    assert bigram > 0.3 and bigram > 5 * popular, (bigram, popular)


def test_cli_writes_a_preset(tmp_path, capsys):
    main(["synthetic", str(tmp_path), "--preset", "tiny", "--seed", "1"])
    assert "events_marketplace.parquet" in capsys.readouterr().out
    with pytest.raises(ValueError, match="n_events=5 < n_users=10"):
        synthetic_events(tmp_path / "bad", n_users=10, n_items=100, n_events=5)
