# Every target builds the virtualenv itself on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
STACK ?= dev

VELOCITY_JAR := /usr/share/java/velocity.jar

VERSION ?= v1

.PHONY: install local demo test openapi train serve clean java-oracle bench

install: $(STAMP)

# The embedded default: the whole API on this machine from Pulumi.local.yaml (trains what is missing).
local: $(STAMP)
	$(BIN)/ratings local up

demo: $(STAMP)
	$(BIN)/ratings local demo

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements-dev.txt -c constraints.txt
	$(PIP) install --no-deps -e .
	touch $@

test: $(STAMP) java-oracle
	$(BIN)/python -m pytest

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

train: $(STAMP)
	$(BIN)/ratings train $(VERSION)

serve: $(STAMP)
	test -f artifacts/$(VERSION)/metadata.json || $(BIN)/ratings train $(VERSION)
	$(BIN)/ratings serve --model-dir artifacts/$(VERSION) --port 8080

# Benchmarks (never part of the tests). bench_server needs Debian's wrk.
bench: $(STAMP)
	$(BIN)/python bench/bench_vtl.py
	$(BIN)/python bench/bench_inference.py
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_local.py

openapi: $(STAMP)
	$(BIN)/ratings openapi --stack $(STACK) --output openapi.json

clean:
	rm -rf $(VENV) .pytest_cache
