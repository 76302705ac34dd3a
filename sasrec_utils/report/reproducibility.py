"""The reproducibility block every notebook ends with: what produced this report.

Seed, device, threads, the data's hash, versions, the code (git commit and a hash of the
package's and notebooks' sources, which identifies the code even with uncommitted
changes or outside a checkout), the finishing time and the config.
"""

from __future__ import annotations

import hashlib
import html
import json
import platform
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from ..config import SASRecConfig
from .artifacts import project_root

PACKAGES = ("sasrec_utils", "torch", "numpy", "pandas", "pyarrow", "matplotlib")
_PACKAGE = Path(__file__).resolve().parents[1]  # sasrec_utils/


@dataclass
class Reproducibility:
    """What produced a report: seed, versions, device, data hash, code, config, wall time."""

    facts: dict[str, str]
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.facts, "config": self.config}

    def __str__(self) -> str:
        lines = [f"{key}: {value}" for key, value in self.facts.items()]
        return "\n".join([*lines, "config: " + json.dumps(self.config, sort_keys=True)])

    def changed_settings(self) -> dict[str, Any]:
        """The config fields whose value differs from ``SASRecConfig()``'s."""
        defaults = SASRecConfig().to_dict()
        return {k: v for k, v in self.config.items() if k not in defaults or v != defaults[k]}

    def _repr_html_(self) -> str:
        """Folded: a one-line summary; the facts and the changed settings inside."""
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.facts.items()
        )
        changed = self.changed_settings()
        config = (
            html.escape(json.dumps(changed, indent=1, sort_keys=True), quote=False)
            if changed
            else "none: every setting is SASRecConfig()'s default"
        )
        summary = (
            f"Reproducibility: seed {self.facts.get('seed', 'n/a')}, "
            f"{self.facts.get('device', '')}, code {self.facts.get('code commit', 'n/a')}, "
            f"{len(changed)} setting(s) changed from the defaults (click to open)"
        )
        return (
            f"<details><summary>{html.escape(summary)}</summary><table>{rows}</table>"
            f"<p>Settings that differ from <code>SASRecConfig()</code> (the whole config is "
            f"in <code>metrics.json</code> and the checkpoints):</p><pre>{config}</pre>"
            "</details>"
        )


def source_fingerprint(root: Path | None = None) -> str:
    """sha256 over the package's ``.py`` files and, in a checkout, ``notebooks/*.py``.

    Paths and contents in sorted order, so the same sources give the same hash anywhere.
    """
    files = sorted(_PACKAGE.rglob("*.py"))
    notebooks = (root or project_root()) / "notebooks"
    files += sorted(notebooks.glob("*.py")) if notebooks.is_dir() else []
    return files_sha256(
        (path.relative_to(_PACKAGE.parent) if _PACKAGE in path.parents else path.name, path)
        for path in files
    )


def files_sha256(named_files: Iterable[tuple[str | Path, Path]]) -> str:
    """sha256 over each ``(name, path)`` in the order given: the name, a newline, then the
    file's bytes (a renamed file changes the hash as an edited one does)."""
    digest = hashlib.sha256()
    for name, path in named_files:
        digest.update(f"{name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        module = sys.modules.get(package)
        return getattr(module, "__version__", "not installed")


# What produced a report; the rendered reports/ (written while the report runs) are not.
CODE_PATHS = ("sasrec_utils", "notebooks", "tools", "Makefile", "pyproject.toml")


def _git_commit(folder: Path) -> str:
    def git(*args: str) -> str:
        command = ["git", "-C", str(folder), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=5, check=True)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
    except (OSError, subprocess.SubprocessError):
        return "n/a (not a git checkout)"
    return f"{head} (uncommitted changes to the code)" if dirty else head


def _mixed_precision(cfg: SASRecConfig | None, device: torch.device) -> str:
    """Whether ``cfg.amp`` takes effect: autocast runs on CUDA only."""
    if cfg is None or not cfg.amp:
        return "off"
    return "on" if cfg.amp_on(device.type) else "off (amp is used on CUDA only)"


def reproducibility(
    cfg: SASRecConfig | None,
    data_sha256: str | None,
    device: str | torch.device,
    started: float,
) -> Reproducibility:
    """The block every notebook ends with; ``started`` is ``time.time()`` at its start."""
    device = torch.device(device)
    device_text = str(device)
    if device.type == "cuda":
        device_text += f" ({torch.cuda.get_device_name(device)})"
    root = project_root()
    facts = {
        "seed": str(cfg.seed) if cfg is not None else "n/a",
        "device": device_text,
        "mixed precision": _mixed_precision(cfg, device),
        "torch threads": str(torch.get_num_threads()),
        "data sha256": data_sha256 or "n/a",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": ", ".join(f"{p} {_version(p)}" for p in PACKAGES),
        "code commit": _git_commit(root),
        "code sha256": source_fingerprint(root),
        "finished (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "wall time": f"{time.time() - started:.1f} s",
    }
    return Reproducibility(facts, cfg.to_dict() if cfg is not None else {})
