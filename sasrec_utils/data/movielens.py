"""MovieLens-100k and -1M: download (checksum-verified), offline fallback, readers.

ML-100k comes from GroupLens when it is reachable (its published MD5 checked), else from
the ``recbole==1.2.1`` wheel on PyPI (sha256 checked; only the data files are read from
it, recbole itself is never installed). Readers return events as a ``pd.DataFrame`` with
``user_id, item_id, timestamp, rating`` in file order. Downloads are written atomically,
so a failed or tampered download never leaves a file behind.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd

from ..atomic import atomic_write_bytes

log = logging.getLogger(__name__)

GROUPLENS = "https://files.grouplens.org/datasets/movielens"
# GroupLens publishes MD5 checksums next to its zips (ml-100k.zip.md5, ml-1m.zip.md5).
ML100K_ZIP_MD5 = "0e33842e24a9c977be4e0107933c0723"
ML1M_ZIP_MD5 = "c4d9eecfca2ab87c1945afe126590906"
RECBOLE_WHEEL = "recbole-1.2.1-py3-none-any.whl"
RECBOLE_WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
DOWNLOAD_TIMEOUT_S = 5.0
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
    """Download ``url`` to ``dest`` (atomically), check its MD5, return ``dest``.

    A connection cut mid-body (``http.client.IncompleteRead``) is an ``OSError`` naming
    the URL and ``dest``, like any other network failure; nothing is written.
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload = response.read()
    except http.client.HTTPException as error:
        raise OSError(
            f"{url}: download cut off ({type(error).__name__}: {error}); nothing was written "
            f"to {dest}. Run again to retry, or put the file there yourself"
        ) from error
    atomic_write_bytes(dest, payload)
    verify_checksum(dest, md5, "md5")
    return dest


def _fetch_and_extract(root: Path, name: str, md5: str) -> None:
    """Extract GroupLens's zip ``name`` into ``root``, downloading it first if absent."""
    zip_path = root / name
    if not zip_path.exists():
        download(f"{GROUPLENS}/{name}", zip_path, md5)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root)


# ---------------------------------------------------------------- MovieLens-100k


def _ml100k_grouplens(root: Path) -> Path | None:
    """Path of an extracted official ``ml-100k/`` folder, downloading it if needed."""
    folder = root / "ml-100k"
    if (folder / "u.data").exists():
        return folder
    try:
        _fetch_and_extract(root, "ml-100k.zip", ML100K_ZIP_MD5)
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
    try:
        _fetch_and_extract(root, "ml-1m.zip", ML1M_ZIP_MD5)
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
