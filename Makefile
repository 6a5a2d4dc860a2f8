# `make test` and `make openapi` build the virtualenv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
STACK ?= dev

.PHONY: install test openapi clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements-dev.txt -c constraints.txt
	$(PIP) install --no-deps -e .
	touch $@

test: $(STAMP)
	$(BIN)/python -m pytest

openapi: $(STAMP)
	$(BIN)/ratings openapi --stack $(STACK) --output openapi.json

clean:
	rm -rf $(VENV) .pytest_cache
