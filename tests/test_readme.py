"""Every ```python block of the README runs as written, in order, on a tiny trained run."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.report.artifacts import final_checkpoint, train_seeds

from .conftest import cycle_events

README = Path(__file__).resolve().parents[1] / "README.md"
REPORT_ARTIFACTS, REPORT_SEED = "artifacts", 42  # notebook 03's defaults: `artifacts`, seed


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def test_python_blocks_are_found():
    blocks = python_blocks("a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n")
    assert blocks == ["x = 1\n", "y = 2\n"]


@pytest.fixture
def trained_run(tmp_path, monkeypatch):
    """A fresh working folder after a report's training: notebook 03's ``train_seeds``
    writes seed 42's checkpoint where ``make report`` does (``artifacts/seed-42/``), one
    epoch on a log whose item ids are 1..200, like MovieLens' (so the README's ids 50,
    172, 174, 181 exist)."""
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
    train_seeds(REPORT_ARTIFACTS, cfg, prepare_data(cfg), [REPORT_SEED], progress=False)
    return tmp_path


def test_the_serving_example_loads_the_checkpoint_make_report_writes():
    served = final_checkpoint(REPORT_ARTIFACTS, SASRecConfig(seed=REPORT_SEED), REPORT_SEED)
    assert served.as_posix() == "artifacts/seed-42/best.pt"
    loads = re.findall(r'Recommender\.load\("([^"]+\.pt)"', README.read_text())
    trained = [path for path in loads if path != "recommender.pt"]  # the bundle it saves
    assert trained and set(trained) == {served.as_posix()}


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


def shell_commands(text: str) -> list[str]:
    """The commands of a markdown text's ```bash blocks (continuations joined, comments
    dropped) and its inline code spans that call a program with arguments."""
    blocks = re.findall(r"^```(?:bash|sh)\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    lines = [
        line.split("#")[0].strip() for b in blocks for line in b.replace("\\\n", " ").splitlines()
    ]
    spans = re.findall(r"`((?:sasrec|torchrun|python3?|pytest|jupyter) [^`]*)`", text)
    messages = [span for span in spans if span.split()[1].endswith(":")]  # "sasrec train: …"
    return [line for line in lines if line] + [s for s in spans if s not in messages]


def test_readme_commands_run_in_a_blank_shell():
    """Nothing is activated: a command is a make target or a program of .venv/bin/."""
    commands = shell_commands(README.read_text())
    assert any(c.startswith(".venv/bin/sasrec train") for c in commands)
    blank_shell = [c for c in commands if not c.startswith(("make ", ".venv/bin/"))]
    assert blank_shell == []
    nested = [w for c in commands for w in c.split() if w in ("sasrec", "torchrun", "python3")]
    assert nested == []  # e.g. torchrun's program, also from .venv/bin/
    assert (Path(sys.executable).parent / "torchrun").exists()  # what .venv/bin/ holds
    assert 'sasrec = "sasrec_utils.cli:main"' in (README.parent / "pyproject.toml").read_text()
