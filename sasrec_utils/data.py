"""Loading interaction logs: MovieLens-100k/1M and the retail parquet layout.

Every loader returns events as a ``pd.DataFrame`` with columns ``user_id, item_id,
timestamp`` (+ ``rating`` for MovieLens) in file order; ``sasrec_utils.sequences`` turns
that into compact per-user sequences. Downloads are verified by checksum and written
atomically, so a failed or tampered download never leaves a file behind.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .config import SASRecConfig
from .io import atomic_write_bytes

log = logging.getLogger(__name__)

GROUPLENS = "https://files.grouplens.org/datasets/movielens"
# GroupLens publishes MD5 checksums next to its zips (ml-100k.zip.md5, ml-1m.zip.md5).
ML100K_ZIP_MD5 = "0e33842e24a9c977be4e0107933c0723"
ML1M_ZIP_MD5 = "c4d9eecfca2ab87c1945afe126590906"
RECBOLE_WHEEL = "recbole-1.2.1-py3-none-any.whl"
RECBOLE_WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
DOWNLOAD_TIMEOUT_S = 5.0
EVENT_COLUMNS = ["user_id", "item_id", "timestamp"]
ML100K_GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


class ChecksumError(ValueError):
    """A downloaded file's checksum does not match the published one."""


def default_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$SASREC_DATA_DIR``, else ``./data``."""
    return Path(data_dir or os.environ.get("SASREC_DATA_DIR", "data"))


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: str, algorithm: str = "sha256") -> None:
    """Raise ``ChecksumError`` and delete ``path`` if its digest is not ``expected``."""
    found = file_digest(path, algorithm)
    if found != expected:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"{path.name}: {algorithm} is {found}, expected {expected}; the file was deleted. "
            "Download it again or supply the official file."
        )


def download(url: str, dest: Path, md5: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest`` (atomically), check its MD5, return ``dest``."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        payload = response.read()
    atomic_write_bytes(dest, payload)
    verify_checksum(dest, md5, "md5")
    return dest


# ---------------------------------------------------------------- MovieLens-100k


def _ml100k_grouplens(root: Path) -> Path | None:
    """Path of an extracted official ``ml-100k/`` folder, downloading it if needed."""
    folder = root / "ml-100k"
    if (folder / "u.data").exists():
        return folder
    zip_path = root / "ml-100k.zip"
    try:
        if not zip_path.exists():
            download(f"{GROUPLENS}/ml-100k.zip", zip_path, ML100K_ZIP_MD5)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
    except (OSError, zipfile.BadZipFile) as error:
        log.info("GroupLens download unavailable (%s); trying the offline fallback", error)
        return None
    return folder


def _ml100k_recbole(root: Path) -> Path:
    """Folder with ``ml-100k.inter``/``.item`` taken from the recbole 1.2.1 wheel on PyPI.

    The wheel is fetched with ``pip download`` (package registries are reachable where
    GroupLens is not), its sha256 checked, and only the data files are extracted; recbole
    itself is never installed.
    """
    folder = root / "ml-100k-recbole"
    if (folder / "ml-100k.inter").exists():
        return folder
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "recbole==1.2.1",
            "-d",
            tmp,
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=300)
        except (subprocess.SubprocessError, OSError) as error:
            raise RuntimeError(
                "Could not obtain MovieLens-100k: GroupLens is unreachable and "
                f"`pip download recbole==1.2.1` failed ({error}). Download ml-100k.zip from "
                f"{GROUPLENS}/ml-100k.zip and unzip it into {root}/ (giving {root}/ml-100k/u.data)."
            ) from error
        wheel = Path(tmp) / RECBOLE_WHEEL
        verify_checksum(wheel, RECBOLE_WHEEL_SHA256)
        with zipfile.ZipFile(wheel) as archive:
            for suffix in ("inter", "item"):
                member = f"recbole/dataset_example/ml-100k/ml-100k.{suffix}"
                atomic_write_bytes(folder / f"ml-100k.{suffix}", archive.read(member))
    return folder


def ml100k_source(data_dir: str | os.PathLike | None = None) -> Path:
    """Folder holding ML-100k: official files if reachable, else the recbole copy."""
    root = default_data_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    if (root / "ml-100k-recbole" / "ml-100k.inter").exists():
        return root / "ml-100k-recbole"
    return _ml100k_grouplens(root) or _ml100k_recbole(root)


def load_ml100k(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """MovieLens-100k ratings in file order: ``user_id, item_id, timestamp, rating``.

    100,000 rows, 943 users, 1,682 items (Harper & Konstan, 2015).
    """
    folder = ml100k_source(data_dir)
    names = ["user_id", "item_id", "rating", "timestamp"]
    if (folder / "u.data").exists():
        frame = pd.read_csv(folder / "u.data", sep="\t", names=names)
    else:
        frame = pd.read_csv(folder / "ml-100k.inter", sep="\t", header=0, names=names)
    frame = frame.astype({"user_id": "int64", "item_id": "int64", "timestamp": "int64"})
    return frame[["user_id", "item_id", "timestamp", "rating"]]


def load_ml100k_items(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Movie metadata: ``item_id, title, genres`` (genres joined with ``|``)."""
    folder = ml100k_source(data_dir)
    if (folder / "u.item").exists():
        raw = pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1")
        flags = raw.iloc[:, 5:24].to_numpy(dtype=bool)
        genres = [
            "|".join(g for g, on in zip(ML100K_GENRES, row, strict=False) if on) for row in flags
        ]
        return pd.DataFrame({"item_id": raw[0].astype("int64"), "title": raw[1], "genres": genres})
    raw = pd.read_csv(folder / "ml-100k.item", sep="\t", header=0, dtype=str, keep_default_na=False)
    raw.columns = ["item_id", "movie_title", "release_year", "class"]
    year = raw["release_year"].where(raw["release_year"] != "", "n/a")
    return pd.DataFrame(
        {
            "item_id": raw["item_id"].astype("int64"),
            "title": raw["movie_title"] + " (" + year + ")",
            "genres": raw["class"].str.replace(" ", "|"),
        }
    )


# ---------------------------------------------------------------- MovieLens-1M


def _ml1m_folder(path_or_dir: str | os.PathLike | None) -> Path:
    """Folder holding ``ratings.dat``: the path itself, its parent, or ``<dir>/ml-1m``.

    When nothing is found locally the official zip is downloaded into the data dir.
    """
    given = Path(path_or_dir) if path_or_dir is not None else None
    if given is not None and given.is_file():
        given = given.parent
    root = default_data_dir(given)
    for folder in (root, root / "ml-1m"):
        if (folder / "ratings.dat").exists():
            return folder
    root.mkdir(parents=True, exist_ok=True)
    zip_path = root / "ml-1m.zip"
    try:
        if not zip_path.exists():
            download(f"{GROUPLENS}/ml-1m.zip", zip_path, ML1M_ZIP_MD5)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
    except (OSError, zipfile.BadZipFile) as error:
        raise RuntimeError(
            f"No ratings.dat in {root} and MovieLens-1M could not be downloaded ({error}). "
            f"Download {GROUPLENS}/ml-1m.zip, unzip it, and pass the folder holding ratings.dat."
        ) from error
    return root / "ml-1m"


def load_ml1m(path_or_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """MovieLens-1M ``ratings.dat`` (``::``-separated): ``user_id, item_id, timestamp, rating``."""
    folder = _ml1m_folder(path_or_dir)
    frame = pd.read_csv(
        folder / "ratings.dat",
        sep="::",
        engine="python",
        header=None,
        names=["user_id", "item_id", "rating", "timestamp"],
    )
    return frame[["user_id", "item_id", "timestamp", "rating"]].astype(
        {"user_id": "int64", "item_id": "int64", "timestamp": "int64"}
    )


def load_ml1m_items(path_or_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """MovieLens-1M ``movies.dat`` as ``item_id, title, genres``."""
    folder = _ml1m_folder(path_or_dir)
    return pd.read_csv(
        folder / "movies.dat",
        sep="::",
        engine="python",
        header=None,
        encoding="latin-1",
        names=["item_id", "title", "genres"],
    )


# ---------------------------------------------------------------- retail parquet layout


@dataclass
class EventLog:
    """Events read from the retail layout, with what was dropped and why.

    ``item_ids`` is the vocabulary's item order (``None`` without a vocabulary).
    """

    events: pd.DataFrame
    item_ids: np.ndarray | None = None
    dropped: dict[str, int] = field(default_factory=dict)


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


def _numeric_timestamps(values: pd.Series, source: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.isna().any():
            raise ValueError(f"{source}: {int(values.isna().sum())} missing timestamp(s)")
        return values.astype("int64").to_numpy()
    numeric = pd.to_numeric(values, errors="coerce")
    bad = int(numeric.isna().sum())
    if bad:
        examples = values[numeric.isna()].head(3).tolist()
        raise ValueError(
            f"{source}: {bad} timestamp(s) are missing or not numeric, e.g. {examples}; "
            "timestamps must be numbers (e.g. Unix seconds) or datetimes"
        )
    return numeric.to_numpy()


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
    if not paths:
        raise ValueError("no event files given: pass one or more parquet paths")
    tables = []
    for path in map(Path, paths):
        table = _read_parquet_table(path, EVENT_COLUMNS)
        for column in ("user_id", "item_id"):
            if table.column(column).null_count:
                raise ValueError(f"{path}: {table.column(column).null_count} missing {column}(s)")
        stamps = _numeric_timestamps(table.column("timestamp").to_pandas(), str(path))
        position = table.schema.get_field_index("timestamp")
        tables.append(table.set_column(position, "timestamp", pa.array(stamps)))
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise ValueError(
            f"the event files {[str(p) for p in paths]} store a column with different types "
            f"({error}); write user_id and item_id with one type in every file"
        ) from error
    del tables
    if table.num_rows == 0:
        raise ValueError(f"no events in {[str(p) for p in paths]}: the files have no rows")
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


# ---------------------------------------------------------------- one entry point


def load_events(cfg: SASRecConfig) -> EventLog:
    """Events of the dataset ``cfg`` names (MovieLens or the retail layout)."""
    if cfg.dataset == "ml-100k":
        return EventLog(load_ml100k(cfg.data_dir))
    if cfg.dataset == "ml-1m":
        return EventLog(load_ml1m(cfg.data_dir))
    return load_event_parquets(cfg.events_paths, cfg.vocabulary_path)


def load_item_metadata(cfg: SASRecConfig) -> pd.DataFrame | None:
    """``item_id, title, genres`` for MovieLens; ``None`` for the retail layout."""
    if cfg.dataset == "ml-100k":
        return load_ml100k_items(cfg.data_dir)
    if cfg.dataset == "ml-1m":
        return load_ml1m_items(cfg.data_dir)
    return None


from .synthetic import synthetic_events as synthetic_events  # noqa: E402  (the generator's home)
