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

# The project's kernel ("kitbag", shown as "Kitbag"), registered where any Jupyter of this user
# looks (--user: ~/.local/share/jupyter/kernels), so a system-wide JupyterLab outside the venv finds
# the venv's Python too. KERNEL_WHERE="--prefix /opt/jupyter" registers it under another prefix
# (one on that Jupyter's JUPYTER_PATH).
KERNEL_WHERE ?= --user
kernel: $(STAMP)
	$(BIN)/python -m ipykernel install $(KERNEL_WHERE) --name kitbag --display-name "Kitbag"

# JupyterLab on notebooks/: no news or update checks (no request leaves a secure environment);
# LAB_ARGS passes options through, e.g. make lab LAB_ARGS="--no-browser --port 8890".
LAB_ARGS ?=
lab: kernel
	$(BIN)/jupyter labextension disable --level=sys_prefix "@jupyterlab/apputils-extension:announcements"
	$(BIN)/jupyter lab --notebook-dir=notebooks --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
		$(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

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
	$(BIN)/python benchmarks/ledger_cost.py

clean:
	rm -rf $(VENV) data/synthetic data/low-uptake reports/demo reports/monitor-demo $(CI_REPORTS)
