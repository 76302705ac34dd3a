"""Serving: answers in the caller's own item ids.

``catalogue`` (external <-> internal ids, titles, popularity), ``recommend`` (the
``Recommender``), ``answers`` (argument checks and the result tables), ``bundle`` (one
file to serve from), ``insights`` (explanations, cart follow-ups), ``coherence`` (session
quality), ``columns`` (the result tables' columns).
"""

from . import coherence, insights
from .bundle import load_bundle, save_bundle
from .catalogue import Catalogue, UnknownItemsWarning
from .columns import Columns
from .recommend import PopularityFallbackWarning, Recommender, with_probability

__all__ = [
    "Catalogue",
    "Columns",
    "PopularityFallbackWarning",
    "Recommender",
    "UnknownItemsWarning",
    "coherence",
    "insights",
    "load_bundle",
    "save_bundle",
    "with_probability",
]
