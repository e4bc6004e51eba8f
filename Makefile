# Two commands do everything on a fresh machine: `make reports` and `make test`.
# Each creates or updates .venv itself when it is missing or older than pyproject.toml or
# requirements.lock, installing exactly the locked versions (hash-checked); `make lock` refreshes the lock.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
LOCK_TOOLS := $(VENV)/lock-tools
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help reports test lint lab bench check clean lock verify bundle

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

reports: $(STAMP) ## the main job: data/raw → data/processed → reports/ (python -m analysis run)
	$(BIN)/python -m analysis run

# Tests run on every core (pytest-xdist); --dist loadscope keeps a module (and a notebook's cells) on
# one worker, in order, with its module fixtures. `pytest tests/test_x.py` alone runs in one process.
test: $(STAMP) ## lint, then every test (notebooks executed by nbval), one worker per core
	$(BIN)/ruff check src tests benchmarks notebooks/conftest.py
	$(BIN)/python -m pytest -n auto --dist loadscope

lint: $(STAMP) ## ruff only
	$(BIN)/ruff check src tests benchmarks notebooks/conftest.py

check: $(STAMP) ## validate data/raw and params/ without running anything
	$(BIN)/python -m analysis check

lab: $(STAMP) ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## benchmark ratios → benchmarks/results.md and results.json
	$(BIN)/python benchmarks/bench.py

lock: ## requirements.lock + environment.yml from pyproject.toml (LOCK_FLAGS=--upgrade: newest versions)
	@test -x $(LOCK_TOOLS)/bin/uv || { test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
		$(BIN)/python -m pip install --quiet --target $(LOCK_TOOLS) uv; }
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml --extra dev --extra dask --generate-hashes --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" --quiet $(LOCK_FLAGS) -o $(LOCK)
	PYTHONPATH=src $(BIN)/python -c 'from pathlib import Path; from analysis.publish.lock import write_environment_yml; \
		write_environment_yml(Path("$(LOCK)"), Path("environment.yml"))'

verify: $(STAMP) ## check reports/ against reports/run_manifest.json (page and table hashes)
	$(BIN)/python -m analysis verify

bundle: $(STAMP) ## bundles/reports-YYYY-MM-DD.zip: reports, tables, manifest, SHA256SUMS (for reviewers)
	$(BIN)/python -m analysis bundle

clean: ## delete derived files (data/processed, reports); data/raw is never touched
	rm -rf data/processed/* reports/*
	@touch data/processed/.gitkeep reports/.gitkeep
