"""`make report` on shopping data: a quick run of all five notebooks on Amazon Beauty.

``make report PRESET=shopping DATASET=amazon-beauty EPOCHS=1 N_SEEDS=1`` into a temporary
folder, the data read from ``../shared/data/Beauty.txt`` beside the checkout (never copied
in): every notebook must run on Beauty with the ``shopping`` preset, the pages must say
which run they are, and README.md and ``reports/`` must be left exactly as they were (only
a default run into ``reports/`` rewrites them). Where the file is missing the test skips,
unless ``SASREC_REQUIRE_REAL_DATA=1`` (set by ``.ci/run``) makes that a failure.

Measured: 5 min 51 s for this file on 2 CPU cores (pytest, both tests; notebooks 01: 6 s,
02: 5 s, 03: 61 s, 04: 150 s, 05: 83 s), with the other jobs on the machine mostly idle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sasrec_utils.report.contracts import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
QUICK_RUN = ("PRESET=shopping", "DATASET=amazon-beauty", "EPOCHS=1", "N_SEEDS=1")

pytestmark = [pytest.mark.slow, pytest.mark.real_data]


def checksums(*paths: Path) -> dict[str, str]:
    """sha256 of every file under ``paths`` (files or folders), by path."""
    files = [
        f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*"))) if f.is_file()
    ]
    return {str(f.relative_to(ROOT)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def page_text(path: Path) -> str:
    """What a reader sees of an HTML report: its text without tags."""
    return re.sub(r"<[^>]+>", " ", path.read_text())


@pytest.fixture(scope="module")
def beauty_run(tmp_path_factory) -> Path:
    if not (SHARED_DATA / "Beauty.txt").exists():
        if os.environ.get("SASREC_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"{SHARED_DATA / 'Beauty.txt'} missing; SASREC_REQUIRE_REAL_DATA=1")
        pytest.skip(f"{SHARED_DATA / 'Beauty.txt'} not here")
    folder = tmp_path_factory.mktemp("beauty")
    before = checksums(ROOT / "README.md", ROOT / "reports")
    command = [
        "make",
        "--no-print-directory",
        "report",
        *QUICK_RUN,
        f"REPORTS={folder / 'reports'}",
        f"ARTIFACTS={folder / 'artifacts'}",
        f"PYTHON={sys.executable}",
    ]
    env = {**os.environ, "SASREC_DATA_DIR": str(SHARED_DATA)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-4000:]}"
    assert checksums(ROOT / "README.md", ROOT / "reports") == before, (
        "a run into a temporary folder changed README.md or reports/"
    )
    return folder / "reports"


def test_all_five_notebooks_render_on_beauty_and_say_which_run_they_are(beauty_run):
    for name in NOTEBOOKS:
        page = page_text(beauty_run / f"{name}.html")
        assert "Preset `shopping`" in page or "Preset shopping" in page, name
    metrics = json.loads((beauty_run / "metrics.json").read_text())
    assert (metrics["dataset"], metrics["preset"]) == ("amazon-beauty", "shopping")
    index = page_text(beauty_run / "index.html")
    assert "amazon-beauty" in index and "PRESET=shopping" in index and "EPOCHS=1" in index


def outputs_text(notebook: Path) -> str:
    """Everything an executed notebook's code cells printed or displayed, as text."""
    cells = json.loads(notebook.read_text())["cells"]
    parts = []
    for output in (o for cell in cells for o in cell.get("outputs", [])):
        data = output.get("data", {})
        text = output.get("text") or data.get("text/markdown") or data.get("text/plain") or ""
        parts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(parts)


def test_the_production_demo_speaks_of_beauty_not_movielens(beauty_run):
    said = outputs_text(beauty_run / "05_production_demo.ipynb")
    assert said.count("has no titles") == 1
    for film_words in ("Raiders of the Lost Ark", "Toy Story", "genre", "nan%", "film"):
        assert film_words not in said
    assert "most-popular" in said  # each capability beside the simple reference
