"""Where training's epoch lines go while a notebook runs: the cell, the terminal, a file.

Under ``make report`` (papermill) a notebook's output reaches the terminal only when the
notebook ends; ``epoch_lines`` also writes each line to the terminal that started the
kernel as it is printed, so a long training shows its epochs there, and optionally to a
log file (notebook 03 keeps its report short and the full log in ``artifacts/``).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd


class _Fanout(io.TextIOBase):
    """A text stream writing everything to each of ``streams``."""

    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)


class _Descriptor(io.TextIOBase):
    """A text stream writing straight to a file descriptor (not captured by the kernel)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, text: str) -> int:
        os.write(self.fd, text.encode())
        return len(text)


def kernel_terminal() -> io.TextIOBase | None:
    """The terminal that started this Jupyter kernel (papermill's), or None outside one.

    ipykernel sends what is written to the process's stderr into the cell as well; its
    copy of the original descriptor reaches the terminal only.
    """
    fd = getattr(sys.stderr, "_original_stdstream_copy", None)
    return _Descriptor(fd) if isinstance(fd, int) else None


@contextlib.contextmanager
def epoch_lines(log: str | os.PathLike | None = None, cell: bool = True) -> Iterator[None]:
    """Printed lines go to the cell (``cell``), the kernel's terminal, and ``log`` (a file
    rewritten from empty) while the block runs."""
    streams = [sys.stdout] if cell else []
    terminal = kernel_terminal()
    if terminal is not None:
        streams.append(terminal)
    with contextlib.ExitStack() as stack:
        if log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            streams.append(stack.enter_context(open(log, "w")))
        stack.enter_context(contextlib.redirect_stdout(_Fanout(*streams)))
        yield


DIGEST_COLUMNS = ("train_loss", "valid_hr@10", "valid_ndcg@10", "seconds")


def epoch_digest(history: pd.DataFrame, best_epoch: int, rows: int = 6) -> pd.DataFrame:
    """One run's ``history`` in at most ``rows`` + 1 epochs: the first and the last, evenly
    spaced ones between, and the kept one (marked in ``kept``); indexed by epoch, with the
    ``DIGEST_COLUMNS`` the history has."""
    positions = np.unique(np.linspace(0, len(history) - 1, rows).round().astype(int))
    picks = set(history["epoch"].iloc[positions]) | {best_epoch}
    columns = ["epoch", *(c for c in DIGEST_COLUMNS if c in history)]
    digest = history.loc[history["epoch"].isin(picks), columns].set_index("epoch")
    digest["kept"] = np.where(digest.index == best_epoch, "kept", "")
    return digest
