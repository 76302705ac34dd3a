"""The notebooks' first code cell, the Colab install: one source (``tools/colab_cell.py``),
left out of the rendered reports; repository, uploaded wheel, clean stop.

The cell runs as written, with ``google.colab`` faked in ``sys.modules``, its wheel folders
pointed at temporary ones and ``sys.executable`` replaced by a fake whose ``-m pip`` logs its
arguments and succeeds or fails on demand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import jupytext
import nbformat
import pytest

from sasrec_utils.report.contracts import NOTEBOOKS
from tools.report_tools import (
    HIDDEN_INPUT_TAG,
    colab_cell,
    notebook_install_cell,
    repository_url,
)

ROOT = Path(__file__).resolve().parents[1]
FOLDERS_LINE = re.compile(r"^WHEEL_FOLDERS = \[.*$", re.MULTILINE)
REPOSITORY = 'REPOSITORY = "https://github.com/sasrec-report/sasrec-report"'


def install_cell(name: str = NOTEBOOKS[0]) -> str:
    """The source of the notebook's first code cell."""
    cells = jupytext.read(ROOT / "notebooks" / f"{name}.py").cells
    return next(cell.source for cell in cells if cell.cell_type == "code")


def cell_searching(folders: list[Path]) -> str:
    """The install cell, looking for wheels in ``folders`` instead of Colab's."""
    source, count = FOLDERS_LINE.subn(
        f"WHEEL_FOLDERS = {[str(f) for f in folders]!r}", install_cell()
    )
    assert count == 1, "the install cell should assign WHEEL_FOLDERS on one line"
    return source


def fake_python(tmp_path: Path, exit_status: int, says: str = "") -> tuple[Path, Path]:
    """An executable standing in for ``sys.executable``: logs its arguments, prints ``says``
    to stderr, exits with ``exit_status``. Returns (the executable, its log)."""
    log = tmp_path / "pip.log"
    script = tmp_path / "python"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> "{log}"\necho "GIT_TERMINAL_PROMPT=$GIT_TERMINAL_PROMPT" >> '
        f'"{log}"\nprintf "%s\\n" "{says}" >&2\nexit {exit_status}\n'
    )
    script.chmod(0o755)
    return script, log


@pytest.fixture
def on_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))


def run_cell(source: str) -> None:
    exec(compile(source, "install_cell", "exec"), {"__name__": "__main__"})


def test_every_notebooks_install_cell_is_the_one_generated_from_the_template():
    """`make badges` has been run since ``tools/colab_cell.py`` or a notebook last changed."""
    generated = colab_cell(repository_url(ROOT / "pyproject.toml"))
    assert REPOSITORY in generated and "WHEEL_FOLDERS" in generated
    for name in NOTEBOOKS:
        source = (ROOT / "notebooks" / f"{name}.py").read_text()
        assert notebook_install_cell(source) == generated, f"{name}: run `make badges`"
        paired = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        cell = next(cell for cell in paired.cells if cell.cell_type == "code")
        assert cell.source == install_cell(name), f"{name}.ipynb: run `make sync-notebooks`"
        assert cell.metadata.get("tags") == [HIDDEN_INPUT_TAG]


HIDE_FLAG = f"--TagRemovePreprocessor.remove_input_tags={HIDDEN_INPUT_TAG}"


def test_the_makefile_renders_reports_without_the_tagged_code():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"-m nbconvert --to html .*\n\t+" + re.escape(HIDE_FLAG), makefile)


@pytest.mark.slow
def test_the_rendered_report_shows_no_install_code(tmp_path):
    """nbconvert as the Makefile calls it, on notebook 01 as the report gets it."""
    flag = HIDE_FLAG
    notebook = ROOT / "notebooks" / f"{NOTEBOOKS[0]}.ipynb"
    render = [sys.executable, "-m", "nbconvert", "--to", "html", "--log-level", "ERROR"]
    for extra, shown in (([], True), ([flag], False)):
        out = tmp_path / ("with" if shown else "without")
        subprocess.run([*render, *extra, "--output-dir", str(out), str(notebook)], check=True)
        page = (out / f"{NOTEBOOKS[0]}.html").read_text()
        assert ("WHEEL_FOLDERS" in page) == shown
        assert "Theory and data" in page  # the rest is there


def test_off_colab_the_cell_installs_nothing(tmp_path, monkeypatch, capsys):
    python, log = fake_python(tmp_path, exit_status=0)
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    run_cell(cell_searching([tmp_path]))
    assert not log.exists() and capsys.readouterr().out == ""


def test_on_colab_without_a_wheel_it_installs_from_the_repository(
    tmp_path, monkeypatch, capsys, on_colab
):
    python, log = fake_python(tmp_path, exit_status=0)
    monkeypatch.setattr(sys, "executable", str(python))
    run_cell(cell_searching([tmp_path / "content"]))  # a folder that does not exist
    repository = "git+https://github.com/sasrec-report/sasrec-report"
    assert log.read_text().splitlines() == [
        f"-m pip install -q {repository}",
        "GIT_TERMINAL_PROMPT=0",  # a private repository fails instead of asking for a login
    ]
    assert capsys.readouterr().out == f"sasrec_utils installed from {repository}\n"


def test_on_colab_the_newest_uploaded_wheel_is_installed(tmp_path, monkeypatch, on_colab):
    content, drive = tmp_path / "content", tmp_path / "drive"
    content.mkdir(), drive.mkdir()
    older = content / "sasrec_utils-0.1.0-py3-none-any.whl"
    newer = drive / "sasrec_utils-0.1.0-py3-none-any.whl"
    (content / "other_package-1.0-py3-none-any.whl").write_text("not ours")
    for path, mtime in ((older, 1_000_000), (newer, 2_000_000)):
        path.write_text("wheel")
        os.utime(path, (mtime, mtime))
    python, log = fake_python(tmp_path, exit_status=0)
    monkeypatch.setattr(sys, "executable", str(python))
    run_cell(cell_searching([content, drive]))
    assert log.read_text().splitlines()[0] == f"-m pip install -q {newer}"


def test_on_colab_a_failing_pip_prints_why_and_both_ways_out_then_stops(
    tmp_path, monkeypatch, capsys, on_colab
):
    said = "fatal: could not read Username for 'https://github.com': terminal prompts disabled"
    python, _ = fake_python(tmp_path, exit_status=1, says=said)
    monkeypatch.setattr(sys, "executable", str(python))
    with pytest.raises(SystemExit, match="sasrec_utils is not installed: see the message above"):
        run_cell(cell_searching([tmp_path / "content", tmp_path / "drive"]))
    out = capsys.readouterr().out
    assert out.startswith(
        "Could not install sasrec_utils from git+https://github.com/sasrec-report/sasrec-report"
        " (pip exit status 1):\n    " + said + "\n"
    )
    assert "run `make wheel`" in out and "dist/sasrec_utils-*.whl" in out
    assert f"({tmp_path / 'content'}, {tmp_path / 'drive'})" in out
    assert "Set REPOSITORY above" in out


def test_on_colab_a_wheel_that_fails_to_install_is_named(tmp_path, monkeypatch, capsys, on_colab):
    wheel = tmp_path / "sasrec_utils-0.1.0-py3-none-any.whl"
    wheel.write_text("truncated upload")
    python, _ = fake_python(tmp_path, exit_status=1, says="ERROR: not a valid wheel")
    monkeypatch.setattr(sys, "executable", str(python))
    with pytest.raises(SystemExit):
        run_cell(cell_searching([tmp_path]))
    assert capsys.readouterr().out.startswith(
        f"Could not install sasrec_utils from {wheel} (pip exit status 1):\n"
        "    ERROR: not a valid wheel\n"
    )


@pytest.mark.slow
def test_in_a_kernel_the_failure_stops_run_all_without_a_traceback(tmp_path):
    """As Colab shows it: guidance, then one ``SystemExit`` line, and no later cell runs."""
    nbclient = pytest.importorskip("nbclient")
    python, _ = fake_python(tmp_path, exit_status=1, says="ERROR: repository not found")
    setup = (
        "import sys, types\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
        f"sys.executable = {str(python)!r}"
    )
    cells = [setup, cell_searching([tmp_path]), "print('the next cell ran')"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120)
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    outputs = notebook.cells[1].outputs
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "ERROR: repository not found" in printed and "Two ways out" in printed
    (error,) = [o for o in outputs if o.output_type == "error"]
    assert error.ename == "SystemExit"
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))  # colours off
    assert "Traceback (most recent call last)" not in shown and "---->" not in shown
    assert "SystemExit: sasrec_utils is not installed" in shown
    assert shown.splitlines()[0] == "An exception has occurred, use %tb to see the full traceback."
    assert not [o for o in outputs if o.get("name") == "stderr"], "IPython's exit hint shows"
    assert notebook.cells[2].outputs == []
