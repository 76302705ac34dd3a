# SASRec report: `make install && make report` runs everything; `make test` tests it.
PYTHON ?= python3
# torch is installed only when missing: a CPU build here (this pin resolves to one on our
# machines; elsewhere pass TORCH_INDEX=https://download.pytorch.org/whl/cpu), never
# replacing a platform's own build (Colab, a CUDA machine).
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
# The repository's public address: read from pyproject.toml, its only home.
REPO := $(shell $(PYTHON) -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['urls']['Repository'])" 2>/dev/null)

.PHONY: install test lint data report bench bench-scale clean-reports

install:
	@$(PYTHON) -c "import torch" 2>/dev/null && echo "torch already installed: keeping it" || \
		$(PYTHON) -m pip install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"
	$(PYTHON) -m pip install -e ".[dev]"

test:
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check sasrec_utils tests benchmarks notebooks/*.py
	$(PYTHON) -m ruff format --check sasrec_utils tests benchmarks

data:
	$(PYTHON) -c "from sasrec_utils.data import load_ml100k; print(load_ml100k().shape)"

# ---------------------------------------------------------------- reports
# `make report` runs the five notebooks in order through papermill (the .py source piped
# through jupytext), writes executed notebooks + HTML to reports/ and reports/index.html.
# Each report is a file target: a changed notebook, package module or parameter reruns
# only what depends on it. Parameters: `make report EPOCHS=5 DEVICE=cpu` (empty = the
# notebook's default, i.e. SASRecConfig's), or a YAML file: `make report PARAMS_FILE=p.yml`.
# Values must not contain spaces.
REPORTS ?= reports
ARTIFACTS ?= artifacts
NOTEBOOK_NAMES := 01_theory_and_data 02_model 03_training 04_evaluation 05_production_demo
REPORT_HTML := $(NOTEBOOK_NAMES:%=$(REPORTS)/%.html)
PACKAGE_SOURCES := $(wildcard sasrec_utils/*.py)
PARAM_STAMP := $(ARTIFACTS)/.report-parameters
# the notebooks import this checkout's sasrec_utils, installed or not
NB_ENV = PYTHONPATH="$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))"
param = $(if $(strip $($(2))),-p $(1) $(strip $($(2))))
DATA_PARAMS = -p artifacts $(ARTIFACTS) $(call param,dataset,DATASET) \
	$(call param,data_dir,DATA_DIR) $(call param,events_paths,EVENTS) \
	$(call param,vocabulary_path,VOCABULARY)
MODEL_PARAMS = $(call param,embeddings_path,EMBEDDINGS) $(call param,hidden_dim,HIDDEN_DIM) \
	$(call param,n_layers,N_LAYERS) $(call param,n_heads,N_HEADS) \
	$(call param,max_len,MAX_LEN) $(call param,dropout,DROPOUT) $(call param,seed,SEED)
PARAMS_01_theory_and_data = $(DATA_PARAMS) $(call param,seed,SEED)
PARAMS_02_model = $(DATA_PARAMS) $(MODEL_PARAMS)
PARAMS_03_training = $(DATA_PARAMS) $(MODEL_PARAMS) $(call param,epochs,EPOCHS) \
	$(call param,patience,PATIENCE) $(call param,loss,LOSS) $(call param,lr,LR) \
	$(call param,batch_size,BATCH_SIZE) $(call param,batch_tokens,BATCH_TOKENS) \
	$(call param,device,DEVICE)
PARAMS_04_evaluation = $(DATA_PARAMS) -p report_dir $(REPORTS) $(call param,device,DEVICE) \
	$(call param,seed,SEED)
PARAMS_05_production_demo = $(DATA_PARAMS) $(call param,seed,SEED)
REPORT_PARAMETERS = $(foreach n,$(NOTEBOOK_NAMES),$(n): $(strip $(PARAMS_$(n)));)

.PHONY: badges sync-notebooks FORCE
.PRECIOUS: $(REPORTS)/%.ipynb

report: $(REPORTS)/index.html

$(REPORTS)/index.html: $(REPORT_HTML) $(REPORTS)/metrics.json
	@$(NB_ENV) $(PYTHON) -m sasrec_utils.report index $(REPORTS)

$(REPORTS)/metrics.json: $(REPORTS)/04_evaluation.ipynb ;

# notebook N needs the artifacts written by the notebooks it reads from. 01 rewrites
# data.json only when the prepared data changes, so editing 01's text does not retrain.
$(ARTIFACTS)/data.json: $(REPORTS)/01_theory_and_data.ipynb ;
$(REPORTS)/02_model.ipynb $(REPORTS)/03_training.ipynb: $(ARTIFACTS)/data.json
$(REPORTS)/04_evaluation.ipynb $(REPORTS)/05_production_demo.ipynb: $(REPORTS)/03_training.ipynb

# executed into NN.tmp.ipynb, renamed only on success: a failure keeps the previous report
$(REPORTS)/%.ipynb: notebooks/%.py $(PACKAGE_SOURCES) $(PARAM_STAMP) $(PARAMS_FILE)
	@mkdir -p $(REPORTS)
	@rm -f $(REPORTS)/$*.tmp.ipynb
	@echo "== notebooks/$*.py -> $@"
	@$(PYTHON) -m jupytext --quiet --to ipynb --set-kernel python3 -o - $< | \
		$(NB_ENV) PYTHONWARNINGS="ignore:the file is not specified" \
		$(PYTHON) -m papermill - $(REPORTS)/$*.tmp.ipynb --cwd $(CURDIR) \
		$(PARAMS_$*) $(if $(PARAMS_FILE),-f $(PARAMS_FILE)) \
		|| { $(NB_ENV) $(PYTHON) -m sasrec_utils.report failure \
			$(REPORTS)/$*.tmp.ipynb notebooks/$*.py; exit 1; }
	@mv $(REPORTS)/$*.tmp.ipynb $@

$(REPORTS)/%.html: $(REPORTS)/%.ipynb
	@$(PYTHON) -m nbconvert --to html --log-level ERROR --output-dir $(REPORTS) \
		--output $*.tmp $< && mv $(REPORTS)/$*.tmp.html $@

# rewritten only when the parameters change, so unchanged runs stay up to date
$(PARAM_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(REPORT_PARAMETERS)' | cmp -s - $@ || echo '$(REPORT_PARAMETERS)' > $@

FORCE:

clean-reports:
	rm -f $(REPORTS)/*.ipynb $(REPORTS)/*.html $(REPORTS)/*.png $(REPORTS)/metrics.json \
		$(PARAM_STAMP)

# Colab badges and install lines in notebooks/ and README.md, from pyproject.toml
badges:
	$(NB_ENV) $(PYTHON) -m sasrec_utils.report badges

# re-pair notebooks/*.ipynb with their .py sources (the .py is the source of truth)
sync-notebooks:
	$(PYTHON) -m jupytext --sync notebooks/*.py

# ML-100k quality/speed/memory benchmark: default config (3 seeds), per-prefix baseline,
# most-popular, FLOP estimate -> reports/benchmark.json. `make bench BENCH_ARGS=--sweep=all`
bench:
	$(PYTHON) benchmarks/bench.py $(BENCH_ARGS)

# Retail-scale benchmark on the synthetic full preset (9.2M events, 316k items; generated
# once into artifacts/): memory, load time, epoch estimate, evaluation per 1k users, and
# the seed's per-prefix way -> reports/benchmark_scale.json. `BENCH_SCALE_ARGS=--quality`
# also compares the losses' quality on a mid-sized log (benchmarks/README.md, "Scale").
bench-scale:
	$(PYTHON) benchmarks/bench_scale.py $(BENCH_SCALE_ARGS)
