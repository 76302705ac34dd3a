"""Several seeds trained side by side, one process each, where a CPU has cores to spare.

A training run on a CPU takes the physical cores less one (``runtime.training_threads``):
on a 2-core machine, one thread, and the second core stays mostly idle while the seeds
train one after another. Here each seed trains in its own spawned process with its own
threads, so the seeds of notebook 03 share the cores (up to two processes per core).
Each run is the same as on its own: ``train_final`` with the same config and seed, on the
same number of threads.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from ..config import SASRecConfig
from ..data.prepared import PreparedData
from ..runtime import physical_cores, resolve_device
from ..training.final_model import FinalModel, train_final
from .progress import epoch_lines

SEED_LOG_FILE = "training-log.txt"


def seed_processes(cfg: SASRecConfig, n_seeds: int) -> int:
    """How many seeds train at once: up to two per physical core, at most ``n_seeds``.

    One per core leaves a core idle while the last seeds train alone (seeds stop at
    different epochs, and three seeds on two cores leave the third to train alone after
    the first two): sharing a core costs little instead (on the 2-core CPU, three
    one-thread Amazon Beauty epochs side by side took 16.2 s of wall time per epoch, two
    side by side 15.8 s). One (the seeds in turn) on an accelerator, on a single core,
    or where the threads are fixed by ``cfg.num_threads`` or ``OMP_NUM_THREADS`` (a run
    sized by hand stays as sized).
    """
    fixed_threads = cfg.num_threads > 0 or bool(os.environ.get("OMP_NUM_THREADS"))
    cores = physical_cores()
    if n_seeds < 2 or cores < 2 or fixed_threads or resolve_device(cfg.device).type != "cpu":
        return 1
    return min(n_seeds, 2 * cores)


def threads_per_process(processes: int) -> int:
    """Torch threads of each of ``processes`` seed processes: the cores less one per
    process (its data path), shared out, at least one."""
    return max(1, (physical_cores() - processes) // processes)


def train_in_processes(
    jobs: list[tuple[SASRecConfig, Path]],
    prepared: PreparedData,
    processes: int,
    threads: int,
    resume: bool = False,
) -> list[FinalModel]:
    """``train_final(cfg, prepared, out)`` of each ``(cfg, out)`` job, ``processes`` at a
    time in spawned processes of ``threads`` torch threads; results in the order of
    ``jobs``.

    Each run prints its epoch lines to the terminal and to ``out/training-log.txt``. The
    configs are not changed (``num_threads`` stays as given): the threads are set as
    ``OMP_NUM_THREADS`` of each process, which the training's thread rule keeps.
    """
    context = multiprocessing.get_context("spawn")  # fork would copy torch's thread pool
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        futures = [
            pool.submit(_train_logged, cfg.to_dict(), prepared, str(out), threads, resume)
            for cfg, out in jobs
        ]
        return [future.result() for future in futures]


def _train_logged(
    config: dict, prepared: PreparedData, out: str, threads: int, resume: bool
) -> FinalModel:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    cfg = SASRecConfig.from_dict(config)
    with epoch_lines(Path(out) / SEED_LOG_FILE):
        return train_final(cfg, prepared, out, progress="lines", resume=resume)
