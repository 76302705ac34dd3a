"""sasrec_utils: a tested SASRec library behind the teaching notebooks.

Modules follow the data's journey:

- load: ``movielens``, ``event_files`` (the retail parquet layout), ``loading`` (a config
  to an ``EventLog``), ``synthetic`` (generated retail-layout logs);
- sequences: ``sequences`` (compact per-user sequences), ``splits`` (leave-one-out),
  ``prepared`` (config -> ready-to-train data), ``batches`` (training windows);
- model: ``model``, ``losses``;
- train: ``train``, ``checkpoint``, ``distributed`` (torchrun + DDP);
- evaluate: ``scorers``, ``evaluation`` (full ranking), ``metrics``;
- serve: ``catalogue``, ``recommend``, ``bundle``, ``insights``, ``columns``;
- report: ``artifacts`` (what notebooks hand on), ``runinfo``, ``reproducibility``,
  ``plots``.

One ``config.SASRecConfig`` travels the whole way; ``presets`` names settings by use and
``cli`` is the ``sasrec`` command.
"""

from .config import SASRecConfig

__all__ = ["SASRecConfig"]
__version__ = "0.1.0"
