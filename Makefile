# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED ?= False
export HF_HUB_OFFLINE ?= 1

.PHONY: run test install install-test bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q pip==26.3

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-test.txt
	touch $@

$(VENV)/.installed-bench: requirements-bench.txt $(VENV)/.installed-test
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-bench.txt
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(PY) visionary_app.py $(ARGS)

test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

# SPEC §6 benchmarks: one table, bench/results.json (BENCH_ARGS: measure names, --quick, --profile).
bench: $(VENV)/.installed-bench
	$(PY) -m bench $(BENCH_ARGS)
