"""Finished benchmark runs kept in a JSONL file, so a benchmark of many hours resumes.

``make bench-beauty`` trains for hours on two cores (its ladder alone, 10 steps x 3
seeds). Each child run that finishes is appended to the log as one line: the job (kind,
the whole config, role, where it saves weights), a fingerprint of the code that trains and
scores, and the job's result. Run again with the same log, a job whose line has the same
job *and* the same code fingerprint is read back instead of retrained (``bench.py``'s
``run_children``; a job that saves weights, only while they are on disk); a change to any
training or scoring module makes every line stale, so nothing measured by other code is
ever reused.

A line is appended whole and flushed to disk before the next job starts; a line cut short
by a crash is reported and its job run again (the other lines are kept).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from sasrec_utils.report.reproducibility import files_sha256

ROOT = Path(__file__).resolve().parent.parent
# the code a run's figures depend on: data, model, training, scoring and the job runner;
# not the presets (the job holds its whole config), the value checks, the report, serving
# or command-line modules, which never change a trained figure
COMPUTE_SOURCES = (
    "sasrec_utils/config.py",
    "sasrec_utils/runtime.py",
    "sasrec_utils/data",
    "sasrec_utils/model",
    "sasrec_utils/training",
    "sasrec_utils/evaluation",
    "benchmarks/ml100k_jobs.py",
)


def compute_fingerprint(root: Path = ROOT) -> str:
    """sha256 over the ``.py`` files of ``COMPUTE_SOURCES`` (paths and contents, sorted)."""
    files: list[Path] = []
    for source in COMPUTE_SOURCES:
        path = root / source
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files_sha256((path.relative_to(root).as_posix(), path) for path in files)


def job_key(kind: str, config: dict[str, Any], extra: dict[str, Any]) -> str:
    """One job as canonical JSON: the same job always gives the same string."""
    return json.dumps({"kind": kind, "config": config, **extra}, sort_keys=True)


class RunLog:
    """The finished runs of ``path`` measured by the current code, and appending to it."""

    def __init__(self, path: Path, fingerprint: str | None = None) -> None:
        self.path = path
        self.fingerprint = fingerprint or compute_fingerprint()
        self._results: dict[str, Any] = {}
        self.stale = 0  # lines measured by other code: kept in the file, never reused
        # a last line cut short by a crash: the next line must start on a line of its own
        self._ends_mid_line = False
        if path.exists():
            self._read()

    def _read(self) -> None:
        text = self.path.read_text()
        self._ends_mid_line = bool(text) and not text.endswith("\n")
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                print(
                    f"{self.path} line {number} was cut short (a crash?): its job runs again",
                    file=sys.stderr,
                )
                continue
            if record["code"] == self.fingerprint:
                self._results[record["job"]] = record["result"]
            else:
                self.stale += 1

    def __len__(self) -> int:
        return len(self._results)

    def get(self, key: str) -> Any | None:
        """The result logged for job ``key`` by the current code, or None."""
        return self._results.get(key)

    def add(self, key: str, result: Any) -> None:
        """Append one finished job, flushed to disk before returning."""
        self._results[key] = result
        line = json.dumps({"job": key, "code": self.fingerprint, "result": result})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as stream:
            stream.write(("\n" if self._ends_mid_line else "") + line + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        self._ends_mid_line = False
