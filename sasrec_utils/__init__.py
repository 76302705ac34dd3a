"""sasrec_utils: a tested SASRec library behind the teaching notebooks.

Modules follow the data's journey: ``data`` (load files) -> ``sequences`` (compact
sequences, splits, batches) -> ``dataset`` (config to prepared data) -> ``model`` ->
``losses`` / ``train`` -> ``metrics`` -> ``checkpoint`` -> ``recommend`` -> ``plots``.
"""

from .config import SASRecConfig

__all__ = ["SASRecConfig"]
__version__ = "0.1.0"
