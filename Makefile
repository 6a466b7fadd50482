# The README's commands. Everything the project needs is installed here, from pinned versions.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow bench lint typecheck format clean docs browser

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: install
	mkdir -p out
	$(BIN)/treemarket demo --out out

test: install
	$(BIN)/python -m pytest -m "not slow" -n 2

# the browser of the explore page's tests (tests/explore): Debian's Chromium, installed when missing
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@[ -n "$$TREEMARKET_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 || { \
	    echo "make browser: no apt-get here; install Chromium and set TREEMARKET_CHROMIUM to it" >&2; \
	    exit 1; }; \
	  $(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }; }
	@[ -n "$$TREEMARKET_CHROMIUM" ] || command -v chromium

test-slow: install
	$(BIN)/python -m pytest -m slow -n 2

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

DOCS_STAMP := $(VENV)/.installed-docs

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,docs]"
	touch $(DOCS_STAMP)

docs: install $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: install
	$(BIN)/ruff check src tests benchmarks docs/tutorial.ipynb
	$(BIN)/ruff format --check src tests benchmarks docs/tutorial.ipynb

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) out build src/*.egg-info
