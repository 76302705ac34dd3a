"""Everything the notebooks and ``make report`` need besides the model itself.

- Artifacts handed from one notebook to the next (prepared data, the trained checkpoint),
  rebuilt on the spot when missing, so any notebook also runs alone (e.g. on Colab).
- Small tables for the reports: parameter counts, metrics by history length, latency,
  next-item probabilities, titles typed by a person resolved to item ids.
- The reproducibility block every notebook ends with.
- ``reports/index.html``, a readable message for a failed notebook, and the "Open in Colab"
  badges and install line, generated from ``pyproject.toml`` (the repository's address lives
  there only).

CLI: ``python3 -m sasrec_utils.report {badges,index,failure} ...`` (used by the Makefile).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import html
import json
import logging
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .checkpoint import load_checkpoint
from .config import SASRecConfig
from .data import load_item_embeddings
from .dataset import (
    PreparedData,
    data_fingerprint,
    load_sequences,
    prepare_data,
    save_sequences,
    split_for,
)
from .io import atomic_write, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)
# Executed notebooks (papermill, no ipywidgets) use tqdm's text bars; its hint to install
# ipywidgets would only clutter every report.
warnings.filterwarnings("ignore", message="IProgress not found")

SEQUENCES_FILE = "sequences.npz"
ITEMS_FILE = "items.parquet"
DATA_FILE = "data.json"
CHECKPOINT_FILE = "best.pt"
DATA_FIELDS = ("dataset", "events_paths", "vocabulary_path", "split")
PACKAGES = ("sasrec_utils", "torch", "numpy", "pandas", "pyarrow", "matplotlib")
NOTEBOOKS = (
    "01_theory_and_data",
    "02_model",
    "03_training",
    "04_evaluation",
    "05_production_demo",
)
BRANCH = "main"
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_LINE = re.compile(r"^# \[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.MULTILINE)
REPOSITORY_LINE = re.compile(r'^REPOSITORY = "[^"]*"', re.MULTILINE)
README_START = "<!-- colab-badges:start -->"
README_END = "<!-- colab-badges:end -->"
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- paths and config


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The folder holding this project's ``pyproject.toml`` at or above ``start`` (cwd).

    Notebooks ``chdir`` there so relative paths (``artifacts/``, ``data/``, ``reports/``)
    mean the same from Jupyter (cwd ``notebooks/``), papermill and the tests. Outside a
    checkout (Colab) ``start`` itself is returned.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.exists() and 'name = "sasrec_utils"' in pyproject.read_text():
            return folder
    return here


def notebook_config(**parameters: Any) -> SASRecConfig:
    """``SASRecConfig`` from notebook parameters; ``None`` means "the config's default".

    ``events_paths`` may be one comma-separated string (what ``make report EVENTS=a,b``
    passes) or a list.
    """
    values = {name: value for name, value in parameters.items() if value is not None}
    if isinstance(values.get("events_paths"), str):
        values["events_paths"] = [p.strip() for p in values["events_paths"].split(",") if p]
    return SASRecConfig().replace(**values)


def data_settings(cfg: SASRecConfig) -> dict[str, Any]:
    """The config fields that decide which prepared data a notebook needs."""
    settings = {name: getattr(cfg, name) for name in DATA_FIELDS}
    settings["events_paths"] = [str(p) for p in cfg.events_paths]
    if cfg.split == "user":
        settings["seed"] = cfg.seed
    return settings


# ---------------------------------------------------------------- artifacts


def save_prepared(artifacts: str | os.PathLike, cfg: SASRecConfig, prepared: PreparedData) -> Path:
    """Store sequences, item metadata and the data settings in ``artifacts``.

    ``data.json`` is written last, so it only ever describes complete files. When the
    folder already holds exactly this data nothing is rewritten: file times then change
    only with the data, which is what ``make report`` uses to skip retraining.
    """
    folder = Path(artifacts)
    ids = np.asarray(prepared.data.item_ids).astype(str)
    items_csv = prepared.items.to_csv(index=False) if prepared.items is not None else ""
    summary = {
        "settings": data_settings(cfg),
        "n_users": prepared.data.n_users,
        "n_items": prepared.data.n_items,
        "n_events": len(prepared.data.sequences.items),
        "sequences_sha256": data_fingerprint(prepared.data),
        "item_ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "items_sha256": hashlib.sha256(items_csv.encode()).hexdigest(),
    }
    summary_path = folder / DATA_FILE
    files_exist = (folder / SEQUENCES_FILE).exists() and (
        prepared.items is None or (folder / ITEMS_FILE).exists()
    )
    if files_exist and summary_path.exists() and json.loads(summary_path.read_text()) == summary:
        return summary_path
    save_sequences(folder / SEQUENCES_FILE, prepared.data)
    if prepared.items is not None:
        atomic_write(folder / ITEMS_FILE, lambda stream: prepared.items.to_parquet(stream))
    else:
        (folder / ITEMS_FILE).unlink(missing_ok=True)
    return atomic_write_json(summary_path, summary)


def prepared_data(artifacts: str | os.PathLike, cfg: SASRecConfig) -> PreparedData:
    """The data notebook 01 saved in ``artifacts`` if it matches ``cfg``, else prepared now.

    Preparing on the spot (and saving) lets any notebook run first or alone. Pretrained
    item vectors are read from ``cfg.embeddings_path`` when set.
    """
    folder = Path(artifacts)
    summary_path = folder / DATA_FILE
    saved = json.loads(summary_path.read_text()) if summary_path.exists() else None
    if saved is not None and saved["settings"] == data_settings(cfg):
        data = load_sequences(folder / SEQUENCES_FILE)
        items_path = folder / ITEMS_FILE
        items = pd.read_parquet(items_path) if items_path.exists() else None
    else:
        reason = "none saved" if saved is None else f"saved data is for {saved['settings']}"
        log.warning("%s: %s; preparing %s now", folder, reason, data_settings(cfg))
        prepared = prepare_data(cfg.replace(embeddings_path=None))
        save_prepared(folder, cfg, prepared)
        data, items = prepared.data, prepared.items
    pretrained = None
    if cfg.embeddings_path:
        pretrained = load_item_embeddings(cfg.embeddings_path, data.item_ids)
    return PreparedData(data, split_for(cfg, data), items, pretrained)


def trained_checkpoint(
    artifacts: str | os.PathLike, cfg: SASRecConfig, prepared: PreparedData
) -> Path:
    """``artifacts/best.pt``, checked against ``prepared``; trained first when absent.

    Training here (with ``cfg``) is what lets notebooks 04 and 05 run alone; notebook 03
    is where training is explained and plotted.
    """
    from .train import fit

    path = Path(artifacts) / CHECKPOINT_FILE
    if not path.exists():
        log.warning("%s not found: training a model now (notebook 03 explains this step)", path)
        fit(
            cfg,
            prepared.split,
            prepared.data.item_ids,
            out_dir=artifacts,
            pretrained=prepared.pretrained,
        )
        return path
    state = load_checkpoint(path)
    trained = data_settings(SASRecConfig.from_dict(state["config"]))
    if trained != data_settings(cfg) or state["item_ids"] != prepared.data.item_ids.tolist():
        raise ValueError(
            f"{path} was trained on {trained}, but this notebook's data is "
            f"{data_settings(cfg)} ({prepared.data.n_items} items); run notebook 03 with the "
            "same data parameters, or point `artifacts` at the matching folder"
        )
    return path


# ---------------------------------------------------------------- tables


def parameter_table(model: torch.nn.Module) -> pd.DataFrame:
    """Parameters per module (``item_emb``, ``blocks.0.attn.qkv``, ...) with shares.

    Columns ``module, shapes, parameters, share``; a final ``total`` row.
    """
    rows: dict[str, dict[str, Any]] = {}
    for name, tensor in model.named_parameters():
        module = name.rsplit(".", 1)[0]
        row = rows.setdefault(module, {"module": module, "shapes": [], "parameters": 0})
        row["shapes"].append("×".join(map(str, tensor.shape)))
        row["parameters"] += tensor.numel()
    frame = pd.DataFrame(rows.values())
    frame["shapes"] = frame["shapes"].map(" + ".join)
    total = int(frame["parameters"].sum())
    frame["share"] = frame["parameters"] / total
    frame.loc[len(frame)] = {"module": "total", "shapes": "", "parameters": total, "share": 1.0}
    return frame


def metrics_by_history_length(
    ranks: dict[str, np.ndarray], history_lengths: np.ndarray, n_buckets: int = 4, k: int = 10
) -> pd.DataFrame:
    """HR@k and NDCG@k per history-length bucket, for each system's per-query ranks.

    Buckets are quantiles of ``history_lengths`` (about equal numbers of users each);
    labels give the range of lengths inside. Long format: ``bucket, users, system,
    hr@k, ndcg@k``.
    """
    lengths = np.asarray(history_lengths)
    codes = pd.qcut(lengths, q=n_buckets, labels=False, duplicates="drop")
    rows = []
    for code in np.unique(codes):
        inside = codes == code
        label = f"{lengths[inside].min()}–{lengths[inside].max()}"
        for system, system_ranks in ranks.items():
            chosen = np.asarray(system_ranks, dtype=float)[inside]
            hit = chosen <= k
            rows.append(
                {
                    "bucket": label,
                    "users": int(inside.sum()),
                    "system": system,
                    f"hr@{k}": float(hit.mean()),
                    f"ndcg@{k}": float(np.where(hit, 1 / np.log2(chosen + 1), 0.0).mean()),
                }
            )
    return pd.DataFrame(rows)


def with_probability(ranked: pd.DataFrame) -> pd.DataFrame:
    """``ranked`` plus ``probability``: a softmax of ``score`` over all its rows.

    Given every candidate item (``recommend(history, k=n_items)``), this is the model's
    next-item distribution, which full cross-entropy training fits directly.
    """
    scores = ranked["score"].to_numpy(dtype=np.float64)
    weights = np.exp(scores - scores.max())
    out = ranked.copy()
    out["probability"] = weights / weights.sum()
    return out


def latency_summary(seconds: Sequence[float]) -> pd.DataFrame:
    """Per-request latency percentiles in milliseconds, and requests per second."""
    ms = np.asarray(seconds, dtype=float) * 1000
    return pd.DataFrame(
        {
            "requests": [len(ms)],
            "p50_ms": [np.percentile(ms, 50)],
            "p95_ms": [np.percentile(ms, 95)],
            "p99_ms": [np.percentile(ms, 99)],
            "mean_ms": [ms.mean()],
            "requests_per_s": [1000 / ms.mean()],
        }
    )


def resolve_items(
    queries: Iterable[Any], item_ids: np.ndarray, items: pd.DataFrame | None = None
) -> list[Any]:
    """Original item ids for what a person typed: ids, exact titles, or parts of titles.

    Matching is: an item id of the catalogue; else (with ``items``) a title equal up to
    case; else the only title containing the text. Ambiguous or unknown text raises
    ``ValueError`` listing candidates.
    """
    known = set(np.asarray(item_ids).tolist())
    titles = None if items is None else items.dropna(subset=["title"])
    resolved = []
    for query in queries:
        if query in known:
            resolved.append(query)
            continue
        if titles is None:
            raise ValueError(
                f"{query!r} is not an item id of this catalogue (ids look like "
                f"{sorted(known, key=str)[:3]}) and there are no titles to search"
            )
        text = str(query).strip().lower()
        exact = titles[titles["title"].str.lower() == text]
        partial = titles[titles["title"].str.lower().str.contains(text, regex=False)]
        match = exact if len(exact) else partial
        if len(match) == 1 or len(exact):
            resolved.append(match["item_id"].iloc[0])
        elif len(match) > 1:
            raise ValueError(
                f"{query!r} matches {len(match)} titles, e.g. {match['title'].head(5).tolist()}; "
                "type more of the title"
            )
        else:
            close = difflib.get_close_matches(str(query), titles["title"].tolist(), n=3)
            raise ValueError(f"no title matches {query!r}; close titles: {close}")
    return resolved


def peak_memory(device: str | torch.device) -> dict[str, Any]:
    """Peak memory so far: torch's GPU allocations on CUDA, else the process's peak RSS."""
    device = torch.device(device)
    if device.type == "cuda":
        mib = torch.cuda.max_memory_allocated(device) / 2**20
        return {"device": str(device), "what": "peak GPU memory allocated by torch", "MiB": mib}
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, B on macOS
        mib = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    except ImportError:  # Windows
        mib = float("nan")
    return {"device": str(device), "what": "peak resident memory of this process", "MiB": mib}


# ---------------------------------------------------------------- reproducibility


@dataclass
class Reproducibility:
    """What produced a report: seed, versions, device, data hash, config, wall time."""

    facts: dict[str, str]
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**self.facts, "config": self.config}

    def __str__(self) -> str:
        lines = [f"{key}: {value}" for key, value in self.facts.items()]
        return "\n".join([*lines, "config: " + json.dumps(self.config, sort_keys=True)])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.facts.items()
        )
        config = html.escape(json.dumps(self.config, indent=1, sort_keys=True), quote=False)
        return (
            f"<h4>Reproducibility</h4><table>{rows}</table>"
            f"<details><summary>config</summary><pre>{config}</pre></details>"
        )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        module = sys.modules.get(package)
        return getattr(module, "__version__", "not installed")


def _git_commit(folder: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "n/a (not a git checkout)"
    return f"{head} (uncommitted changes)" if dirty else head


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
    facts = {
        "seed": str(cfg.seed) if cfg is not None else "n/a",
        "device": device_text,
        "torch threads": str(torch.get_num_threads()),
        "data sha256": data_sha256 or "n/a",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": ", ".join(f"{p} {_version(p)}" for p in PACKAGES),
        "code commit": _git_commit(project_root()),
        "finished (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "wall time": f"{time.time() - started:.1f} s",
    }
    return Reproducibility(facts, cfg.to_dict() if cfg is not None else {})


# ---------------------------------------------------------------- reports


def notebook_title(notebook: dict[str, Any]) -> str:
    """The first Markdown ``# heading`` of a notebook (as read by ``json``/``nbformat``)."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return "untitled"


def _headline_rows(metrics: dict[str, Any]) -> str:
    names = {
        "hr@10": "HR@10",
        "ndcg@10": "NDCG@10",
        "mrr": "MRR",
        "coverage@10": "coverage@10",
        "lift_ndcg@10": "NDCG@10 lift vs most-popular",
    }
    columns = tuple(names)
    header = "".join(f"<th>{c}</th>" for c in ("system", *names.values()))
    body = ""
    for system, values in metrics.get("systems", {}).items():
        cells = "".join(
            f"<td>{values[c]:.4f}</td>" if c in values else "<td>–</td>" for c in columns
        )
        body += f"<tr><td>{html.escape(system)}</td>{cells}</tr>"
    return f"<table><tr>{header}</tr>{body}</table>"


def build_index(reports_dir: str | os.PathLike, metrics_file: str = "metrics.json") -> Path:
    """Write ``reports_dir/index.html``: the five reports with run times and headline metrics."""
    folder = Path(reports_dir)
    items, total = [], 0.0
    for name in NOTEBOOKS:
        path = folder / f"{name}.ipynb"
        if not path.exists():
            items.append(f"<li>{name}: not run yet</li>")
            continue
        notebook = json.loads(path.read_text())
        duration = notebook.get("metadata", {}).get("papermill", {}).get("duration") or 0.0
        total += duration
        items.append(
            f"<li><a href='{name}.html'>{html.escape(notebook_title(notebook))}</a> "
            f"<span class='muted'>({duration:.0f} s)</span></li>"
        )
    metrics_path = folder / metrics_file
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    headline = "<p>No metrics yet: run the evaluation notebook.</p>"
    if metrics:
        training = metrics.get("training", {})
        headline = (
            f"<p>Test split of <b>{html.escape(str(metrics.get('dataset', '?')))}</b>, "
            f"{metrics.get('n_queries', 0):,} users, full ranking over "
            f"{metrics.get('n_items', 0):,} items (history masked, pessimistic ties). "
            f"Best epoch {training.get('best_epoch', '?')}, "
            f"training {training.get('train_seconds', 0):.0f} s on "
            f"{html.escape(str(training.get('device', '?')))}.</p>" + _headline_rows(metrics)
        )
    figure = ""
    if (folder / "model_vs_baselines.png").exists():
        figure = "<img src='model_vs_baselines.png' alt='SASRec vs baselines' width='720'>"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SASRec report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 780px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
.muted {{ color: #777; }}
</style></head><body>
<h1>SASRec: taught and measured</h1>
<p>Five executed notebooks ({total:.0f} s of notebook time in all):</p>
<ol>{"".join(items)}</ol>
<h2>Headline test metrics</h2>
{headline}
{figure}
<p class="muted">Regenerate with <code>make report</code>; parameters as in
<code>make report EPOCHS=… DEVICE=…</code>.</p>
</body></html>
"""
    path = atomic_write_text(folder / "index.html", page)
    path.chmod(0o644)  # served or opened by readers, like the HTML reports beside it
    return path


def describe_failure(executed: str | os.PathLike, source: str) -> str:
    """A message naming the notebook, the failing cell and the error, from papermill's output.

    Code cells are numbered as in the source notebook (papermill's injected parameters
    cell is not counted); the line quoted is the one that raised, when the traceback says.
    """
    path = Path(executed)
    if not path.exists():
        return f"{source} failed before any cell ran (no {path}); see the papermill log above"
    notebook = json.loads(path.read_text())
    code_cells = [
        cell
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "code"
        and "injected-parameters" not in cell.get("metadata", {}).get("tags", [])
    ]
    for number, cell in enumerate(code_cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            lines = text.splitlines()
            where = next((line for line in lines if line.strip()), "")
            trace = ANSI_CODES.sub("", "\n".join(output.get("traceback", [])))
            raised = re.search(r"Cell In\[\d+\], line (\d+)", trace)
            if raised and 0 < int(raised.group(1)) <= len(lines):
                where = f"line {raised.group(1)}: {lines[int(raised.group(1)) - 1]}"
            return (
                f"{source} failed in code cell {number} ({where.strip()[:100]}): "
                f"{output.get('ename')}: {output.get('evalue')}\n"
                f"The executed notebook is at {path}; the previous report is unchanged."
            )
    return f"{source} failed (no error output recorded); see the papermill log above"


# ---------------------------------------------------------------- Colab links


def repository_url(pyproject: str | os.PathLike = "pyproject.toml") -> str:
    """``[project.urls] Repository`` from ``pyproject.toml``."""
    import tomllib  # Python >= 3.11; only `make badges` and its test need it

    with open(pyproject, "rb") as handle:
        urls = tomllib.load(handle).get("project", {}).get("urls", {})
    if "Repository" not in urls:
        raise ValueError(f"{pyproject}: no [project.urls] Repository entry; add the repo's URL")
    return urls["Repository"]


def colab_url(repository: str, notebook: str, branch: str = BRANCH) -> str:
    """Colab's address for ``notebooks/<notebook>.ipynb`` of a GitHub ``repository``."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repository)
    if match is None:
        raise ValueError(
            f"Colab opens notebooks from GitHub only; the repository {repository!r} is not "
            "https://github.com/OWNER/NAME"
        )
    owner, name = match.groups()
    return (
        f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/"
        f"notebooks/{notebook}.ipynb"
    )


def colab_badge(repository: str, notebook: str) -> str:
    """Markdown "Open In Colab" badge linking to the notebook."""
    return f"[![Open In Colab]({COLAB_BADGE_SVG})]({colab_url(repository, notebook)})"


def readme_badges(repository: str) -> str:
    """The README's block of badges, one row per notebook, between its markers."""
    rows = [f"| `{name}` | {colab_badge(repository, name)} |" for name in NOTEBOOKS]
    return "\n".join([README_START, "| notebook | Colab |", "| --- | --- |", *rows, README_END])


def _rewrite_notebook(text: str, repository: str, name: str) -> str:
    text = BADGE_LINE.sub(lambda _: "# " + colab_badge(repository, name), text)
    return REPOSITORY_LINE.sub(lambda _: f'REPOSITORY = "{repository}"', text)


def _rewrite(path: Path, text: str) -> None:
    """Replace ``path``'s text atomically, keeping its permissions."""
    mode = path.stat().st_mode
    atomic_write_text(path, text)
    path.chmod(mode)


def sync_colab_links(root: str | os.PathLike = ".") -> list[Path]:
    """Rewrite badges and install lines in ``notebooks/*.py`` (+ paired ``.ipynb``) and README.

    Everything is generated from ``pyproject.toml``; the ``.ipynb`` is re-paired with
    ``jupytext --sync`` (cell ids kept). Returns the files that changed.
    """
    root = Path(root)
    repository = repository_url(root / "pyproject.toml")
    changed = []
    for name in NOTEBOOKS:
        source = root / "notebooks" / f"{name}.py"
        if not source.exists():
            continue
        text = source.read_text()
        updated = _rewrite_notebook(text, repository, name)
        paired = source.with_suffix(".ipynb")
        if updated != text or not paired.exists():
            _rewrite(source, updated)
            sync = [sys.executable, "-m", "jupytext", "--quiet", "--sync", str(source)]
            subprocess.run(sync, check=True, capture_output=True, timeout=120)
            changed += [source, paired]
    readme = root / "README.md"
    if readme.exists():
        text = readme.read_text()
        pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.DOTALL)
        updated = pattern.sub(lambda _: readme_badges(repository), text)
        if updated != text:
            _rewrite(readme, updated)
            changed.append(readme)
    return changed


def colab_link_problems(root: str | os.PathLike = ".") -> list[str]:
    """Where badges or install lines disagree with ``pyproject.toml`` (empty: all agree)."""
    root = Path(root)
    repository = repository_url(root / "pyproject.toml")
    problems = []
    for name in NOTEBOOKS:
        for path in (root / "notebooks" / f"{name}.py", root / "notebooks" / f"{name}.ipynb"):
            text = path.read_text() if path.exists() else ""
            if colab_url(repository, name) not in text:
                problems.append(f"{path}: no Colab badge for {colab_url(repository, name)}")
            install = f'REPOSITORY = "{repository}"'
            if install not in text and json.dumps(install)[1:-1] not in text:
                problems.append(f"{path}: install cell does not install {repository}")
    readme = root / "README.md"
    if readme_badges(repository) not in (readme.read_text() if readme.exists() else ""):
        problems.append(f"{readme}: Colab badge block differs from `make badges` output")
    return problems


# ---------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m sasrec_utils.report")
    commands = parser.add_subparsers(dest="command", required=True)
    badges = commands.add_parser("badges", help="regenerate Colab badges/install lines")
    badges.add_argument("--root", default=".")
    index = commands.add_parser("index", help="write REPORTS/index.html")
    index.add_argument("reports", nargs="?", default="reports")
    failure = commands.add_parser("failure", help="explain a failed papermill run")
    failure.add_argument("executed")
    failure.add_argument("source")
    args = parser.parse_args(argv)
    if args.command == "badges":
        changed = sync_colab_links(args.root)
        print("updated: " + ", ".join(map(str, changed)) if changed else "badges up to date")
        problems = colab_link_problems(args.root)
        print("\n".join(problems), file=sys.stderr)
        return 1 if problems else 0
    if args.command == "index":
        print(f"wrote {build_index(args.reports)}")
        return 0
    print(describe_failure(args.executed, args.source), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
