"""Column names of the tables the serving layer returns, defined once."""

from __future__ import annotations


class Columns:
    """Names of result columns; ``RECOMMENDATIONS`` is the order ``Recommender`` returns."""

    QUERY = "query"  # which request a row answers (``recommend_batch``)
    ITEM = "item_id"  # the original (external) item id
    SCORE = "score"  # the model's score: a logit, or a cosine for ``similar_items``
    RANK = "rank"  # 1 = best
    TITLE = "title"
    GENRES = "genres"
    SOURCE = "source"  # "model" or "popularity" (the empty-history fallback)
    PROBABILITY = "probability"  # softmax of the scores over every listed item
    POSITION = "position"  # index of an item in the history it came from
    WEIGHT = "weight"  # last-layer attention weight (``insights.explain``)
    SCORE_DROP = "score_drop"  # score lost when one history item is removed

    METADATA = (TITLE, GENRES)
    RECOMMENDATIONS = (ITEM, SCORE, RANK, TITLE, GENRES, SOURCE)
