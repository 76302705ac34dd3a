"""Every ```python block of the README runs as written, in order, on a tiny trained run."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.training.loop import fit

from .conftest import cycle_events

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_python_blocks_are_found():
    blocks = python_blocks("a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n")
    assert blocks == ["x = 1\n", "y = 2\n"]


@pytest.fixture
def trained_run(tmp_path, monkeypatch):
    """``runs/best.pt`` in a fresh working folder: one epoch on a log whose item ids are
    1..200, like MovieLens' (so the README's ids 50, 172, 174, 181 exist)."""
    monkeypatch.chdir(tmp_path)
    cycle_events(n_users=40, n_items=200, length=12).to_parquet("events.parquet")
    cfg = SASRecConfig(
        dataset="events",
        events_paths=[str(tmp_path / "events.parquet")],
        max_len=8,
        hidden_dim=16,
        n_layers=1,
        epochs=1,
        device="cpu",
        num_threads=1,
    )
    fit(cfg, prepare_data(cfg), out_dir="runs", progress=False)
    return tmp_path


def test_every_python_block_of_the_readme_runs(trained_run):
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 1
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the README's fallback example warns, as it says
        for number, block in enumerate(blocks, start=1):
            try:
                exec(compile(block, f"README.md python block {number}", "exec"), namespace)
            except Exception as error:  # name the block that failed
                pytest.fail(f"README python block {number} failed: {error!r}\n{block}")
    assert (trained_run / "recommender.pt").exists()
