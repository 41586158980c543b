# The two commands of the README: `make demo` and `make test`.
# Both bootstrap .venv from pyproject.toml; nothing needs installing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CI_REPORTS := reports/ci

.PHONY: demo monitor-demo test lint lab kernel bench browser ci-reports clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kitbag demo

# Interim monitoring on a synthetic study with low uptake in Bexley (its uptake rating is red).
monitor-demo: $(STAMP)
	[ -f data/low-uptake/study.toml ] || $(BIN)/kitbag synth --out data/low-uptake \
		--uptake bexley=0.2,haringey=0.8,oxfordshire=0.8,warwickshire=0.8
	$(BIN)/kitbag monitor data/low-uptake --out reports/monitor-demo --as-of 2021-10-31

# Two pytest-xdist workers, each test file whole on one of them (its module fixtures made once).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# JupyterLab on notebooks/, with the project's environment registered as the "Kitbag (venv)" kernel.
kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name kitbag --display-name "Kitbag (venv)"

lab: kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

# Debian's chromium and poppler-utils (pdftotext) for the browser and print tests
# (tests skip them only outside CI).
browser:
	@{ command -v chromium && command -v pdftotext; } >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium poppler-utils; }

# CI renders the demo batch; reports/ci/ (HTML bundle and the browser screenshot) is the artifact.
ci-reports: $(STAMP)
	rm -rf $(CI_REPORTS)/batch
	$(BIN)/kitbag demo --out $(CI_REPORTS)/batch
	$(BIN)/kitbag verify $(CI_REPORTS)/batch

bench: $(STAMP)
	$(BIN)/python benchmarks/validate_speed.py
	$(BIN)/python benchmarks/analyse_speed.py
	$(BIN)/python benchmarks/batch_speed.py
	$(BIN)/python benchmarks/interrupt_speed.py

clean:
	rm -rf $(VENV) data/synthetic data/low-uptake reports/demo reports/monitor-demo $(CI_REPORTS)
