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
