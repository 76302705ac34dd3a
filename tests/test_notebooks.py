"""The five notebooks: paired with their .py sources, stored clean, and runnable end to end.

The end-to-end test executes all five with papermill, in order, on a small generated
dataset in the retail parquet layout (no titles, string item ids, pretrained vectors),
with tiny model settings: any error in any cell fails it.
"""

import json
import os
from pathlib import Path

import jupytext
import pytest

from sasrec_utils.data.synthetic import synthetic_events
from sasrec_utils.report.contracts import NOTEBOOK_PARAMETERS, NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def _cells(notebook) -> list[tuple[str, str, list[str]]]:
    return [
        (cell.cell_type, cell.source, list(cell.metadata.get("tags", [])))
        for cell in notebook.cells
    ]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_pair_in_sync_and_stored_without_outputs(name):
    source = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    stored = jupytext.read(NOTEBOOK_DIR / f"{name}.ipynb")
    assert _cells(stored) == _cells(source), f"run `make sync-notebooks` ({name})"
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{name}.ipynb stores outputs; clear them (jupytext --to ipynb from the .py)"
            )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_layout(name):
    """Badge first, then the Colab-only install cell, then the parameters cell."""
    cells = jupytext.read(NOTEBOOK_DIR / f"{name}.py").cells
    assert cells[0].cell_type == "markdown" and "Open In Colab" in cells[0].source
    install = cells[1].source
    assert cells[1].cell_type == "code" and 'if "google.colab" in sys.modules:' in install
    assert "torch" not in install.split('if "google.colab"')[1], "Colab keeps its own torch"
    assert cells[2].metadata.get("tags") == ["parameters"]
    assert "def " not in "".join(c.source for c in cells if c.cell_type == "code")
    assert "reproducibility(" in cells[-1].source


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell_declares_what_make_report_passes(name):
    """Every parameter of the table (sasrec_utils.report.artifacts) is assigned in the cell."""
    cell = jupytext.read(NOTEBOOK_DIR / f"{name}.py").cells[2]
    declared = {line.split("=")[0].strip() for line in cell.source.splitlines() if "=" in line}
    missing = set(NOTEBOOK_PARAMETERS[name]) - declared
    assert not missing, f"{name}: parameters cell lacks {sorted(missing)}"


@pytest.mark.slow
def test_all_notebooks_run_on_a_small_retail_dataset(tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    files = synthetic_events(tmp_path / "data", n_users=80, n_items=60, n_events=1500)
    artifacts, reports = tmp_path / "artifacts", tmp_path / "reports"
    data = {
        "artifacts": str(artifacts),
        "dataset": "events",
        "events_paths": ",".join(str(p) for p in files.events_paths),
        "vocabulary_path": str(files.vocabulary_path),
    }
    values = {  # one set of values; each notebook gets those the table gives it
        **data,
        "hidden_dim": 16,
        "n_layers": 1,
        "n_heads": 2,
        "max_len": 12,
        "seed": 1,
        "embeddings_path": str(files.embeddings_path),
        "epochs": 1,
        "batch_size": 32,
        "device": "cpu",
        "report_dir": str(reports),
        "n_seeds": 2,
        "progress": "lines",
    }
    extra = {"05_production_demo": {"journey_users": 2, "latency_requests": 5}}
    parameters = {
        name: {
            **{key: values[key] for key in NOTEBOOK_PARAMETERS[name] if key in values},
            **extra.get(name, {}),
        }
        for name in NOTEBOOKS
    }
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + (os.pathsep + path if path else ""))
    for name in NOTEBOOKS:
        notebook = tmp_path / f"{name}.ipynb"
        jupytext.write(jupytext.read(NOTEBOOK_DIR / f"{name}.py"), notebook)
        papermill.execute_notebook(
            str(notebook),
            str(tmp_path / f"{name}.out.ipynb"),
            parameters=parameters[name],
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
        )
    metrics = json.loads((reports / "metrics.json").read_text())
    systems = {"SASRec", "ensemble", "markov", "cooccurrence", "ease", "most-popular", "random"}
    assert set(metrics["systems"]) == systems and metrics["seeds"] == [1, 2]
    assert metrics["systems"]["SASRec"]["n_seeds"] == 2
    assert metrics["dataset"] == "events" and metrics["config"]["max_len"] == 12
    assert 0 <= metrics["systems"]["random"]["mean"]["hr@10"] <= 1
    assert (artifacts / "seed-1" / "best.pt").exists()
    assert (reports / "model_vs_baselines.png").exists()
    runs = json.loads((artifacts / "training.json").read_text())["runs"]
    assert [run["epochs_run"] for run in runs] == [1, 1]
    pair = metrics["bootstrap"]["pairs"][0]  # data: which systems, not a name to parse
    assert (pair["system"], pair["baseline"]) == ("SASRec", metrics["bootstrap"]["best_baseline"])
    assert len(metrics["describes"]["checkpoints_sha256"]) == 2
    assert (artifacts / "training-log.txt").read_text().count("epoch 1/1") == 2
    served = (tmp_path / "05_production_demo.out.ipynb").read_text()
    assert "metrics.json measured this model" in served and "np.int64(" not in served
