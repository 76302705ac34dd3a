"""Facts about a run: which device, how many CPU threads, seeding, peak memory, request
latency (``timed_ms``); warnings attributed to the caller outside the package."""

from __future__ import annotations

import inspect
import os
import random
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an unavailable explicit choice raises."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is visible; use device='auto' or 'cpu'")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' but MPS is not available; use device='auto' or 'cpu'")
    return torch.device(name)


def physical_cores() -> int:
    """Physical CPU cores this process may run on (logical CPUs / hyper-threads per core)."""
    if hasattr(os, "sched_getaffinity"):
        logical = len(os.sched_getaffinity(0))  # a container's or taskset's share
    else:
        logical = os.cpu_count() or 1
    return max(1, logical // _threads_per_core())


def _threads_per_core() -> int:
    """Hyper-threads per physical core, from Linux's ``/proc/cpuinfo`` (1 where unknown)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 1
    siblings = re.search(r"^siblings\s*:\s*(\d+)", text, re.MULTILINE)
    cores = re.search(r"^cpu cores\s*:\s*(\d+)", text, re.MULTILINE)
    if siblings is None or cores is None or int(cores.group(1)) == 0:
        return 1
    return max(1, int(siblings.group(1)) // int(cores.group(1)))


def training_threads(num_threads: int) -> tuple[int, str]:
    """The CPU threads torch should use for training, and why.

    ``num_threads`` > 0 is used as given; ``0`` (auto) keeps ``OMP_NUM_THREADS`` when it is
    set, else takes the physical cores less one, which the data path (batches, the
    Python loop) needs, shared by the processes torchrun starts on this machine: on a
    shared 2-core machine two threads ran an epoch several times slower than one.
    """
    if num_threads > 0:
        return num_threads, f"num_threads={num_threads}"
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads(), f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    cores = physical_cores()
    processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    why = f"auto: {cores} core(s), one left for the data path"
    if processes > 1:
        why += f", shared by {processes} processes"
    return max(1, (cores - 1) // processes), why


def use_threads(num_threads: int = 0) -> tuple[int, str]:
    """Set torch's CPU threads for this process by the training rule
    (``training_threads``), and return them with why. Every entry point calls it (training,
    ``Recommender``, ``benchmarks/latency.py``): with torch's default of one thread per
    core, a loaded 2-core machine served one request ~47x slower than with one thread."""
    threads, why = training_threads(num_threads)
    torch.set_num_threads(threads)
    return threads, why


def start_line(device: torch.device, threads: int, why: str, out: Path | None) -> str:
    """The line a training run prints first: device, CPU threads, where checkpoints go."""
    kept = (
        f"checkpoints in {out}"
        if out is not None
        else "no checkpoint is kept (out_dir=None): an interrupted run loses its training; "
        "pass out_dir to keep best.pt and last.pt"
    )
    plural = "" if threads == 1 else "s"
    return f"training on {device} with {threads} CPU thread{plural} ({why}); {kept}"


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process so far, in MiB (NaN where unknown: Windows);
    ``children``: of the largest process it started and waited for (0 if none)."""
    try:
        import resource
    except ImportError:
        return float("nan")
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss  # KiB on Linux, B on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def resident_mib() -> float:
    """Resident memory of this process now, in MiB (Linux ``/proc``; NaN elsewhere)."""
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return float("nan")
    pages = int(statm.read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_memory(device: str | torch.device) -> dict[str, Any]:
    """Peak memory so far: torch's GPU allocations on CUDA, else the process's peak RSS."""
    device = torch.device(device)
    if device.type == "cuda":
        mib = torch.cuda.max_memory_allocated(device) / 2**20
        return {"device": str(device), "what": "peak GPU memory allocated by torch", "MiB": mib}
    own, child = peak_rss_mib(), peak_rss_mib(children=True)
    if child > own:  # seeds trained in their own processes (report.seed_pool)
        what = "peak resident memory of the largest training process"
        return {"device": str(device), "what": what, "MiB": child}
    return {"device": str(device), "what": "peak resident memory of this process", "MiB": own}


def timed_ms(call: Callable[[Any], object], arguments: Sequence[Any]) -> np.ndarray:
    """(n,) milliseconds of ``call(argument)`` for each argument, one after the other."""
    times = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        times.append((time.perf_counter() - started) * 1000)
    return np.array(times)


def latency_summary(milliseconds: Sequence[float]) -> pd.DataFrame:
    """Per-request latency percentiles of ``timed_ms``'s figures, and requests per second."""
    ms = np.asarray(milliseconds, dtype=float)
    return pd.DataFrame(
        {
            "requests": [len(ms)],
            "p50_ms": [np.percentile(ms, 50)],
            "p95_ms": [np.percentile(ms, 95)],
            "p99_ms": [np.percentile(ms, 99)],
            "mean_ms": [ms.mean()],
            "requests_per_s": [1000 / ms.mean()],
        }
    )


_PACKAGE = Path(__file__).resolve().parent  # sasrec_utils/


def warn_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` attributed to the first caller outside this package."""
    frame, level = inspect.currentframe(), 1
    while frame is not None and _PACKAGE in Path(frame.f_code.co_filename).resolve().parents:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
