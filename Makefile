# Every target creates .venv when it is missing, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test check bench dist clean

# The stamp files record which install a target needs; they are rebuilt when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The sandbox: the bundled default scenario (walking indexes, a market maker on every
# perpetual) on a clock that runs. `ocx-sim serve` alone keeps a manual clock and no scenario.
serve: $(VENV)/.installed
	$(BIN)/ocx-sim serve --host $(HOST) --port $(PORT) --scenario sandbox --clock realtime

check: $(VENV)/.installed-test
	$(BIN)/ruff format --check ocx_sim tests bench
	$(BIN)/ruff check ocx_sim tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite runs on every core (pytest-xdist: each worker its own servers and worlds); serial, it
# takes about eight minutes on a 2-core machine.
test: check
	$(BIN)/python -m pytest -n auto

$(VENV)/.installed-build: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet build
	touch $@

# The sdist and the wheel, with the package data inside (the bundled scenarios, the dashboard,
# uPlot, Swagger UI): `pip install dist/ocx_sim-*.whl` anywhere, no clone needed.
dist: $(VENV)/.installed-build
	rm -rf dist
	$(BIN)/python -m build --outdir dist

bench: $(VENV)/.installed
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/http.py
	$(BIN)/python bench/lifecycle.py
	$(BIN)/python bench/fixture.py
	$(BIN)/python bench/options.py
	$(BIN)/python bench/streams.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/isolation.py
	$(BIN)/python bench/retention.py

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
