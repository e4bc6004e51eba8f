# Two commands do everything on a fresh machine: `make reports` and `make test`.
# Each creates or updates .venv itself when it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help reports test lint lab bench check clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

reports: $(STAMP) ## the main job: data/raw → data/processed → reports/ (python -m analysis run)
	$(BIN)/python -m analysis run

test: $(STAMP) ## lint, then every test (notebooks executed by nbval)
	$(BIN)/ruff check src tests benchmarks notebooks/conftest.py
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff only
	$(BIN)/ruff check src tests benchmarks notebooks/conftest.py

check: $(STAMP) ## validate data/raw and params/ without running anything
	$(BIN)/python -m analysis check

lab: $(STAMP) ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## benchmark ratios → benchmarks/results.md and results.json
	$(BIN)/python benchmarks/bench.py

clean: ## delete derived files (data/processed, reports); data/raw is never touched
	rm -rf data/processed/* reports/*
	@touch data/processed/.gitkeep reports/.gitkeep
