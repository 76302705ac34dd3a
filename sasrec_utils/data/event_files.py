"""The retail layout: event parquets, an item vocabulary and optional item vectors.

What a retail team hands over: parquet files of ``user_id, item_id, timestamp`` events,
``item_vocabulary.parquet`` (``item_id, index``) fixing the catalogue and its order, and
``item_embeddings.parquet`` (``item_id`` + a vector per item). Ids are read as Arrow
dictionary codes, never one Python string per event, so millions of events fit in a few
hundred MB.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

log = logging.getLogger(__name__)

EVENT_COLUMNS = ["user_id", "item_id", "timestamp"]
MAX_LISTED_ROWS = 10


@dataclass
class EventLog:
    """Events read from the retail layout, with what was dropped and why.

    ``item_ids`` is the vocabulary's item order (``None`` without a vocabulary).
    """

    events: pd.DataFrame
    item_ids: np.ndarray | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dropped = {reason: int(count) for reason, count in self.dropped.items()}


def _read_parquet_table(path: Path, columns: list[str]) -> pa.Table:
    """Only ``columns`` of a parquet file, after checking the file and the columns exist."""
    import pyarrow.parquet as pq

    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: file is empty (0 bytes)")
    try:
        schema_names = pq.read_schema(path).names
    except Exception as error:  # pyarrow raises ArrowInvalid/OSError for non-parquet files
        raise ValueError(f"{path}: not a readable parquet file ({error})") from error
    missing = [c for c in columns if c not in schema_names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found columns {schema_names}")
    return pq.read_table(path, columns=columns)


def _read_parquet_columns(path: Path, columns: list[str]) -> pd.DataFrame:
    return _read_parquet_table(path, columns).to_pandas()


NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
EPOCH_UNIT_BOUNDS = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))  # Unix times 1973 to 5138
MIN_EPOCH = 1e8  # 1973-03-03 in seconds: smaller numbers are counters, not Unix times
DATETIME = "datetimes"  # the unit of a file of datetimes, read as nanoseconds
COUNTER = "counters"  # numbers too small to be Unix times in any unit


def _numeric_timestamps(column: pa.ChunkedArray, source: str) -> tuple[np.ndarray, str]:
    """(n,) numeric timestamps of one file and their unit.

    Datetimes (of any Arrow unit, or dates) become int64 nanoseconds, unit ``datetimes``;
    numbers keep their values, their unit guessed from their size (``s``, ``ms``, ``us``,
    ``ns`` of a Unix time, else ``counters``).
    """
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        if column.null_count:
            raise ValueError(f"{source}: {column.null_count} missing timestamp(s)")
        nanoseconds = column.cast(pa.timestamp("ns", getattr(column.type, "tz", None)))
        return nanoseconds.cast(pa.int64()).to_numpy(), DATETIME
    values = column.to_pandas()
    numeric = pd.to_numeric(values, errors="coerce")
    bad = int(numeric.isna().sum())
    if bad:
        examples = values[numeric.isna()].head(3).tolist()
        raise ValueError(
            f"{source}: {bad} timestamp(s) are missing or not numeric, e.g. {examples}; "
            "timestamps must be numbers (e.g. Unix seconds) or datetimes"
        )
    numbers = numeric.to_numpy()
    return numbers, _epoch_unit(numbers)


def _epoch_unit(numbers: np.ndarray) -> str:
    """``s``, ``ms``, ``us`` or ``ns``: the unit in which the median is a Unix time."""
    size = float(np.median(np.abs(numbers))) if len(numbers) else 0.0
    if size < MIN_EPOCH:
        return COUNTER
    return next((unit for bound, unit in EPOCH_UNIT_BOUNDS if size < bound), "ns")


def _one_time_unit(stamps: list[np.ndarray], units: list[str], paths: list[Path]) -> list:
    """Every file's timestamps in one unit: as they are when all files share one,
    else nanoseconds; files of counters among Unix times are refused, naming the units."""
    found = [(path, unit) for path, unit, v in zip(paths, units, stamps, strict=True) if len(v)]
    if len({unit for _, unit in found}) <= 1:  # a file without rows has no unit
        return stamps
    listed = ", ".join(f"{path} in {unit}" for path, unit in found)
    if any(unit == COUNTER for _, unit in found):
        raise ValueError(
            f"the event files store timestamps in different units ({listed}); counters "
            "cannot be put in time order with Unix times or datetimes: write every file's "
            "timestamps in one unit (Unix seconds, ms, us, ns, or datetimes)"
        )
    converted = []
    for values, unit in zip(stamps, units, strict=True):
        scale = NS_PER_UNIT.get(unit, 1)  # datetimes are nanoseconds already
        if np.issubdtype(values.dtype, np.integer):
            converted.append(values.astype(np.int64) * scale)
        else:
            converted.append(np.round(values * scale).astype(np.int64))
    log.warning("timestamps converted to nanoseconds to order the files in one time: %s", listed)
    return converted


def _release_arrow_memory() -> None:
    """Hand Arrow's freed buffers back to the system.

    Arrow's allocator keeps freed memory for reuse: after reading the retail log that is
    ~600 MB of resident memory no one uses while the model trains.
    """
    pa.default_memory_pool().release_unused()


def _dictionary_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(n,) int32 codes and the (k,) distinct values they index, hashed by Arrow.

    Ids are never turned into one Python string per event: 9.2M events cost 37 MB of
    codes per column plus one copy of each distinct id.
    """
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.indices.to_numpy(), encoded.dictionary.to_numpy(zero_copy_only=False)


def _sorted_categorical(codes: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """``values[codes]`` as a categorical whose categories are the used values, sorted."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(values)))
    order = np.argsort(values[used], kind="stable")
    new_code = np.full(len(values), -1, dtype=np.int32)
    new_code[used[order]] = np.arange(len(used), dtype=np.int32)
    return pd.Categorical.from_codes(new_code[codes], categories=values[used[order]])


def _duplicated(users: np.ndarray, items: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """(n,) bool: the event repeats an earlier one exactly (the first occurrence stays)."""
    pair = (users.astype(np.int64) << 32) | items.astype(np.int64)
    order = np.lexsort((timestamps, pair))  # stable: equal events keep file order
    later, earlier = order[1:], order[:-1]
    same = (pair[later] == pair[earlier]) & (timestamps[later] == timestamps[earlier])
    duplicate = np.zeros(len(order), dtype=bool)
    duplicate[later] = same
    return duplicate


def _read_event_tables(paths: list[Path]) -> pa.Table:
    """The ``user_id, item_id, timestamp`` columns of all files, numeric timestamps in one
    unit, checked."""
    if not paths:
        raise ValueError("no event files given: pass one or more parquet paths")
    tables, stamps, units = [], [], []
    for path in paths:
        table = _read_parquet_table(path, EVENT_COLUMNS)
        for column in ("user_id", "item_id"):
            if table.column(column).null_count:
                raise ValueError(f"{path}: {table.column(column).null_count} missing {column}(s)")
        values, unit = _numeric_timestamps(table.column("timestamp"), str(path))
        tables.append(table)
        stamps.append(values)
        units.append(unit)
    for index, values in enumerate(_one_time_unit(stamps, units, paths)):
        position = tables[index].schema.get_field_index("timestamp")
        tables[index] = tables[index].set_column(position, "timestamp", pa.array(values))
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise ValueError(
            f"the event files {[str(p) for p in paths]} store a column with different types "
            f"({error}); write user_id and item_id with one type in every file"
        ) from error
    if table.num_rows == 0:
        raise ValueError(f"no events in {[str(p) for p in paths]}: the files have no rows")
    return table


def load_event_parquets(
    paths: list[str | os.PathLike] | str | os.PathLike,
    vocabulary_path: str | os.PathLike | None = None,
) -> EventLog:
    """Read event parquets (only ``user_id, item_id, timestamp``) and map to a vocabulary.

    Exact duplicate events are dropped; events whose item is absent from the vocabulary
    are dropped. Both counts are returned in ``EventLog.dropped`` and logged. The ids come
    back as pandas categoricals (int32 codes; categories: the vocabulary in index order for
    items, sorted ids otherwise), so millions of events fit in a few hundred MB.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    table = _read_event_tables([Path(p) for p in paths])
    users, user_values = _dictionary_codes(table.column("user_id"))
    items, item_values = _dictionary_codes(table.column("item_id"))
    timestamps = table.column("timestamp").to_numpy()
    del table
    _release_arrow_memory()
    keep = ~_duplicated(users, items, timestamps)
    dropped = {"duplicate_events": int(len(keep) - keep.sum())}
    item_ids = None
    if vocabulary_path is None:
        item_column = _sorted_categorical(items[keep], item_values)
    else:
        vocab = _read_parquet_columns(Path(vocabulary_path), ["item_id", "index"])
        for column in ("item_id", "index"):
            rows = np.flatnonzero(vocab[column].isna().to_numpy())
            if len(rows):
                raise ValueError(
                    f"{vocabulary_path}: {len(rows)} row(s) have no {column} (null), rows "
                    f"{rows[:MAX_LISTED_ROWS].tolist()}; give every item an id and an index, "
                    "or remove those rows"
                )
        if vocab["item_id"].duplicated().any():
            raise ValueError(f"{vocabulary_path}: item_id values repeat in the vocabulary")
        item_ids = vocab.sort_values("index", kind="stable")["item_id"].to_numpy()
        position = pd.Index(item_ids).get_indexer(item_values)[items]  # (n,) -1: unknown
        unknown = keep & (position < 0)
        dropped["unmapped_events"] = int(unknown.sum())
        dropped["unmapped_items"] = np.count_nonzero(np.bincount(items[unknown]))
        keep &= ~unknown
        if not keep.any():
            raise ValueError(
                f"none of the events' item_ids are in {vocabulary_path}; check that the "
                "vocabulary belongs to these event files"
            )
        item_column = pd.Categorical.from_codes(position[keep], categories=item_ids)
    events = pd.DataFrame(
        {
            "user_id": _sorted_categorical(users[keep], user_values),
            "item_id": item_column,
            "timestamp": timestamps[keep],
        }
    )
    for reason, count in dropped.items():
        if count:
            log.warning("dropped %d %s", count, reason.replace("_", " "))
    return EventLog(events=events, item_ids=item_ids, dropped=dropped)


def _list_matrix(column: pa.ChunkedArray, path: Path) -> np.ndarray:
    """(n, d) float32 matrix of a list column of equal-length vectors, copied once."""
    import pyarrow.compute as pc

    column = column.combine_chunks()
    if column.null_count:
        raise ValueError(f"{path}: {column.null_count} item(s) have no embedding (null)")
    if pa.types.is_fixed_size_list(column.type):
        width = column.type.list_size
    else:
        lengths = pc.list_value_length(column).to_numpy()
        width = int(lengths[0]) if len(lengths) else 0
        if (lengths != width).any():
            raise ValueError(
                f"{path}: embeddings have different lengths ({lengths.min()} to "
                f"{lengths.max()}); every item needs a vector of the same width"
            )
    values = column.flatten().to_numpy(zero_copy_only=False)
    return values.astype(np.float32, copy=False).reshape(len(column), width)


def load_item_embeddings(
    path: str | os.PathLike, item_ids: np.ndarray, dim: int | None = None
) -> np.ndarray:
    """A ``(n_items + 1, d)`` float32 matrix aligned to internal ids (row 0 = padding).

    ``item_ids[i]`` is the original id of internal id ``i + 1``. Rows are matched by
    ``item_id``, never by file order. The file holds ``item_id`` and either one list
    column ``embedding`` or numeric columns. Items without a vector get zeros (counted
    in a warning); no match at all or a wrong width raises ``ValueError``.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: file not found")
    table = pq.read_table(path)
    if "item_id" not in table.column_names:
        raise ValueError(f"{path}: no item_id column; found {table.column_names}")
    if "embedding" in table.column_names:
        vectors = _list_matrix(table.column("embedding"), path)
    else:
        vectors = table.drop_columns(["item_id"]).to_pandas().to_numpy(dtype=np.float32)
    if dim is not None and vectors.shape[1] != dim:
        raise ValueError(f"{path}: embeddings have dimension {vectors.shape[1]}, expected {dim}")
    file_ids = table.column("item_id").to_numpy(zero_copy_only=False)
    del table
    position = pd.Index(file_ids).get_indexer(item_ids)
    found = position >= 0
    if not found.any():
        raise ValueError(
            f"{path}: none of its {len(file_ids)} item_ids match the {len(item_ids)} items of "
            f"the data (file ids like {file_ids[:3].tolist()}, data ids like "
            f"{list(item_ids[:3])})"
        )
    if not found.all():
        log.warning(
            "%d of %d items have no pretrained embedding; they start at zero",
            int((~found).sum()),
            len(item_ids),
        )
    matrix = np.zeros((len(item_ids) + 1, vectors.shape[1]), dtype=np.float32)
    matrix[1:][found] = vectors[position[found]]
    del vectors  # may be a view of Arrow's buffer
    _release_arrow_memory()
    return matrix
