"""The benchmark files a notebook reads (``reports/benchmark*.json``), wherever it runs.

``make bench`` and ``make bench-beauty`` take far longer than the report, so their files
are committed under ``reports/`` and the notebooks read them. ``find_benchmark`` looks in
the run's report folder, then in the checkout's ``reports/`` (a run into
``reports/amazon-beauty/`` or a temporary folder still finds them), then fetches the
committed file from the repository (a notebook opened alone on Colab has no checkout);
when all fail it says in one line what is missing and how to get it. The repository
address comes from the notebook's install cell (``REPOSITORY``), which ``make badges``
writes from ``[project.urls] Repository`` of ``pyproject.toml``, its one source.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from .artifacts import project_root

BRANCH = "main"  # the branch the Colab badges open
# the checkout this package was imported from (absent when it was installed from a wheel)
PACKAGE_CHECKOUT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 10.0


def raw_url(repository: str, name: str, branch: str = BRANCH) -> str:
    """Where GitHub serves ``reports/<name>`` of ``repository`` (``https://github.com/O/N``)."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repository)
    if match is None:
        raise ValueError(
            f"cannot fetch from {repository!r}: not https://github.com/OWNER/NAME; set "
            "[project.urls] Repository in pyproject.toml and run `make badges`"
        )
    owner, project = match.groups()
    return f"https://raw.githubusercontent.com/{owner}/{project}/{branch}/reports/{name}"


def _download(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        return response.read().decode()


def find_benchmark(
    name: str,
    report_dir: str | os.PathLike = "reports",
    repository: str | None = None,
    fetch: Callable[[str], str] = _download,
    make_target: str = "make bench",
) -> dict[str, Any] | None:
    """The benchmark file ``name`` (``benchmark_beauty.json``), or None after one printed
    line saying what is missing and how to get it.

    Looked for in ``report_dir``, then in the ``reports/`` of the checkout (the working
    folder's, or the one this package was imported from); else fetched from
    ``repository`` (GitHub) into ``report_dir``. ``make_target`` is the command that
    produces the file, named in the message.
    """
    checkouts = dict.fromkeys([project_root(), PACKAGE_CHECKOUT])
    local = [Path(report_dir) / name, *(root / "reports" / name for root in checkouts)]
    for path in local:
        if path.exists():
            return json.loads(path.read_text())
    if repository:
        try:
            url = raw_url(repository, name)
            benchmark = json.loads(fetch(url))
        except (OSError, ValueError) as error:  # URLError, HTTPError and JSON errors
            reason = f"fetching it failed ({type(error).__name__}: {error})"
        else:
            Path(report_dir).mkdir(parents=True, exist_ok=True)
            atomic_write_text(Path(report_dir) / name, json.dumps(benchmark, indent=1))
            print(f"{name}: not in this folder; fetched from {url}")
            return benchmark
    else:
        reason = "no repository address to fetch it from"
    print(
        f"{name} not found in {local[0].parent}/ and {reason}: run `{make_target}` in a "
        f"checkout, or upload the repository's reports/{name} to {local[0].parent}/ "
        "(Colab: Files pane), then run this cell again"
    )
    return None
