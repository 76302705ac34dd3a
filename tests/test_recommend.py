"""Serving: exclusions, unknown ids, fallback, batching, upsell, similar items."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sasrec_utils.serving.catalogue import UnknownItemsWarning
from sasrec_utils.serving.recommend import PopularityFallbackWarning, Recommender, with_probability

from .conftest import ITEM_IDS, N_ITEMS, set_item_table


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


@pytest.mark.filterwarnings("ignore::sasrec_utils.serving.catalogue.UnknownItemsWarning")
@pytest.mark.parametrize("history", [[], [998, 999]])
def test_empty_or_unknown_history_falls_back_to_popularity(rec, history):
    with pytest.warns(PopularityFallbackWarning, match="most popular"):
        frame = rec.recommend(history, k=4, exclude=[109])
    # by count: 102 and 104 tie at 9 (lower id first), 109 (8) is excluded, then 107, 111
    assert frame["item_id"].tolist() == [102, 104, 107, 111]
    assert frame["score"].tolist() == [9, 9, 7, 6]
    assert (frame["source"] == "popularity").all()


def test_fallback_without_popularity_says_what_to_pass(rec, serving_cfg):
    bare = Recommender.from_training(rec.model, serving_cfg, ITEM_IDS)
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


def test_cart_upsell_probabilities_sum_to_one_and_follow_scores(rec):
    frame = rec.cart_upsell([103, 104], k=4)
    assert len(frame) == 4 and set(frame["item_id"]).isdisjoint([103, 104])
    assert frame["probability"].sum() == pytest.approx(1.0)
    expected = np.exp(frame["score"]) / np.exp(frame["score"]).sum()
    np.testing.assert_allclose(frame["probability"], expected)
    with pytest.warns(PopularityFallbackWarning):
        popular = rec.cart_upsell([], k=3)
    np.testing.assert_allclose(popular["probability"], np.array([9, 9, 8]) / 26)


def test_reengagement_uses_the_last_items_and_excludes_the_whole_history(rec):
    history = [101, 102, 103, 104, 105, 106]
    frame = rec.reengagement(history, last_n=2)
    expected = rec.recommend([105, 106], k=1, exclude=history)
    pd.testing.assert_frame_equal(frame, expected)
    assert len(rec.reengagement(history, last_n=50)) == 1


def test_similar_items_on_hand_made_embeddings(rec):
    set_item_table(
        rec,
        {101: [1, 0], 102: [3, 0.3], 103: [0.5, 0.5], 104: [0.2, 2], 105: [-1, 0.1]},
    )
    frame = rec.similar_items(101, k=3)
    assert frame["item_id"].tolist() == [102, 103, 104]
    expected = [3 / math.hypot(3, 0.3), 0.5**0.5, 0.2 / math.hypot(0.2, 2)]
    np.testing.assert_allclose(frame["score"], expected, rtol=1e-6)
    assert list(frame.columns) == ["item_id", "score", "rank", "title", "genres"]
    every = rec.similar_items(101, k=50)
    assert len(every) == N_ITEMS - 1 and 101 not in set(every["item_id"])
    assert every["item_id"].iloc[-1] == 105  # the opposite direction comes last
    with pytest.raises(ValueError, match="not in the model's catalogue"):
        rec.similar_items(5)


def test_bad_arguments_are_named(rec):
    with pytest.raises(TypeError, match=r"history must be a collection of item ids.*\['101'\]"):
        rec.recommend("101")
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        rec.recommend([101], k=0)
    with pytest.raises(ValueError, match="12 items"):
        Recommender.from_training(rec.model, rec.cfg, ITEM_IDS[:5])


def test_with_probability_is_a_softmax_over_rows():
    ranked = pd.DataFrame({"item_id": [7, 8, 9], "score": [2.0, 1.0, 0.0]})
    out = with_probability(ranked)
    expected = np.exp([2.0, 1.0, 0.0]) / np.exp([2.0, 1.0, 0.0]).sum()
    np.testing.assert_allclose(out["probability"], expected)
    assert "probability" not in ranked  # the input is not modified


@pytest.mark.parametrize("kind", [list, tuple, set, np.array, pd.Series, pd.Index])
def test_exclude_takes_any_iterable_of_ids(rec, kind):
    banned = kind([104, 109, 999])  # 999 is unknown: ignored
    expected = rec.recommend([101, 102], k=N_ITEMS, exclude=[104, 109])
    assert len(expected) == N_ITEMS - 4 and not {101, 102, 104, 109} & set(expected["item_id"])
    single = rec.recommend([101, 102], k=N_ITEMS, exclude=banned)
    batch = rec.recommend_batch([[101, 102]], k=N_ITEMS, exclude=banned).drop(columns="query")
    upsell = rec.cart_upsell([101, 102], k=N_ITEMS, exclude=banned).drop(columns="probability")
    for frame in (single, batch, upsell):
        pd.testing.assert_frame_equal(frame, expected)


@pytest.mark.parametrize(
    "empty", [np.array([]), np.array([], dtype=np.int64), pd.Series([], dtype=object), set()]
)
def test_an_empty_exclude_excludes_nothing(rec, empty):
    expected = rec.recommend([101, 102], k=N_ITEMS)
    pd.testing.assert_frame_equal(rec.recommend([101, 102], k=N_ITEMS, exclude=empty), expected)
    batch = rec.recommend_batch({"u": [101, 102]}, k=N_ITEMS, exclude=empty)
    pd.testing.assert_frame_equal(batch.drop(columns="query"), expected)
    upsell = rec.cart_upsell([101, 102], k=3, exclude=empty).drop(columns="probability")
    pd.testing.assert_frame_equal(upsell, expected.head(3))


def test_nan_scores_are_refused_not_served(rec):
    """topk ranks NaN first and a NaN model leaves no finite score: both used to serve."""
    with torch.no_grad():
        rec.model.item_emb.weight[4, 0] = float("nan")  # item 104: one NaN score per query
    with pytest.raises(RuntimeError, match=r"^recommend: 1 of 13 scores are NaN or inf"):
        rec.recommend([101, 102])
    with pytest.raises(RuntimeError, match=r"^recommend: 2 of 26 scores are NaN or inf"):
        rec.recommend_batch([[101], [102, 103]])
    with pytest.raises(RuntimeError, match="diverged"):
        rec.cart_upsell([101])
    with pytest.raises(RuntimeError, match="diverged"):
        rec.reengagement([101, 102])
    with pytest.raises(RuntimeError, match=r"^similar_items\(101\): 1 of 13 scores"):
        rec.similar_items(101)
    with torch.no_grad():
        for parameter in rec.model.parameters():
            parameter.fill_(float("nan"))  # the NaN model: it returned zero rows
    with pytest.raises(RuntimeError, match=r"^recommend: 13 of 13 scores are NaN or inf"):
        rec.recommend([101, 102], k=10)


def test_candidates_limit_answers_to_an_allow_list_or_a_predicate(rec):
    allowed = [105, 106, 107, 999]  # an unknown id is ignored
    frame = rec.recommend([101, 102], k=10, candidates=allowed)
    assert set(frame["item_id"]) == {105, 106, 107}
    assert frame["score"].is_monotonic_decreasing
    odd = rec.recommend([101, 102], k=10, candidates=lambda item: item % 2 == 1)
    assert set(odd["item_id"]) == {i for i in range(103, 113) if i % 2 == 1}
    batch = rec.recommend_batch([[101], [104]], k=3, candidates=np.array(allowed))
    assert set(batch["item_id"]) <= {105, 106, 107} and batch["query"].tolist() == [0] * 3 + [1] * 3
    with pytest.warns(PopularityFallbackWarning):
        popular = rec.recommend([], k=2, candidates=allowed)
    assert popular["item_id"].tolist() == [107, 105]  # counts 7, 3 among the allowed
    same = rec.recommend([101, 102], k=3, candidates=allowed)["item_id"].tolist()
    unfiltered = rec.recommend([101, 102], k=12)["item_id"].tolist()
    assert same == [i for i in unfiltered if i in allowed][:3]  # the same order, filtered
    with pytest.raises(ValueError, match="candidates allow no item"):
        rec.recommend([101], candidates=[999])
    with pytest.raises(TypeError, match="candidates must be a collection of item ids"):
        rec.recommend([101], candidates="105")


def test_most_popular_excludes_the_history_and_never_warns(rec):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = rec.most_popular([102], k=3)
    assert frame["item_id"].tolist() == [104, 109, 107]  # counts 9, 8, 7; 102 seen
    assert (frame["source"] == "popularity").all() and frame["rank"].tolist() == [1, 2, 3]


def test_versus_popular_sets_both_lists_side_by_side(rec):
    frame = rec.versus_popular([102], k=3)
    model = rec.recommend([102], k=3)["title"].tolist()
    assert frame["model"].tolist() == model
    assert frame["most-popular"].tolist() == ["Film 104", "Film 109", "Film 107"]
    assert frame.attrs["overlap"] == len(set(model) & {"Film 104", "Film 109", "Film 107"})
    assert set(frame.attrs["genre_share"]) == {"model", "most-popular"}


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda rec: rec.recommend([101], exclude=105), "exclude"),
        (lambda rec: rec.recommend([101], candidates=105), "candidates"),
        (lambda rec: rec.recommend(101), "history"),
        (lambda rec: rec.recommend_batch([[101], 102]), "history of query 1"),
        (lambda rec: rec.recommend_batch({"u7": 103}), "history of query 'u7'"),
        (lambda rec: rec.cart_upsell(101), "cart"),
        (lambda rec: rec.most_popular(101), "history"),
    ],
)
def test_one_id_where_a_list_belongs_names_the_parameter(rec, call, name):
    with pytest.raises(TypeError) as error:
        call(rec)
    message = str(error.value)
    assert message.startswith(f"{name} must be a collection of item ids, got the single value")
    assert "pass a list, e.g. [" in message


def test_a_catalogue_with_a_repeated_id_is_refused(rec):
    """[7000, 7000, ...] would give 7000 two indices: recommend([7000]) could return it."""
    item_ids = [7000, 7000, *range(7001, 7001 + N_ITEMS - 2)]
    with pytest.raises(ValueError, match=r"7000 at positions 0 and 1"):
        Recommender.from_training(rec.model, rec.cfg, item_ids)
