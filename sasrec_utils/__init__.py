"""sasrec_utils: a tested SASRec library behind the teaching notebooks.

Subpackages follow the data's journey; each one's ``__init__`` says what it offers:

- ``data``: files -> per-user sequences -> leave-one-out splits -> training windows;
- ``model``: SASRec, its losses, what its attention looks at;
- ``training``: the loop, early stopping, optimisers, checkpoints, torchrun + DDP;
- ``evaluation``: scorers and baselines, full ranking, metrics;
- ``serving``: the catalogue of ids, the ``Recommender``, bundles, insights, coherence;
- ``report``: what notebooks hand on, reproducibility, figures.

At the top: ``config`` (the one ``SASRecConfig``), ``presets`` (settings by use), ``cli``
(the ``sasrec`` command), ``atomic`` (atomic file writes), ``runtime`` (device, seeding,
memory, caller-attributed warnings).
"""

from .config import SASRecConfig

__all__ = ["SASRecConfig"]
__version__ = "0.1.0"
