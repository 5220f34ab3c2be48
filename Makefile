# Every target creates .venv when it is missing, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test check bench dist image image-test clean

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
	$(BIN)/ruff format --check ocx_sim tests bench scripts docker
	$(BIN)/ruff check ocx_sim tests bench scripts docker
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

# The container image (Dockerfile). Its Python packages come from wheels built here, so the
# build needs no index: the project's wheel and all it depends on, for this machine's Python, into
# build/image-wheels/ (the build context's only Python input). BASE_IMAGE is any Debian-like image,
# with Python of this minor version or without Python (Debian's is installed then); IMAGE_NETWORK
# (e.g. host) is the network the build's apt-get and the test's containers use.
DOCKER ?= docker
IMAGE ?= ocx-sim:latest
# Expanded when the recipe runs, after the venv exists: the slim image of the venv's Python.
BASE_IMAGE ?= python:$(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')-slim
IMAGE_NETWORK ?=
MAX_IMAGE_MB ?= 250

image: $(VENV)/.installed-build
	rm -rf build/image-wheels
	$(BIN)/python -m build --wheel --outdir build/image-wheels
	$(BIN)/python -m pip wheel --quiet --wheel-dir build/image-wheels build/image-wheels/ocx_sim-*.whl
	$(DOCKER) build --force-rm $(if $(IMAGE_NETWORK),--network $(IMAGE_NETWORK)) \
		--build-arg BASE_IMAGE=$(BASE_IMAGE) --tag $(IMAGE) .

# Runs the image as a user would and checks it survives a restart on its volume
# (scripts/image_test.py); fails when the image is over MAX_IMAGE_MB.
image-test: image
	$(BIN)/python scripts/image_test.py --docker $(DOCKER) --image $(IMAGE) \
		--max-mb $(MAX_IMAGE_MB) $(if $(IMAGE_NETWORK),--network $(IMAGE_NETWORK))

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
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache .hypothesis
