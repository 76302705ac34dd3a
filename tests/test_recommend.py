"""Serving: exclusions, unknown ids, fallback, batching, bundles, upsell, embeddings, explain."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sasrec_utils.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from sasrec_utils.config import SASRecConfig
from sasrec_utils.model import SASRec
from sasrec_utils.recommend import (
    PopularityFallbackWarning,
    Recommender,
    UnknownItemsWarning,
)

N_ITEMS = 12
ITEM_IDS = np.arange(101, 101 + N_ITEMS)  # original ids differ from internal ids 1..12
POPULARITY = np.array([0, 5, 9, 1, 9, 3, 0, 7, 2, 8, 4, 6, 1])  # by internal id; 2 ties 4


@pytest.fixture
def cfg() -> SASRecConfig:
    return SASRecConfig(max_len=5, hidden_dim=8, n_layers=2, n_heads=2, dropout=0.0, device="cpu")


@pytest.fixture
def items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ITEM_IDS,
            "title": [f"Film {i}" for i in ITEM_IDS],
            "genres": ["Drama" if i % 2 else "Comedy" for i in ITEM_IDS],
        }
    )


@pytest.fixture
def rec(cfg, items) -> Recommender:
    torch.manual_seed(0)
    model = SASRec(N_ITEMS, cfg)
    with torch.no_grad():  # spread the random init so scores are far from ties
        for parameter in model.parameters():
            parameter.normal_(0, 0.5)
        model.item_emb.weight[0] = 0
    return Recommender.from_training(model, cfg, ITEM_IDS, items, POPULARITY)


def set_item_table(rec: Recommender, rows: dict[int, list[float]]) -> None:
    """Give original items hand-made embeddings (the first dims; other dims and items 0)."""
    with torch.no_grad():
        table = rec.model.item_emb.weight
        table.zero_()
        for item, vector in rows.items():
            table[item - 100, : len(vector)] = torch.tensor(vector)


def test_exclusions_remove_seen_and_explicit_items_and_never_padding(rec):
    history, banned = [103, 107, 103, 111], [102, 112, 999]
    frame = rec.recommend(history, k=N_ITEMS, exclude=banned)
    assert set(frame["item_id"]).isdisjoint(history + banned)
    assert sorted(frame["item_id"]) == sorted(set(ITEM_IDS) - {103, 107, 111, 102, 112})
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert frame["score"].is_monotonic_decreasing
    assert list(frame.columns) == ["item_id", "score", "rank", "title", "genres", "source"]
    assert (frame["title"] == [f"Film {i}" for i in frame["item_id"]]).all()
    with_seen = rec.recommend(history, k=N_ITEMS, exclude_seen=False)
    assert len(with_seen) == N_ITEMS and {103, 107, 111} <= set(with_seen["item_id"])


def test_k_larger_than_candidates_returns_every_candidate(rec):
    frame = rec.recommend([101, 102], k=50)
    assert len(frame) == N_ITEMS - 2
    assert rec.recommend(list(ITEM_IDS), k=3).empty


def test_only_recent_max_len_items_feed_the_model_but_all_are_excluded(rec):
    history = [101, 102, 103, 104, 105, 106, 107]  # max_len = 5
    full = rec.recommend(history, k=N_ITEMS)
    recent = rec.recommend(history[-5:], k=N_ITEMS, exclude=history[:-5])
    pd.testing.assert_frame_equal(full, recent)
    assert set(full["item_id"]).isdisjoint(history)
    with torch.no_grad():  # the model sees internal ids 3..7, right-aligned
        direct = rec.model.score_last(torch.tensor([[3, 4, 5, 6, 7]]))[0]
    np.testing.assert_allclose(full["score"], direct[full["item_id"] - 100], rtol=1e-5)


def test_unknown_ids_are_warned_about_and_skipped(rec):
    with pytest.warns(UnknownItemsWarning, match=r"2 item id\(s\).*999.*'x'"):
        frame = rec.recommend([101, 999, 104, "x"], k=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = rec.recommend([101, 104], k=4)
    pd.testing.assert_frame_equal(frame, expected)


@pytest.mark.filterwarnings("ignore::sasrec_utils.recommend.UnknownItemsWarning")
@pytest.mark.parametrize("history", [[], [998, 999]])
def test_empty_or_unknown_history_falls_back_to_popularity(rec, history):
    with pytest.warns(PopularityFallbackWarning, match="most popular"):
        frame = rec.recommend(history, k=4, exclude=[109])
    # by count: 102 and 104 tie at 9 (lower id first), 109 (8) is excluded, then 107, 111
    assert frame["item_id"].tolist() == [102, 104, 107, 111]
    assert frame["score"].tolist() == [9, 9, 7, 6]
    assert (frame["source"] == "popularity").all()


def test_fallback_without_popularity_says_what_to_pass(rec, cfg):
    bare = Recommender.from_training(rec.model, cfg, ITEM_IDS)
    with pytest.raises(ValueError, match="item_popularity"), warnings.catch_warnings():
        warnings.simplefilter("ignore", PopularityFallbackWarning)
        bare.recommend([], k=3)


def test_batch_equals_single(rec):
    histories = [[101], [105, 103], [], list(ITEM_IDS[:9]), [999, 110, 104, 104]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = rec.recommend_batch(histories, k=4, batch_size=3)
        singles = [rec.recommend(history, k=4) for history in histories]
    assert batch["query"].tolist() == [q for q, s in enumerate(singles) for _ in range(len(s))]
    for query, single in enumerate(singles):
        rows = batch[batch["query"] == query].drop(columns="query").reset_index(drop=True)
        assert rows["item_id"].tolist() == single["item_id"].tolist()
        np.testing.assert_allclose(rows["score"], single["score"], rtol=1e-5, atol=1e-6)
        assert rows["source"].tolist() == single["source"].tolist()
    keyed = rec.recommend_batch({"ann": [101], "bob": [105, 103]}, k=2)
    assert keyed["query"].tolist() == ["ann", "ann", "bob", "bob"]


def test_bundle_round_trip_gives_identical_results(rec, tmp_path):
    path = rec.save(tmp_path / "bundle.pt")
    assert load_checkpoint(path)["titles"][0] == "Film 101"  # plain data, weights_only
    loaded = Recommender.load(path)
    histories = [[101, 105, 103], [112], list(ITEM_IDS[:8])]
    pd.testing.assert_frame_equal(loaded.recommend_batch(histories), rec.recommend_batch(histories))
    np.testing.assert_array_equal(loaded.popularity, POPULARITY)
    with pytest.warns(PopularityFallbackWarning):
        pd.testing.assert_frame_equal(loaded.recommend([]), rec.recommend([]))
    pd.testing.assert_frame_equal(loaded.similar_items(104), rec.similar_items(104))


def test_training_checkpoint_loads_with_metadata_given(rec, cfg, items, tmp_path):
    path = save_checkpoint(tmp_path / "best.pt", rec.model, cfg, ITEM_IDS, epoch=3, history=[])
    loaded = Recommender.load(path, items=items[["item_id", "title"]], popularity=POPULARITY[1:])
    assert loaded.titles is not None and loaded.genres is None
    np.testing.assert_array_equal(loaded.popularity, POPULARITY)
    expected = rec.recommend([101, 102]).drop(columns="genres")
    pd.testing.assert_frame_equal(loaded.recommend([101, 102]), expected)


def test_missing_corrupt_truncated_and_mismatched_files_raise_clearly(rec, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        Recommender.load(tmp_path / "absent.pt")
    (tmp_path / "garbage.pt").write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        Recommender.load(tmp_path / "garbage.pt")
    payload = rec.save(tmp_path / "bundle.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        Recommender.load(tmp_path / "cut.pt")
    state = load_checkpoint(tmp_path / "bundle.pt")
    torch.save({**state, "titles": state["titles"][:-1]}, tmp_path / "titles.pt")
    with pytest.raises(CheckpointError, match=f"titles should be a list of {N_ITEMS}"):
        Recommender.load(tmp_path / "titles.pt")
    torch.save({**state, "item_ids": state["item_ids"][:-1]}, tmp_path / "ids.pt")
    with pytest.raises(CheckpointError, match="item ids for"):
        Recommender.load(tmp_path / "ids.pt")
    torch.save({**state, "bundle": "someone-else/9"}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="bundle format"):
        Recommender.load(tmp_path / "foreign.pt")


def test_failed_save_leaves_the_existing_bundle_unchanged(rec, tmp_path, monkeypatch):
    path = rec.save(tmp_path / "bundle.pt")
    before = path.read_bytes()

    def dies_mid_write(state, stream):
        stream.write(b"half a bundle")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dies_mid_write)
    with torch.no_grad():
        rec.model.item_emb.weight.add_(1.0)  # the bundle would differ if it were written
    with pytest.raises(OSError, match="disk full"):
        rec.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.pt"]  # no temp file left


def test_cart_upsell_probabilities_sum_to_one_and_follow_scores(rec):
    frame = rec.cart_upsell([103, 104], k=4)
    assert len(frame) == 4 and set(frame["item_id"]).isdisjoint([103, 104])
    assert frame["probability"].sum() == pytest.approx(1.0)
    expected = np.exp(frame["score"]) / np.exp(frame["score"]).sum()
    np.testing.assert_allclose(frame["probability"], expected)
    top = frame.iloc[0]
    assert top["message"] == (
        f"Customers with this cart often add {top['title']} ({top['probability']:.0%})"
    )
    with pytest.warns(PopularityFallbackWarning):
        popular = rec.cart_upsell([], k=3)
    np.testing.assert_allclose(popular["probability"], np.array([9, 9, 8]) / 26)


def test_reengagement_uses_the_last_items_and_excludes_the_whole_history(rec):
    history = [101, 102, 103, 104, 105, 106]
    frame = rec.reengagement(history, last_n=2)
    expected = rec.recommend([105, 106], k=1, exclude=history)
    pd.testing.assert_frame_equal(frame, expected)
    assert len(rec.reengagement(history, last_n=50)) == 1


def test_session_quality_labels_on_hand_made_embeddings(rec):
    set_item_table(
        rec,
        {
            101: [1, 0],
            102: [2, 0],  # same direction as 101: cosine 1
            103: [0, 1],  # orthogonal to 101
            104: [0.3, math.sqrt(1 - 0.09)],  # cosine 0.3 with 101
            105: [-1, 0],  # opposite to 101
        },
    )
    high = rec.session_quality([101, 102, 101])  # repeats count once
    assert (high.label, high.n_items) == ("HIGH", 2) and high.score == pytest.approx(1.0)
    medium = rec.session_quality([101, 104])
    assert medium.label == "MEDIUM" and medium.score == pytest.approx(0.3)
    third = rec.session_quality([101, 102, 103])  # pairs: 1, 0, 0
    assert third.label == "MEDIUM" and third.score == pytest.approx(1 / 3)
    low = rec.session_quality([101, 103, 105])  # pairs: 0, -1, 0
    assert low.label == "LOW" and low.score == pytest.approx(-1 / 3)
    for history in ([], [101], [101, 101]):
        assert rec.session_quality(history) == (type(low)(0.0, "LOW", len(set(history))))


def test_similar_items_on_hand_made_embeddings(rec):
    set_item_table(
        rec,
        {101: [1, 0], 102: [3, 0.3], 103: [0.5, 0.5], 104: [0.2, 2], 105: [-1, 0.1]},
    )
    frame = rec.similar_items(101, k=3)
    assert frame["item_id"].tolist() == [102, 103, 104]
    expected = [3 / math.hypot(3, 0.3), 0.5**0.5, 0.2 / math.hypot(0.2, 2)]
    np.testing.assert_allclose(frame["similarity"], expected, rtol=1e-6)
    every = rec.similar_items(101, k=50)
    assert len(every) == N_ITEMS - 1 and 101 not in set(every["item_id"])
    assert every["item_id"].iloc[-1] == 105  # the opposite direction comes last
    with pytest.raises(ValueError, match="not in the model's catalogue"):
        rec.similar_items(5)


def test_explain_weights_sum_to_one_and_cover_the_history(rec):
    history = [101, 999, 105, 103, 108]
    with pytest.warns(UnknownItemsWarning):
        frame = rec.explain(history, 110)
    assert frame["position"].tolist() == [0, 2, 3, 4]
    assert frame["item_id"].tolist() == [101, 105, 103, 108]
    assert frame["title"].tolist() == ["Film 101", "Film 105", "Film 103", "Film 108"]
    assert frame["weight"].sum() == pytest.approx(1.0) and (frame["weight"] > 0).all()
    seq = torch.tensor([[1, 5, 3, 8]])
    with torch.no_grad():
        _, attention = rec.model(seq, return_attention=True)
    np.testing.assert_allclose(frame["weight"], attention[-1][0, :, -1].mean(0), rtol=1e-5)
    scores = rec.recommend([101, 105, 103, 108], k=N_ITEMS, exclude_seen=False)
    score = scores.loc[scores["item_id"] == 110, "score"].item()
    assert frame.attrs["score"] == pytest.approx(score, rel=1e-5)
    without_103 = rec.recommend([101, 105, 108], k=N_ITEMS, exclude_seen=False)
    dropped = score - without_103.loc[without_103["item_id"] == 110, "score"].item()
    assert frame.loc[frame["item_id"] == 103, "score_drop"].item() == pytest.approx(dropped, 1e-4)


def test_explain_keeps_the_last_max_len_items_and_refuses_nothing_to_explain(rec):
    frame = rec.explain(list(ITEM_IDS[:8]), 112)
    assert frame["position"].tolist() == [3, 4, 5, 6, 7]  # max_len = 5
    assert np.isnan(rec.explain([101], 112)["score_drop"]).all()
    with pytest.raises(ValueError, match="at least one known item"):
        rec.explain([], 112)


def test_bad_arguments_are_named(rec):
    with pytest.raises(TypeError, match="wrap a single id in a list"):
        rec.recommend("101")
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        rec.recommend([101], k=0)
    with pytest.raises(ValueError, match="12 items"):
        Recommender.from_training(rec.model, rec.cfg, ITEM_IDS[:5])
