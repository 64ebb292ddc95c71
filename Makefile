# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED ?= False
export HF_HUB_OFFLINE ?= 1

.PHONY: run test screenshots install install-test bench cluster

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q pip==26.3

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-cluster: requirements-cluster.txt $(VENV)/.installed
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-cluster.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed-cluster
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-test.txt
	touch $@

$(VENV)/.installed-bench: requirements-bench.txt $(VENV)/.installed-test
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-bench.txt
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Ray Serve for --generation-backend ray (README: Growing past one machine); make test installs it too.
cluster: $(VENV)/.installed-cluster

run: install
	$(PY) visionary_app.py $(ARGS)

# The system packages the tests use (installed as root, else named: tools/system_packages.py), the layer contracts
# and the linter (pyproject.toml), then the suite.
test: install-test
	$(PY) tools/system_packages.py
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

# The README's screenshots (docs/images/), refreshed on purpose: the tests alone write theirs to test-artifacts/.
screenshots: install-test
	$(PY) tools/system_packages.py
	VISIONARY_README_SCREENSHOTS=1 $(PY) -m pytest tests/test_newcomer_journey.py

# SPEC §6 benchmarks: one table, bench/results.json (BENCH_ARGS: measure names, --quick, --profile).
bench: $(VENV)/.installed-bench
	$(PY) -m bench $(BENCH_ARGS)
