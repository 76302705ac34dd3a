"""`make help` lists every target and parameter of the Makefile, one line each."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sasrec_utils.report.contracts import MAKE_VARIABLES

ROOT = Path(__file__).resolve().parents[1]


def makefile_names() -> tuple[set[str], set[str]]:
    """The Makefile's .PHONY targets and its `NAME ?=` parameters."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    targets = {
        name for line in re.findall(r"^\.PHONY:(.*)$", text, re.MULTILINE) for name in line.split()
    }
    parameters = set(re.findall(r"^([A-Z_]+) \?=", text, re.MULTILINE))
    return targets, parameters


def test_make_help_lists_every_target_and_parameter_on_its_own_line():
    shown = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    listed = {line.split()[0].rstrip(",") for line in shown if line.startswith("  ")}
    targets, parameters = makefile_names()
    assert {"install", "report", "test", "latency", "help"} <= targets
    assert {"PYTHON", "TORCH_INDEX", "REPORTS"} <= parameters
    assert targets - listed == set(), "targets missing from make help"
    assert parameters - listed == set(), "parameters missing from make help"
    assert all(len(line.split(maxsplit=1)) == 2 for line in shown if line.startswith("  "))
    assert set(MAKE_VARIABLES.values()) - listed == set(), "notebook parameters missing"
    assert "  PRESET           notebook parameter preset (01, 02, 03, 04, 05)" in shown


def test_make_latency_runs_the_benchmark_with_this_checkout():
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "latency", "LATENCY_ARGS=--requests 5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "benchmarks/latency.py --requests 5" in dry and "PYTHONPATH=" in dry
