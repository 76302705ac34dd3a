"""The catalogue: id mapping, unknown ids, typed titles, popularity order, immutability."""

import numpy as np
import pandas as pd
import pytest

from sasrec_utils.serving.catalogue import Catalogue, UnknownItemsWarning


def test_ids_map_both_ways_and_unknown_ids_map_to_zero():
    catalogue = Catalogue(np.array([10, 20, 30, 40]))
    assert catalogue.to_internal([40, 99, 10]).tolist() == [4, 0, 1]
    assert catalogue.to_external(np.array([2, 3])).tolist() == [20, 30]
    with pytest.warns(UnknownItemsWarning, match=r"1 item id\(s\).*99"):
        positions, internal = catalogue.known_positions(np.array([30, 99, 10]))
    assert positions.tolist() == [0, 2] and internal.tolist() == [3, 1]
    with pytest.raises(ValueError, match="not in the model's catalogue of 4 items"):
        catalogue.require(99)


def test_catalogue_is_immutable_and_copies_its_inputs():
    ids = np.array([1, 2, 3])
    catalogue = Catalogue.from_metadata(ids, popularity=np.array([5, 1, 7]))
    ids[0] = 99
    assert catalogue.item_ids.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="read-only"):
        catalogue.popularity[1] = 0
    with pytest.raises(AttributeError):
        catalogue.item_ids = ids
    assert catalogue.popularity.tolist() == [0, 5, 1, 7]
    order, counts = catalogue.popular(np.array([3]), k=5)
    assert order.tolist() == [1, 2] and counts.tolist() == [5.0, 1.0]


def test_names_are_titles_when_known_else_ids():
    items = pd.DataFrame({"item_id": ["a", "b"], "title": ["Alpha", None]})
    catalogue = Catalogue.from_metadata(np.array(["a", "b", "c"]), items)
    assert catalogue.names([1, 2, 3]) == ["Alpha", "b", "c"]


def test_resolve_items_accepts_ids_titles_and_parts_of_titles():
    items = pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4],
            "title": ["Alien (1979)", "Aliens (1986)", "Toy Story (1995)", "Fargo (1996)"],
        }
    )
    catalogue = Catalogue.from_metadata(np.array([1, 2, 3, 4]), items)
    assert catalogue.resolve([3, "alien (1979)", "toy story", "Fargo"]) == [
        3,
        1,
        3,
        4,
    ]
    with pytest.raises(ValueError, match="matches 2 titles"):
        catalogue.resolve(["Alien"])
    with pytest.raises(ValueError, match=r"close titles: \['Fargo \(1996\)'\]"):
        catalogue.resolve(["Fargo (1997)"])
    with pytest.raises(ValueError, match="no titles to search"):
        Catalogue(np.array(["sku_1"])).resolve(["sku_9"])


def test_genre_share_counts_listed_items_that_share_a_genre_with_the_session():
    items = pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4],
            "title": ["a", "b", "c", "d"],
            "genres": ["Drama|War", "Comedy", "War", None],
        }
    )
    catalogue = Catalogue.from_metadata(np.array([1, 2, 3, 4]), items)
    assert catalogue.genre_share([1], [2, 3, 4]) == pytest.approx(1 / 3)  # only 3 (War)
    assert catalogue.genre_share([1, 2], [2, 3]) == 1.0
    assert np.isnan(catalogue.genre_share([1], []))
    assert np.isnan(Catalogue(np.array([1, 2])).genre_share([1], [2]))
