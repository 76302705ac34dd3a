"""Report tooling for the Makefile: papermill arguments, the HTML index, failure messages,
and the "Open in Colab" badges and install cell generated from ``pyproject.toml`` and
``tools/colab_cell.py``.

    python3 tools/report_tools.py papermill-args 03_training   # -p NAME VALUE ... from $VARS
    python3 tools/report_tools.py parameters artifacts/.parameters  # check all, stamp each
    python3 tools/report_tools.py index reports                # reports/index.html
    python3 tools/report_tools.py headline reports README.md   # `make headline`
    python3 tools/report_tools.py failure reports/NN.tmp.ipynb notebooks/NN.py
    python3 tools/report_tools.py badges                       # `make badges`: + the cell

Not part of the installed package: nothing here is needed to train or serve a model.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sasrec_utils.atomic import atomic_write_text
from sasrec_utils.config import SASRecConfig
from sasrec_utils.evaluation.metrics import find_pair
from sasrec_utils.report import shopping
from sasrec_utils.report.artifacts import notebook_config, preset_line
from sasrec_utils.report.contracts import (
    MAKE_VARIABLES,
    METRICS_FILE,
    NOTEBOOK_PARAMETERS,
    NOTEBOOKS,
    baseline_row,
    best_baseline_pair,
    bootstrap_pairs,
    has_held_out,
    held_out_summary,
    non_default_label,
    read_metrics,
)
from sasrec_utils.report.extensions import model_extensions
from sasrec_utils.report.ladder import finished_ablations
from sasrec_utils.report.protocol import TRAIN, TRAIN_VALID

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

BRANCH = "main"
COLAB_BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_LINE = re.compile(r"^# \[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.MULTILINE)
COLAB_CELL_TEMPLATE = Path(__file__).with_name("colab_cell.py")
CELL_START = "# Colab only"  # how the template's first copied line, the cell's first, begins
REPOSITORY_PLACEHOLDER = "<[project.urls] Repository of pyproject.toml>"
# the Makefile's nbconvert call leaves the code of cells with this tag out of the HTML
HIDDEN_INPUT_TAG = "remove-input"
# a notebook's install cell: its `# %%` line to the blank line before the next cell
INSTALL_CELL = re.compile(
    r"^# %%[^\n]*\n" + re.escape(CELL_START) + r".*?\n(?=\n# %%)", re.MULTILINE | re.DOTALL
)
README_START = "<!-- colab-badges:start -->"
README_END = "<!-- colab-badges:end -->"
ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


# ---------------------------------------------------------------- papermill parameters


def set_parameters(notebook: str, variables: Mapping[str, str]) -> dict[str, str]:
    """The notebook's parameters whose Makefile variable is set (non-empty) in
    ``variables``, which maps variables (``EPOCHS``) to values."""
    values = {
        name: variables.get(MAKE_VARIABLES[name], "").strip()
        for name in NOTEBOOK_PARAMETERS[notebook]
    }
    return {name: value for name, value in values.items() if value}


def papermill_args(notebook: str, variables: Mapping[str, str]) -> list[str]:
    """``-p NAME VALUE`` for each of the notebook's parameters whose variable is set;
    the others keep the notebook's default."""
    return [
        part
        for name, value in set_parameters(notebook, variables).items()
        for part in ("-p", name, value)
    ]


PROGRESS_MODES = ("bar", "lines", "none")


def papermill_value(text: str) -> Any:
    """A ``-p`` value as papermill passes it: ``True``/``False``/``None``, int, float, or
    the text itself."""
    named = {"True": True, "False": False, "None": None}
    if text in named:
        return named[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check_parameters(notebook: str, variables: Mapping[str, str]) -> None:
    """Raise ``ValueError`` naming the Makefile variable and its value when a parameter
    ``make report`` would give ``notebook`` is refused (by the config's own checks, or for
    ``N_SEEDS`` and ``PROGRESS`` here)."""
    for name, text in set_parameters(notebook, variables).items():
        value, said = papermill_value(text), f"{MAKE_VARIABLES[name]}={text}"
        try:
            notebook_config({name: value}, notebook)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{said}: {error}") from None
        if name == "n_seeds" and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise ValueError(f"{said}: the number of seeds must be a whole number >= 1")
        if name == "progress" and value not in PROGRESS_MODES:
            raise ValueError(f"{said}: must be one of {list(PROGRESS_MODES)}")


def write_parameter_stamps(folder: str | os.PathLike, variables: Mapping[str, str]) -> list[str]:
    """Check every notebook's parameters, then write ``folder/<notebook>`` with its papermill
    arguments, only where they changed (so ``make`` reruns only the notebooks that read a
    changed parameter). Nothing is written when any parameter is refused. Returns the
    notebooks whose stamp changed."""
    for notebook in NOTEBOOKS:
        check_parameters(notebook, variables)
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    changed = []
    for notebook in NOTEBOOKS:
        text = " ".join(papermill_args(notebook, variables)) + "\n"
        stamp = root / notebook
        if not stamp.exists() or stamp.read_text() != text:
            atomic_write_text(stamp, text)
            changed.append(notebook)
    return changed


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


BENCHMARK_FILE = "benchmark.json"
HEADLINE_START = "<!-- headline:start -->"
HEADLINE_END = "<!-- headline:end -->"
TIMINGS_START = "<!-- timings:start -->"
TIMINGS_END = "<!-- timings:end -->"


def _mean(metrics: dict[str, Any], system: str, key: str) -> float:
    return metrics["systems"][system]["mean"][key]


def _spread(value: float, sd: float, n_seeds: int, digits: int = 4) -> str:
    """``value ± sd`` over several seeds; the value alone for one seed (no spread to show)."""
    return f"{value:.{digits}f} ± {sd:.{digits}f}" if n_seeds > 1 else f"{value:.{digits}f}"


def headline_text(
    metrics: dict[str, Any],
    benchmark: dict[str, Any] | None = None,
    shopping_benchmark: dict[str, Any] | None = None,
    timings: bool = True,
) -> str:
    """The headline as Markdown, every figure from ``metrics.json`` (and, when given,
    ``benchmark.json``: the held-out seeds of ``make bench``; ``benchmark_beauty.json``:
    ``make bench-beauty``'s shopping figures).

    SASRec's test NDCG@10 as mean ± sd over its seeds with the per-seed values (one seed:
    its value, no ±), the best baseline (chosen on validation), the bootstrap interval of
    the difference, training time (``timings``: ``reports/index.html``'s, not README's,
    whose headline changes only when a figure does), and the seed-noise statement. A run
    with other than the default parameters says so first (``non_default_label``).
    """
    sasrec = metrics["systems"]["SASRec"]
    n_seeds = sasrec["n_seeds"]
    per_seed = ", ".join(
        f"{seed}: {values['ndcg@10']:.4f}" for seed, values in sasrec["per_seed"].items()
    )
    best = metrics["bootstrap"]["best_baseline"]
    pair = find_pair(bootstrap_pairs(metrics), "SASRec", best)
    seconds = [run["seconds_to_best"] for run in metrics["training"].get("runs", [])]
    took = f"{min(seconds):.0f}–{max(seconds):.0f} s" if len(seconds) > 1 else ""
    took = took or (f"{seconds[0]:.0f} s" if seconds else "")
    timing = (
        f" Training took {took} to the kept epoch per seed on {metrics['training']['device']}."
        if took and timings
        else ""
    )
    ensemble_ndcg = _mean(metrics, "ensemble", "ndcg@10")
    ensemble = f"ensemble of the seeds {ensemble_ndcg:.4f}; " if n_seeds > 1 else ""
    label = non_default_label(metrics)
    settings = f"{label} (not the default)" if label else "the default settings"
    ndcg = _spread(sasrec["mean"]["ndcg@10"], sasrec["sd"]["ndcg@10"], n_seeds)
    seeds_said = (
        f", {n_seeds} seeds: **NDCG@10 {ndcg}** (per seed {per_seed})"
        if n_seeds > 1
        else f": **NDCG@10 {ndcg}** (seed {per_seed.split(':')[0]})"
    )
    noise = (
        f" One seed moves NDCG@10 by about ±{sasrec['sd']['ndcg@10']:.3f} on these "
        f"{metrics['n_queries']:,} users: compare means over seeds."
        if n_seeds > 1
        else " One seed only: how much another seed would move these figures is not measured."
    )
    return (
        (
            f"Test split of {metrics['dataset']}, {metrics['n_queries']:,} users, full ranking "
            f"over {metrics['n_items']:,} items (history masked, pessimistic ties). SASRec with "
            f"{settings}{seeds_said}, HR@10 {sasrec['mean']['hr@10']:.4f}. Best simple "
            f"baseline, chosen on validation: **{best} {_mean(metrics, best, 'ndcg@10'):.4f}**; "
            f"{ensemble}most-popular "
            f"{_mean(metrics, 'most-popular', 'ndcg@10'):.4f}. SASRec − {best}: "
            f"{pair.difference:+.4f} NDCG@10 ({pair.lift:+.1%}), paired bootstrap "
            f"95% interval [{pair.difference_low:+.4f}, {pair.difference_high:+.4f}]."
            f"{timing}{noise}"
        )
        + (benchmark_text(benchmark) if benchmark else "")
        + (shopping_text(shopping_benchmark) if shopping_benchmark else "")
    )


def benchmark_text(benchmark: dict[str, Any]) -> str:
    """``make bench``'s held-out result as one Markdown sentence (leading space)."""
    sasrec, interval = held_out_summary(benchmark), best_baseline_pair(benchmark)
    best = interval.baseline
    baseline = baseline_row(benchmark, best)
    seeds = sasrec["seeds"]
    return (
        f" `make bench`, {len(seeds)} held-out seeds ({seeds[0]}–{seeds[-1]}) that no choice "
        f"used: SASRec **{sasrec['ndcg@10']:.4f} ± {sasrec['ndcg@10_sd']:.4f}** "
        f"({sasrec['ndcg@10_min']:.4f}–{sasrec['ndcg@10_max']:.4f}), HR@10 "
        f"{sasrec['hr@10']:.4f}, against {best} {baseline['ndcg@10']:.4f}: "
        f"{interval.lift:+.1%}, 95% interval [{interval.lift_low:+.1%}, "
        f"{interval.lift_high:+.1%}]."
    )


def shopping_text(benchmark: dict[str, Any]) -> str:
    """``make bench-beauty``'s held-out results as one Markdown sentence (leading space): the
    papers' protocol, with the preset's finished ablations (what it reaches without a
    part), beside the published figures, then the deployment refit, each against the best
    baseline fitted on the same items."""
    seeds = ", ".join(map(str, benchmark["held_out_seeds"]))
    preset = (
        "the `shopping` preset"
        if shopping.runs_todays_preset(benchmark)
        else "an earlier `shopping` preset (the current one awaits `make bench-beauty`)"
    ) + "".join(
        f" + {name}" for name in model_extensions(SASRecConfig.from_dict(benchmark["config"]))
    )
    parts = []
    for protocol in (TRAIN, TRAIN_VALID):
        if not has_held_out(benchmark, protocol):
            continue
        sasrec = held_out_summary(benchmark, trained_on=protocol)
        pair = best_baseline_pair(benchmark, protocol)
        baseline = baseline_row(benchmark, pair.baseline, protocol)
        label = (
            "papers' protocol (trained on the training items only)"
            if protocol == TRAIN
            else "deployment, retrained on the validation item too"
        )
        text = (
            f"{label}: {preset} **{sasrec['ndcg@10']:.4f} ± "
            f"{sasrec['ndcg@10_sd']:.4f}** (worst seed {sasrec['ndcg@10_min']:.4f}), HR@10 "
            f"{sasrec['hr@10']:.4f}, against {pair.baseline} fitted alike "
            f"{baseline['ndcg@10']:.4f}: {pair.lift:+.1%}, 95% interval "
            f"[{pair.lift_low:+.1%}, {pair.lift_high:+.1%}]"
        )
        if protocol == TRAIN:
            text += "".join(
                f"; {row['name']} {row['ndcg@10']:.4f} ± {row['ndcg@10_sd']:.4f}"
                for row in finished_ablations(benchmark)
            )
            published = ", ".join(
                f"{row['model'].split(' (')[0]} {row['ndcg@10']:.4f}"
                for row in shopping.PUBLISHED_BEAUTY
            )
            text += f"; published under the same protocol: {published}"
        parts.append(text)
    if not has_held_out(benchmark, TRAIN):
        parts.append(
            "no papers'-protocol figure in this file yet, so none is set beside the published "
            "ones (rerun `make bench-beauty`)"
        )
    return (
        f" Shopping data, `make bench-beauty` (Amazon Beauty, {benchmark['n_users']:,} users, "
        f"full ranking over {benchmark['n_items']:,} items, held-out seeds {seeds}): "
        + "; ".join(parts)
        + "."
    )


def _headline_rows(metrics: dict[str, Any]) -> str:
    names = {"ndcg@10": "NDCG@10", "hr@10": "HR@10", "mrr": "MRR", "coverage@10": "coverage@10"}
    header = "".join(f"<th>{c}</th>" for c in ("system", *names.values(), "seeds"))
    body = ""
    ordered = sorted(metrics["systems"].items(), key=lambda kv: -kv[1]["mean"]["ndcg@10"])
    for system, summary in ordered:
        cells = ""
        for key in names:
            value, spread = summary["mean"][key], summary["sd"][key]
            cells += f"<td>{_spread(value, spread, summary['n_seeds'])}</td>"
        body += f"<tr><td>{html.escape(system)}</td>{cells}<td>{summary['n_seeds']}</td></tr>"
    return f"<table><tr>{header}</tr>{body}</table>"


def sync_readme_headline(
    readme: str | os.PathLike,
    metrics: dict[str, Any],
    benchmark: dict[str, Any] | None = None,
    shopping_benchmark: dict[str, Any] | None = None,
) -> bool:
    """Rewrite the README's headline block from ``metrics`` (and the benchmarks); True
    when it changed."""
    headline = headline_text(metrics, benchmark, shopping_benchmark, timings=False)
    block = f"{HEADLINE_START}\n{headline}\n{HEADLINE_END}"
    return _replace_block(Path(readme), HEADLINE_START, HEADLINE_END, block, required=True)


def _replace_block(path: Path, start: str, end: str, block: str, required: bool) -> bool:
    """Replace the text from ``start`` to ``end`` (markers included) in ``path`` with
    ``block``; True when the file changed. Without the markers: ``ValueError`` when
    ``required``, else nothing changes."""
    text = path.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if required and not pattern.search(text):
        raise ValueError(f"{path}: no {start} ... {end} block to fill")
    updated = pattern.sub(lambda _: block, text)
    if updated != text:
        _rewrite(path, updated)
    return updated != text


def write_headline(
    readme: str | os.PathLike, reports_dir: str | os.PathLike, metrics: dict
) -> None:
    """Rewrite ``readme``'s headline from ``metrics`` and the benchmarks in ``reports_dir``."""
    changed = sync_readme_headline(
        readme,
        metrics,
        read_benchmark(reports_dir),
        read_benchmark(reports_dir, shopping.BENCHMARK_FILE),
    )
    print(f"{'updated' if changed else 'unchanged'}: {readme} headline")


def read_benchmark(
    reports_dir: str | os.PathLike, name: str = BENCHMARK_FILE
) -> dict[str, Any] | None:
    """``reports_dir/benchmark.json`` (``make bench``; ``name`` another one, e.g.
    ``benchmark_beauty.json``), or None when it is not there."""
    path = Path(reports_dir) / name
    return json.loads(path.read_text()) if path.exists() else None


def notebook_seconds(folder: Path, name: str) -> tuple[dict[str, Any], float] | None:
    """An executed notebook of ``folder`` and its papermill run time, or None if not run."""
    path = folder / f"{name}.ipynb"
    if not path.exists():
        return None
    notebook = json.loads(path.read_text())
    return notebook, notebook.get("metadata", {}).get("papermill", {}).get("duration") or 0.0


def subfolder_runs(folder: Path) -> list[Path]:
    """The rendered runs in ``folder``'s subfolders (each with its ``index.html``), sorted."""
    return sorted(path for path in folder.iterdir() if (path / "index.html").exists())


def other_runs(folder: Path) -> str:
    """Links to the runs in ``folder``'s subfolders (``reports/amazon-beauty/``), each with
    its dataset, parameters and notebook time; empty when there are none."""
    items = []
    for sub in subfolder_runs(folder):
        seconds = sum(run[1] for name in NOTEBOOKS if (run := notebook_seconds(sub, name)))
        metrics = read_metrics(sub) if (sub / METRICS_FILE).exists() else {}
        said = (
            f"{metrics['dataset']}, {non_default_label(metrics) or 'the default settings'}, "
            if metrics
            else ""
        )
        items.append(
            f"<li><a href='{sub.name}/index.html'>{html.escape(sub.name)}/</a> "
            f"<span class='muted'>({html.escape(said)}{seconds:.0f} s of notebook time)"
            "</span></li>"
        )
    return f"<h2>Other runs</h2><ul>{''.join(items)}</ul>" if items else ""


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def timings_table(reports_dir: str | os.PathLike) -> str:
    """A markdown table of each notebook's run time in ``reports_dir`` and in each of its
    subfolders' runs (``reports/amazon-beauty/``), one column per run, named by its dataset
    and the parameters that made it."""
    top = Path(reports_dir)
    runs = [top, *subfolder_runs(top)]
    columns, seconds = [], []
    for folder in runs:
        metrics = read_metrics(folder) if (folder / METRICS_FILE).exists() else {}
        label = non_default_label(metrics) if metrics else ""
        dataset = metrics.get("dataset", folder.name)
        name = label if "DATASET=" in label else f"{dataset}, {label or 'the default settings'}"
        where = top.name if folder == top else f"{top.name}/{folder.name}"
        columns.append(f"`{where}/`: {name}")
        seconds.append({n: run[1] for n in NOTEBOOKS if (run := notebook_seconds(folder, n))})
    lines = ["| notebook | " + " | ".join(columns) + " |", "|---" * (len(runs) + 1) + "|"]
    for name in NOTEBOOKS:
        cells = [_duration(run[name]) if name in run else "not run" for run in seconds]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    totals = [_duration(sum(run.values())) for run in seconds]
    lines.append("| all five | " + " | ".join(f"**{total}**" for total in totals) + " |")
    return "\n".join(lines)


def sync_readme_timings(readme: str | os.PathLike, reports_dir: str | os.PathLike) -> bool:
    """Rewrite the README's timings block (when it has one) from the runs in
    ``reports_dir``; True when it changed."""
    block = f"{TIMINGS_START}\n{timings_table(reports_dir)}\n{TIMINGS_END}"
    return _replace_block(Path(readme), TIMINGS_START, TIMINGS_END, block, required=False)


def build_index(reports_dir: str | os.PathLike) -> Path:
    """Write ``reports_dir/index.html``: the five reports with run times, the run's preset,
    headline metrics, and links to the runs in its subfolders."""
    folder = Path(reports_dir)
    items, total = [], 0.0
    for name in NOTEBOOKS:
        run = notebook_seconds(folder, name)
        if run is None:
            items.append(f"<li>{name}: not run yet</li>")
            continue
        notebook, duration = run
        total += duration
        items.append(
            f"<li><a href='{name}.html'>{html.escape(notebook_title(notebook))}</a> "
            f"<span class='muted'>({duration:.0f} s)</span></li>"
        )
    metrics_path = folder / METRICS_FILE
    metrics = read_metrics(metrics_path) if metrics_path.exists() else {}
    headline = "<p>No metrics yet: run the evaluation notebook.</p>"
    preset = html.escape(preset_line(metrics.get("preset"))).replace("`", "") if metrics else ""
    if metrics:
        shopping_benchmark = read_benchmark(folder, shopping.BENCHMARK_FILE)
        text = headline_text(metrics, read_benchmark(folder), shopping_benchmark)
        text = text.replace("**", "")
        sentence = html.escape(text).replace("`", "")
        headline = f"<p>{sentence}</p>" + _headline_rows(metrics)
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
<p>{preset}</p>
<h2>Headline test metrics</h2>
{headline}
{figure}
{other_runs(folder)}
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


def colab_cell(repository: str) -> str:
    """The notebooks' install cell in jupytext's percent format, from ``colab_cell.py``:
    its ``# %%`` line (tagged ``HIDDEN_INPUT_TAG``), then the code installing ``repository``."""
    template = COLAB_CELL_TEMPLATE.read_text()
    if template.count(REPOSITORY_PLACEHOLDER) != 1:
        raise ValueError(f"{COLAB_CELL_TEMPLATE}: needs {REPOSITORY_PLACEHOLDER!r} once")
    start = template.index("\n" + CELL_START) + 1  # the docstring above is not copied
    code = template[start:].replace(REPOSITORY_PLACEHOLDER, repository)
    return f'# %% tags=["{HIDDEN_INPUT_TAG}"]\n{code}'


def notebook_install_cell(text: str) -> str | None:
    """The install cell of a notebook's percent-format source, as ``colab_cell`` gives it."""
    match = INSTALL_CELL.search(text)
    return match.group(0) if match else None


def _rewrite_notebook(text: str, repository: str, name: str) -> str:
    text = BADGE_LINE.sub(lambda _: "# " + colab_badge(repository, name), text)
    return INSTALL_CELL.sub(lambda _: colab_cell(repository), text, count=1)


def _rewrite(path: Path, text: str) -> None:
    """Replace ``path``'s text atomically, keeping its permissions."""
    mode = path.stat().st_mode
    atomic_write_text(path, text)
    path.chmod(mode)


def sync_colab_links(root: str | os.PathLike = ".") -> list[Path]:
    """Rewrite badges and install cells in ``notebooks/*.py`` (+ paired ``.ipynb``) and README.

    Everything is generated from ``pyproject.toml`` and ``colab_cell.py`` (the install cell,
    which each notebook must already have, after a ``# %%`` line, ending before the next
    cell's blank line); the ``.ipynb`` is re-paired with
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
    badges = readme_badges(repository)
    if readme.exists() and _replace_block(readme, README_START, README_END, badges, False):
        changed.append(readme)
    return changed


def colab_link_problems(root: str | os.PathLike = ".") -> list[str]:
    """Where badges or install cells disagree with ``pyproject.toml`` and ``colab_cell.py``
    (empty: all agree)."""
    root = Path(root)
    repository = repository_url(root / "pyproject.toml")
    problems = []
    for name in NOTEBOOKS:
        for path in (root / "notebooks" / f"{name}.py", root / "notebooks" / f"{name}.ipynb"):
            text = path.read_text() if path.exists() else ""
            if colab_url(repository, name) not in text:
                problems.append(f"{path}: no Colab badge for {colab_url(repository, name)}")
        source = root / "notebooks" / f"{name}.py"
        cell = notebook_install_cell(source.read_text()) if source.exists() else None
        if cell != colab_cell(repository):
            problems.append(f"{source}: install cell differs from tools/colab_cell.py's")
    readme = root / "README.md"
    if readme_badges(repository) not in (readme.read_text() if readme.exists() else ""):
        problems.append(f"{readme}: Colab badge block differs from `make badges` output")
    return problems


def parameter_help() -> list[str]:
    """One `make help` line per notebook parameter of `make report`: its Makefile
    variable, the notebook parameter it sets and the notebooks that read it."""
    lines = []
    for name, variable in sorted(MAKE_VARIABLES.items(), key=lambda pair: pair[1]):
        readers = [notebook[:2] for notebook, names in NOTEBOOK_PARAMETERS.items() if name in names]
        lines.append(f"  {variable:<16} notebook parameter {name} ({', '.join(readers)})")
    return lines


# ---------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 tools/report_tools.py")
    commands = parser.add_subparsers(dest="command", required=True)
    args_of = commands.add_parser("papermill-args", help="-p NAME VALUE from the environment")
    args_of.add_argument("notebook", choices=NOTEBOOKS)
    stamps = commands.add_parser("parameters", help="check all parameters, stamp each notebook")
    stamps.add_argument("folder")
    badges = commands.add_parser("badges", help="regenerate Colab badges and install cells")
    badges.add_argument("--root", default=".")
    index = commands.add_parser("index", help="write REPORTS/index.html, README's headline")
    index.add_argument("reports", nargs="?", default="reports")
    index.add_argument(
        "--readme", help="also rewrite this README's headline and timings, default runs only"
    )
    headline = commands.add_parser("headline", help="rewrite README's headline from REPORTS")
    headline.add_argument("reports")
    headline.add_argument("readme")
    commands.add_parser("parameter-help", help="make help's lines for make report's parameters")
    failure = commands.add_parser("failure", help="explain a failed papermill run")
    failure.add_argument("executed")
    failure.add_argument("source")
    args = parser.parse_args(argv)
    if args.command == "parameter-help":
        print("\n".join(parameter_help()))
        return 0
    if args.command == "papermill-args":
        print(" ".join(papermill_args(args.notebook, os.environ)))
        return 0
    if args.command == "parameters":
        first = [name for name in NOTEBOOKS if not (Path(args.folder) / name).exists()]
        try:
            changed = write_parameter_stamps(args.folder, os.environ)
        except ValueError as error:
            print(f"make report: {error}; nothing was run", file=sys.stderr)
            return 2
        changed = [name for name in changed if name not in first]  # a fresh clone: none
        if changed:
            print(f"parameters changed for {', '.join(changed)}")
        return 0
    if args.command == "badges":
        changed = sync_colab_links(args.root)
        print("updated: " + ", ".join(map(str, changed)) if changed else "badges up to date")
        problems = colab_link_problems(args.root)
        print("\n".join(problems), file=sys.stderr)
        return 1 if problems else 0
    if args.command == "index":
        print(f"wrote {build_index(args.reports)}")
        if args.readme:
            metrics = read_metrics(args.reports)
            label = non_default_label(metrics)
            if label:
                print(
                    f"unchanged: {args.readme} headline ({label}: not the default; "
                    "`make headline` writes it anyway)"
                )
                return 0
            write_headline(args.readme, args.reports, metrics)
            changed = sync_readme_timings(args.readme, args.reports)
            print(f"{'updated' if changed else 'unchanged'}: {args.readme} timings")
        return 0
    if args.command == "headline":
        write_headline(args.readme, args.reports, read_metrics(args.reports))
        return 0
    print(describe_failure(args.executed, args.source), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
