# The commands a newcomer needs: `make local` (the whole system on this machine) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing

.PHONY: install local test test-unit test-integration test-e2e lint lint-template format invoke bench bench-scale build deploy clean

install: $(STAMP)

# The venv is created from the project's own files; constraints.txt pins what CI installs.
$(STAMP): pyproject.toml constraints.txt shared/requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

local: $(STAMP)
	$(BIN)/contacts-import-local

invoke: $(STAMP)
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id> EVENT=<event file>"; exit 2; }
	$(BIN)/contacts-import-local invoke --function "$(FUNCTION)" --event "$(EVENT)"

lint-template: $(STAMP)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint

lint: $(STAMP) lint-template
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) lint-template
	$(BIN)/ruff check .
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest tests/integration

test-e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# A 100,000-row file through the local stack against the local DynamoDB's batch-write speed (ROWS=...).
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale $(ROWS)

# Bytecode goes into the artifacts: Lambda's code directories are read-only, so without it every cold
# start compiles our modules again (about 35 ms). unchecked-hash: zips do not keep the source mtimes.
build: $(STAMP)
	PYENV_VERSION=3.11.7:3.12.1 $(BIN)/sam build
	PYENV_VERSION=3.11.7:3.12.1 python3.12 -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	$(BIN)/sam deploy --guided

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache
