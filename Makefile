# Shipyard — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: demo test check format bench docs install install-dev clean help

help:
	@echo "make demo   - create .venv, install Shipyard, run examples/quickstart.py"
	@echo "make test   - install test dependencies and run the whole suite"
	@echo "make check  - ruff format --check, ruff check, mypy"
	@echo "make bench  - run every benchmark under benchmarks/"
	@echo "make docs   - regenerate docs/cli.md (the CLI reference) from the Typer app"

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Shipyard needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e .
	@touch $@

$(DEVSTAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[dev,postgres,s3,redis,torch,ray,tuning,export,lightgbm]'
	@touch $@ $(STAMP)

install: $(STAMP)
install-dev: $(DEVSTAMP)

demo: $(STAMP)
	$(PY) examples/quickstart.py $(DEMO_ARGS)

test: $(DEVSTAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

check: $(DEVSTAMP)
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/mypy

format: $(DEVSTAMP)
	$(VENV)/bin/ruff format src tests benchmarks examples
	$(VENV)/bin/ruff check --fix src tests benchmarks examples

bench: $(DEVSTAMP)
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

docs: $(STAMP)
	$(PY) -m shipyard.cli._reference > docs/cli.md.tmp || { rm -f docs/cli.md.tmp; exit 1; }
	mv docs/cli.md.tmp docs/cli.md

clean:
	rm -rf $(VENV) .shipyard .pytest_cache .mypy_cache .ruff_cache
