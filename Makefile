# The two commands: `make demo` and `make test`. Each sets up .venv (once; again only
# when pyproject.toml changes) and runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PIP_FLAGS := --quiet --disable-pip-version-check
DEMO_DIR ?= out/demo

.PHONY: demo test setup setup-dev system-deps lint bench clean

# Base install: the package and its runtime dependencies.
$(VENV)/.stamp-base: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip
	$(PIP) install $(PIP_FLAGS) -e .
	@touch $@

# Test install: + dev tools and PySpark (parity tests), and Java for Spark if missing.
$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-base
	$(PIP) install $(PIP_FLAGS) -e '.[dev,spark]'
	@touch $@

setup: $(VENV)/.stamp-base
setup-dev: $(VENV)/.stamp-dev system-deps

# System packages the tests need: Java for PySpark, Debian's Chromium and a CJK font for the
# browser tests (never `playwright install`: it downloads browsers).
system-deps:
	@missing=""; command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	  test -x /usr/bin/chromium || missing="$$missing chromium"; \
	  test -d /usr/share/fonts/opentype/noto || missing="$$missing fonts-noto-cjk"; \
	  if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	    ($$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing) >/dev/null \
	      || echo "warning: could not install$$missing; the tests that need them will be skipped"; fi

# The demo installs the dashboard's extra too, so `aips serve` works on its store.
$(VENV)/.stamp-app: pyproject.toml $(VENV)/.stamp-base
	$(PIP) install $(PIP_FLAGS) -e '.[app]'
	@touch $@

demo: setup $(VENV)/.stamp-app
	$(BIN)/aips demo --out $(DEMO_DIR)
	@echo "the dashboard on this store: $(BIN)/aips serve --store $(DEMO_DIR)/aips.duckdb"

# two workers (pytest-xdist), each test file on one: the machine has two cores and most tests one
test: setup-dev
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=30

lint: setup-dev
	$(BIN)/ruff check src tests bench

bench: setup-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/simulate.py
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) out .pytest_cache
