# SASRec report: `make install && make report` runs everything; `make test` tests it.
# PYTHON is the interpreter you choose (`make install PYTHON=/usr/bin/python3`); every
# target then runs the one tools/install_env.py picks: PYTHON itself when it is a virtual
# or conda environment (an activated one, say), else $(VENV)/bin/python once `make install`
# has created it with PYTHON (a stock Debian/Ubuntu Python refuses pip: PEP 668), else PYTHON.
PYTHON ?= python3
VENV ?= .venv
BASE_PYTHON := $(PYTHON)
override PYTHON := $(or $(shell $(BASE_PYTHON) tools/install_env.py python $(VENV) \
	2>/dev/null),$(BASE_PYTHON))
# torch is installed only when missing, never replacing a platform's own build (Colab, a
# CUDA machine: a base Python with torch gets a $(VENV) that sees its packages). Which
# build: tools/install_env.py torch_index: TORCH_INDEX when given; else without an NVIDIA
# GPU the CPU build from https://download.pytorch.org/whl/cpu (the configured index, with a
# one-line note, when that one cannot be reached); with one, the package index's CUDA build.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: help install install-packages test lint data report bench bench-beauty bench-scale \
	clean-reports wheel lab latency

# every target and parameter, one line each (tests/test_makefile_help.py keeps it complete)
help:
	@echo "targets (run with .venv/bin/python after make install; nothing to activate):"
	@echo "  install          create .venv when needed, install torch (if missing) and the package"
	@echo "  install-packages the package and its tools into the chosen Python (make install's step)"
	@echo "  report           run the five notebooks -> reports/*.html, reports/index.html"
	@echo "  test             the test suite (offline)"
	@echo "  lint             ruff check and format check"
	@echo "  data             download or find MovieLens-100k and print its shape"
	@echo "  lab              JupyterLab on notebooks/ with this environment's kernel"
	@echo "  latency          CPU serving latency (benchmarks/latency.py; LATENCY_ARGS adds options)"
	@echo "  bench            ML-100k benchmark -> reports/benchmark.json"
	@echo "  bench-beauty     Amazon Beauty benchmark of the shopping preset"
	@echo "  bench-scale      retail-scale benchmark on the synthetic log"
	@echo "  headline         rewrite README.md's headline from REPORTS/metrics.json"
	@echo "  check-parameters check the report parameters without running anything"
	@echo "  clean-reports    delete the generated reports and parameter stamps"
	@echo "  wheel            build dist/sasrec_utils-*.whl (for Colab)"
	@echo "  badges           Colab badges and install cell from pyproject.toml's repository"
	@echo "  sync-notebooks   re-pair notebooks/*.ipynb with their .py sources"
	@echo "  help             this list"
	@echo "parameters (make TARGET NAME=value):"
	@echo "  PYTHON           interpreter make install builds .venv from (default python3)"
	@echo "  VENV             the virtual environment folder (default .venv)"
	@echo "  TORCH_SPEC       torch requirement installed when missing (default torch==2.13.0)"
	@echo "  TORCH_INDEX      wheel index for torch (default: CPU index without an NVIDIA GPU)"
	@echo "  LAB_ARGS         extra arguments of jupyter lab (e.g. --no-browser)"
	@echo "  REPORTS          folder of the rendered reports (default reports)"
	@echo "  ARTIFACTS        folder of data, checkpoints and stamps (default artifacts)"
	@echo "  PROGRESS         training progress in reports: lines or bar (default lines)"
	@echo "  PARAMS_FILE      YAML file of notebook parameters for make report"
	@echo "  LATENCY_ARGS     options of benchmarks/latency.py (e.g. --checkpoint FILE)"
	@echo "  BENCH_ARGS       options of benchmarks/bench.py (bench, bench-beauty)"
	@echo "  BENCH_SCALE_ARGS options of benchmarks/bench_scale.py"
	@echo "make report's notebook parameters (empty: the notebook's default; README, 'make report parameters'):"
	@$(TOOLS) parameter-help 2>/dev/null || echo "  EPOCHS, ...      listed here once make install has run"

# creates $(VENV) when the rule above needs it, then installs with the new make's PYTHON
install:
	@$(BASE_PYTHON) tools/install_env.py prepare $(VENV)
	@$(MAKE) --no-print-directory install-packages

install-packages:
	@$(PYTHON) -c "import torch" 2>/dev/null && echo "torch already installed: keeping it" || \
		{ index=$$($(PYTHON) tools/install_env.py torch-index "$(TORCH_INDEX)") && \
		$(PYTHON) -m pip install $${index:+--index-url $$index} "$(TORCH_SPEC)"; }
	$(PYTHON) -m pip install -e ".[dev]"

# dist/sasrec_utils-*.whl, for Colab when the repository cannot be reached (README, Colab);
# built offline with the environment's setuptools (a dev dependency)
wheel:
	rm -f dist/sasrec_utils-*.whl
	$(PYTHON) -m pip wheel --no-deps --no-build-isolation --quiet --wheel-dir dist .
	@ls dist/sasrec_utils-*.whl

# JupyterLab on the notebooks, with this environment's kernel. `make lab LAB_ARGS=--no-browser`
LAB_ARGS ?=
lab:
	$(PYTHON) -m jupyter lab notebooks/ $(LAB_ARGS)

test:
	$(PYTHON) -m pytest

# CPU serving latency: p50/p95 of one request and of a batch of 64 (threads by the training
# rule). `make latency LATENCY_ARGS="--checkpoint artifacts/seed-42/best.pt"`
LATENCY_ARGS ?=
latency:
	$(NB_ENV) $(PYTHON) benchmarks/latency.py $(LATENCY_ARGS)

lint:
	$(PYTHON) -m ruff check sasrec_utils tests benchmarks tools notebooks/*.py
	$(PYTHON) -m ruff format --check sasrec_utils tests benchmarks tools

data:
	$(PYTHON) -c "from sasrec_utils.data.movielens import load_ml100k; print(load_ml100k().shape)"

# ---------------------------------------------------------------- reports
# `make report` runs the five notebooks in order through papermill (the .py source piped
# through jupytext), writes executed notebooks + HTML to reports/ and reports/index.html.
# Each report is a file target: a changed notebook, package module or parameter reruns
# only what depends on it. Parameters: `make report EPOCHS=5 DEVICE=cpu` (empty = the
# notebook's default, i.e. SASRecConfig's), or a YAML file: `make report PARAMS_FILE=p.yml`.
# PRESET=NAME (a name in sasrec_utils.presets.CONFIGS) is what every notebook starts from;
# the other parameters override it. Shopping data, with Beauty.txt in SASREC_DATA_DIR:
#   make report PRESET=shopping DATASET=amazon-beauty REPORTS=reports/amazon-beauty
# A run into a subfolder of reports/ also rewrites reports/index.html, which links it.
# Which notebook takes which parameter, and the variable that sets it, is one table:
# sasrec_utils/report/contracts.py, NOTEBOOK_PARAMETERS (tools/report_tools.py reads it; the
# variables reach it through the environment). Values must not contain spaces. Every
# parameter is checked before any notebook runs; each notebook has its own stamp of the
# parameters it reads, so `EPOCHS=2` reruns 03 (and 04, 05, which read its models) only.
# README.md's headline is rewritten only by a run with the default parameters into
# reports/; `make headline` rewrites it from REPORTS whatever the run was.
REPORTS ?= reports
# a run into reports/NAME keeps its data and models apart, in artifacts/NAME
ARTIFACTS ?= $(if $(filter reports/%,$(REPORTS)),artifacts/$(patsubst reports/%,%,$(REPORTS)),artifacts)
# rendered reports show one line per epoch rather than a live progress bar
PROGRESS ?= lines
NOTEBOOK_NAMES := 01_theory_and_data 02_model 03_training 04_evaluation 05_production_demo
REPORT_HTML := $(NOTEBOOK_NAMES:%=$(REPORTS)/%.html)
PACKAGE_SOURCES := $(wildcard sasrec_utils/*.py sasrec_utils/*/*.py)
PARAM_STAMPS := $(NOTEBOOK_NAMES:%=$(ARTIFACTS)/.parameters/%)
# the notebooks and tools import this checkout's sasrec_utils, installed or not
NB_ENV = PYTHONPATH="$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))"
TOOLS = $(NB_ENV) $(PYTHON) tools/report_tools.py
.EXPORT_ALL_VARIABLES:

.PHONY: badges sync-notebooks headline check-parameters
.PRECIOUS: $(REPORTS)/%.ipynb

report: $(REPORTS)/index.html

$(REPORTS)/index.html: $(REPORT_HTML) $(REPORTS)/metrics.json
	@$(TOOLS) index $(REPORTS) $(if $(filter reports,$(REPORTS)),--readme README.md)
	@$(if $(filter reports/%,$(REPORTS)),$(TOOLS) index reports --readme README.md)

$(REPORTS)/metrics.json: $(REPORTS)/04_evaluation.ipynb ;

# notebook N needs the artifacts written by the notebooks it reads from. 01 rewrites
# data.json only when the prepared data changes, so editing 01's text does not retrain.
$(ARTIFACTS)/data.json: $(REPORTS)/01_theory_and_data.ipynb ;
$(REPORTS)/02_model.ipynb $(REPORTS)/03_training.ipynb: $(ARTIFACTS)/data.json
$(REPORTS)/04_evaluation.ipynb $(REPORTS)/05_production_demo.ipynb: $(REPORTS)/03_training.ipynb

# executed into NN.tmp.ipynb, renamed only on success: a failure keeps the previous report
$(REPORTS)/%.ipynb: notebooks/%.py $(PACKAGE_SOURCES) $(ARTIFACTS)/.parameters/% $(PARAMS_FILE)
	@mkdir -p $(REPORTS)
	@rm -f $(REPORTS)/$*.tmp.ipynb
	@echo "== notebooks/$*.py -> $@"
	@$(PYTHON) -m jupytext --quiet --to ipynb --set-kernel python3 -o - $< | \
		$(NB_ENV) PYTHONWARNINGS="ignore:the file is not specified" \
		$(PYTHON) -m papermill - $(REPORTS)/$*.tmp.ipynb --cwd $(CURDIR) \
		$$($(TOOLS) papermill-args $*) $(if $(PARAMS_FILE),-f $(PARAMS_FILE)) \
		|| { $(TOOLS) failure $(REPORTS)/$*.tmp.ipynb notebooks/$*.py; exit 1; }
	@mv $(REPORTS)/$*.tmp.ipynb $@

# cells tagged remove-input (the Colab install cell) show their output only
$(REPORTS)/%.html: $(REPORTS)/%.ipynb
	@$(PYTHON) -m nbconvert --to html --log-level ERROR --output-dir $(REPORTS) \
		--TagRemovePreprocessor.remove_input_tags=remove-input \
		--output $*.tmp $< && mv $(REPORTS)/$*.tmp.html $@

# all parameters checked at once, before the first notebook; a notebook's stamp is
# rewritten only when its own parameters change, so unchanged runs stay up to date
$(PARAM_STAMPS): check-parameters ;
check-parameters:
	@$(TOOLS) parameters $(ARTIFACTS)/.parameters

# README.md's headline from $(REPORTS)/metrics.json, whatever parameters made it
headline:
	@$(TOOLS) headline $(REPORTS) README.md

clean-reports:
	rm -f $(REPORTS)/*.ipynb $(REPORTS)/*.html $(REPORTS)/*.png $(REPORTS)/metrics.json \
		$(PARAM_STAMPS)

# Colab badges in notebooks/ and README.md, and the notebooks' install cell from
# tools/colab_cell.py, with the repository of pyproject.toml
badges:
	$(TOOLS) badges

# re-pair notebooks/*.ipynb with their .py sources (the .py is the source of truth)
sync-notebooks:
	$(PYTHON) -m jupytext --sync notebooks/*.py

# ML-100k quality/speed/memory benchmark: default config (3 seeds), per-prefix baseline,
# most-popular, FLOP estimate -> reports/benchmark.json. `make bench BENCH_ARGS=--sweep=all`
bench:
	$(PYTHON) benchmarks/bench.py $(BENCH_ARGS)

# Amazon Beauty (S3-Rec's preprocessed file: Beauty.txt in SASREC_DATA_DIR, else data/, else
# downloaded from ICLRec): the shopping preset on 3 selection seeds (validation) and 3
# held-out seeds (test: each the papers'-protocol model and its refit on the validation
# item), Markov and co-occurrence tuned on validation and fitted both ways, then the
# ablation ladder from the paper's SASRec to the preset and the preset without its
# frequency filter (plain SASRec, the same training; the ladder's first two steps measure the
# loss, so no SASRec-BCE rows: --without-bce); two one-thread jobs at a
# time -> reports/benchmark_beauty.json. `BENCH_ARGS` adds options to the first part. Both
# parts (hours) log each finished training in artifacts/bench-runs/: stopped and started
# again with the same code, each resumes where it stopped. The ladder's last step is the
# preset itself: it reads the first part's held-out runs from the file, not trained twice.
# The second command with `--so-far` added trains nothing and writes the ladder's finished
# runs (labelled unfinished). A new preset drops the file's ladder: the file is first kept
# as artifacts/bench-runs/ladder_before.json, whose steps measured by the same code for the
# same whole config are read back ("read_back": true), so a ladder that gains a step trains
# only that step and the ablations.
bench-beauty:
	@if grep -qs '"ladder":' $(REPORTS)/benchmark_beauty.json; then mkdir -p artifacts/bench-runs \
		&& cp $(REPORTS)/benchmark_beauty.json artifacts/bench-runs/ladder_before.json; fi
	$(PYTHON) benchmarks/bench.py --preset shopping --set dataset=amazon-beauty \
		--out $(REPORTS)/benchmark_beauty.json --held-out-seeds 100,101,102 --jobs 2 \
		--baselines markov,cooccurrence --sweep-table benchmarks/sweep_beauty.jsonl --speed \
		--runs-log artifacts/bench-runs/benchmark_beauty.jsonl --without-bce $(BENCH_ARGS)
	$(PYTHON) benchmarks/bench.py --preset shopping --set dataset=amazon-beauty \
		--out $(REPORTS)/benchmark_beauty.json --held-out-seeds 100,101,102 --jobs 2 --ladder \
		--runs-log artifacts/bench-runs/ladder_beauty.jsonl \
		--reuse-ladder artifacts/bench-runs/ladder_before.json

# Retail-scale benchmark on the synthetic full preset (9.2M events, 316k items; generated
# once into artifacts/): memory, load time, epoch estimate, evaluation per 1k users, and
# the seed's per-prefix way -> reports/benchmark_scale.json. `BENCH_SCALE_ARGS=--quality`
# also compares the losses' quality on a mid-sized log (benchmarks/README.md, "Scale").
bench-scale:
	$(PYTHON) benchmarks/bench_scale.py $(BENCH_SCALE_ARGS)
