# Every target builds the virtualenv itself on a fresh machine. uv installs the pinned tree in
# seconds (bootstrapped from PyPI into .cache/ when it is not on PATH); pip is the fallback.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev
UV_VERSION := 0.13.9
UV_HOME := .cache/uv-$(UV_VERSION)
# USE_SYSTEM_UV=0 ignores a uv on PATH, as on a fresh machine (bench/first_run.sh).
ifeq ($(USE_SYSTEM_UV),0)
UV := $(UV_HOME)/bin/uv
else
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_HOME)/bin/uv)
endif
# `make local` needs the project alone; the tests need every extra (deploy, SageMaker, test tools).
LOCAL_STAMP := $(VENV)/.installed-local
DEV_STAMP := $(VENV)/.installed-dev

VELOCITY_JAR := /usr/share/java/velocity.jar

VERSION ?= v1

# Python compiles a module from source at every start when PYTHONDONTWRITEBYTECODE is set (as in
# many container images): then every server, training worker and CLI call pays ~0.6 s of
# compiling. The targets below let Python keep bytecode in the project's own venv and tree.
KEEP_BYTECODE := PYTHONDONTWRITEBYTECODE=

.PHONY: install install-local local demo lint test openapi train serve clean java-oracle bench

install: $(DEV_STAMP)

install-local: $(LOCAL_STAMP)

# The embedded default: the whole API on this machine from Pulumi.local.yaml (trains what is missing).
local: $(LOCAL_STAMP)
	$(KEEP_BYTECODE) $(BIN)/ratings local up

demo: $(LOCAL_STAMP)
	$(KEEP_BYTECODE) $(BIN)/ratings local demo

# $(call venv_install,EXTRAS): the project (editable) and EXTRAS at the versions in constraints.txt.
define venv_install
	@if [ -x "$(UV)" ]; then \
	  test -x $(BIN)/python || $(UV) venv --quiet --seed --python $(PYTHON) $(VENV); \
	  VIRTUAL_ENV=$(VENV) $(UV) pip install --quiet -c constraints.txt -e ".$(1)"; \
	else \
	  echo "note: uv is not available, installing with pip instead (a few minutes)"; \
	  test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".$(1)"; \
	fi
	@touch $@
endef

$(LOCAL_STAMP): pyproject.toml constraints.txt | $(UV)
	$(call venv_install,)

$(DEV_STAMP): pyproject.toml constraints.txt | $(UV)
	$(call venv_install,[dev])
	@touch $(LOCAL_STAMP)

$(UV_HOME)/bin/uv:
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(UV_HOME) uv==$(UV_VERSION) \
	  || echo "note: could not install uv $(UV_VERSION) from PyPI"

# Test workers (pytest-xdist): one per core, at most 4. Each worker runs whole files, so a file's
# servers and trained versions live in one process; PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= auto

# Static checks before the tests: ruff (lint rules only, not the formatter), mypy (core/ strict)
# and the import contracts in pyproject.toml (core below every adapter). `make test` runs it first.
lint: $(DEV_STAMP)
	$(KEEP_BYTECODE) $(BIN)/ruff check .
	$(KEEP_BYTECODE) $(BIN)/mypy core components emulator canary training serving ratings __main__.py
	$(KEEP_BYTECODE) $(BIN)/lint-imports

test: $(DEV_STAMP) lint java-oracle
	$(KEEP_BYTECODE) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile

# Apache Velocity 1.7 for the differential VTL test (tests/test_vtl_java.py); needs a JDK.
java-oracle:
	@if command -v java >/dev/null 2>&1 && [ ! -f $(VELOCITY_JAR) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's velocity package for the Java differential test"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq velocity >/dev/null; \
	  else \
	    echo "note: install Debian's velocity package (apt-get install velocity) for the Java VTL test"; \
	  fi; \
	fi

train: $(LOCAL_STAMP)
	$(BIN)/ratings train $(VERSION)

serve: $(LOCAL_STAMP)
	test -f artifacts/$(VERSION)/metadata.json || $(BIN)/ratings train $(VERSION)
	$(BIN)/ratings serve --model-dir artifacts/$(VERSION) --port 8080

# Benchmarks (never part of the tests). bench_server needs Debian's wrk.
bench: $(DEV_STAMP)
	$(BIN)/python bench/bench_vtl.py
	$(BIN)/python bench/bench_inference.py
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_local.py
	$(BIN)/python bench/bench_canary.py
	$(BIN)/python bench/bench_abort.py
	$(BIN)/python bench/bench_dashboard.py
	$(BIN)/python bench/bench_cloud_steps.py
	$(BIN)/python bench/bench_judge.py

openapi: $(LOCAL_STAMP)
	$(BIN)/ratings openapi --stack $(STACK) --output openapi.json

clean:
	rm -rf $(VENV) .pytest_cache $(UV_HOME)
