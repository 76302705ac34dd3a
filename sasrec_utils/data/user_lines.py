"""One line per user: the text format of the S3-Rec / ICLRec benchmark files.

Each line holds a user id, then that user's item ids in time order, separated by spaces
(``12 5 9 9 31``: user 12 took items 5, 9, 9, 31). Many public sequential benchmarks ship
this way (Amazon Beauty, Sports, Toys, Yelp, LastFM as preprocessed by S3-Rec); any such
file loads with ``dataset="user-lines", events_paths=[path]``.

The file holds order, not time: an event's ``timestamp`` is its position in its line
(0, 1, 2, ...), so the stable sort by (timestamp, file order) keeps every user's order and
the leave-one-out split holds out each line's last item. Time-based figures of such data
(events over time) mean nothing and say so.

**Amazon Beauty** (``dataset="amazon-beauty"``): the 5-core "Beauty" reviews of McAuley et
al. (SIGIR 2015; He & McAuley, WWW 2016) as preprocessed by S3-Rec (Zhou et al., CIKM
2020) and shipped by ICLRec (Chen et al., WWW 2022): 22,363 users, 12,101 items, 198,502
events. Read from ``<data_dir>/Beauty.txt`` when present (``$SASREC_DATA_DIR`` or
``data/``), else downloaded from the ICLRec repository at a fixed commit; either way its
sha256 is checked. Its licence forbids redistribution: it is never part of this project.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import http.client
import io
import os
import re
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write_bytes
from .movielens import DOWNLOAD_TIMEOUT_S, ChecksumError, default_data_dir, file_digest

BEAUTY_FILE = "Beauty.txt"
BEAUTY_URL = (
    "https://raw.githubusercontent.com/salesforce/ICLRec/"
    "4afb54a036ebbf4166ed5858122d89c0642251a7/data/Beauty.txt"
)
BEAUTY_SHA256 = "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8"
GZIP_MAGIC = b"\x1f\x8b"
ASCII_SPACE = re.compile(r"[ \t\r\n\f\v]+")  # what separates ids on a line
PLAIN_INTEGER = re.compile(r"-?[1-9][0-9]*|0", re.ASCII)  # the one spelling of each integer


def read_user_lines(path: str | os.PathLike) -> pd.DataFrame:
    """Events ``user_id, item_id, timestamp`` of a one-line-per-user file, in file order.

    An id is its token as written: a column is ``int64`` (or ``uint64`` above 2^63) only
    when every token is a plain ASCII integer (``5``, ``-2``; not ``05``, ``1_000`` or
    ``٣``), else every token stays a string, so distinct tokens are distinct ids. A gzip
    file is decompressed; a UTF-8 byte-order mark is dropped. Blank lines
    are skipped; a user listed on two lines, a line with a user id and no item, or bytes
    that are not UTF-8 are refused naming the file and line. ``timestamp`` is the item's
    position in its line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found (one line per user expected)")
    users, items, positions, first_line = [], [], [], {}
    for number, line in _numbered_lines(path):
        tokens = _tokens(path, number, line)
        if not tokens:
            continue
        user, taken = tokens[0], tokens[1:]
        if not taken:
            raise ValueError(
                f"{path}:{number}: user {user} has no items; expected "
                "'user item item ...' on each line"
            )
        if user in first_line:
            raise ValueError(
                f"{path}:{number}: user {user} is also on line "
                f"{first_line[user]}; expected one line per user"
            )
        first_line[user] = number
        users.extend([user] * len(taken))
        items.extend(taken)
        positions.extend(range(len(taken)))
    if not users:
        raise ValueError(f"{path}: no events (the file is empty)")
    return pd.DataFrame(
        {
            "user_id": _ids(users),
            "item_id": _ids(items),
            "timestamp": np.asarray(positions, dtype=np.int64),
        }
    )


def _tokens(path: Path, number: int, line: str) -> list[str]:
    """The ids of one line, split at ASCII spaces and tabs. ``ValueError`` naming the file
    and line when a token holds another space (a no-break space, say) or a byte-order
    mark (two files joined with ``cat``): where one id ends would be a guess."""
    tokens = [token for token in ASCII_SPACE.split(line) if token]
    for token in tokens:
        odd = next((char for char in token if char.isspace() or char == "\ufeff"), None)
        if odd is not None:
            what = "a byte-order mark" if odd == "\ufeff" else "a non-ASCII space"
            raise ValueError(
                f"{path}:{number}: {token!r} holds {what} (U+{ord(odd):04X}); separate ids "
                "by spaces or tabs only, and join files as text without their marks"
            )
    return tokens


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of a UTF-8 text file, gzip-compressed or not (read by its
    first bytes, whatever its name), without a byte-order mark; lines end at ``\\n``,
    ``\\r\\n`` or ``\\r`` as in Python's text files.

    ``ValueError`` naming the file, the line and the byte when it is not UTF-8 text (a
    Latin-1 file, say) or a damaged gzip file.
    """
    data = path.read_bytes()
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: damaged gzip file ({error})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        start = error.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
        line = data.count(b"\n", 0, start) + 1
        raise ValueError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[start]:02x}); save it as UTF-8 "
            "(e.g. iconv -f latin1 -t utf-8 FILE)"
        ) from None
    yield from enumerate(io.StringIO(text, newline=None), start=1)


def _ids(tokens: list[str]) -> np.ndarray:
    """The ids of ``tokens``: exact integers when every distinct token is a plain ASCII
    integer that fits ``int64`` (or, all non-negative, ``uint64``), else the strings."""
    distinct = set(tokens)
    if all(PLAIN_INTEGER.fullmatch(token) for token in distinct):
        values = [int(token) for token in distinct]
        for dtype in (np.int64, np.uint64):
            limits = np.iinfo(dtype)
            if limits.min <= min(values) and max(values) <= limits.max:
                return np.array([int(token) for token in tokens], dtype=dtype)
    return np.array(tokens, dtype=object)


def amazon_beauty_path(data_dir: str | os.PathLike | None = None) -> Path:
    """``Beauty.txt`` in the data folder, downloaded there first when absent.

    Its sha256 must be ``BEAUTY_SHA256``: a download that differs is never written, and a
    local file that differs is refused (``ChecksumError``) but left in place.
    """
    path = default_data_dir(data_dir) / BEAUTY_FILE
    if path.exists():
        _check_beauty(file_digest(path), str(path))
        return path
    try:
        with urllib.request.urlopen(BEAUTY_URL, timeout=DOWNLOAD_TIMEOUT_S) as response:
            payload = response.read()
    except (OSError, http.client.HTTPException) as error:  # IncompleteRead: cut off
        raise FileNotFoundError(
            f"{path}: not found, and the download from {BEAUTY_URL} failed "
            f"({type(error).__name__}: {error}); nothing was written. Run again to retry, "
            "or put the S3-Rec/ICLRec Beauty.txt there (or SASREC_DATA_DIR=its folder)"
        ) from error
    _check_beauty(hashlib.sha256(payload).hexdigest(), BEAUTY_URL)
    return atomic_write_bytes(path, payload)


def _check_beauty(found: str, source: str) -> None:
    if found != BEAUTY_SHA256:
        raise ChecksumError(
            f"{source}: sha256 is {found}, expected {BEAUTY_SHA256} (the S3-Rec/ICLRec "
            "Beauty.txt); another file of this format loads with dataset='user-lines'"
        )


def load_amazon_beauty(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Amazon Beauty events (``user_id, item_id, timestamp`` = position), checksum-checked."""
    return read_user_lines(amazon_beauty_path(data_dir))
