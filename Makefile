# Set-up and checks. `make demo` and `make test` are the README's two commands: each creates the
# local virtual environment on first use (pinned by constraints.txt) and then does its job.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# @labdigital/commercetools-mock, the independent commercetools the fidelity suite runs against.
CTMOCK := tests/ctmock
NODE_STAMP := $(CTMOCK)/node_modules/.installed
AXE := tests/widget/axe
AXE_STAMP := $(AXE)/node_modules/.installed

.PHONY: install system-deps demo serve test lint format openapi lock check clean bench image

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): $(CTMOCK)/package.json $(CTMOCK)/package-lock.json
	npm ci --prefix $(CTMOCK) --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(AXE_STAMP): $(AXE)/package.json $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(NODE_STAMP) $(AXE_STAMP)

demo: $(STAMP)
	$(BIN)/ctnm demo

serve: $(STAMP)
	$(BIN)/ctnm serve

# Redis and Chromium come from the system: installed with apt-get when run as root, else named.
system-deps:
	bash scripts/system-deps.sh

test: install system-deps
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check app tests scripts
	$(BIN)/ruff format --check app tests scripts
	$(BIN)/mypy
	$(BIN)/ctnm openapi --check

format: install
	$(BIN)/ruff check --fix app tests scripts
	$(BIN)/ruff format app tests scripts

openapi: install
	$(BIN)/ctnm openapi

# Re-pin after changing dependencies in pyproject.toml.
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

check: lint test

# The read path's speed suite (README, Speed): each figure against a baseline of the same run.
# Uses wrk (installed with apt-get when missing and running as root; else a built-in client).
bench: install
	$(BIN)/python scripts/bench_reads.py $(BENCH_ARGS)

# The container image, built with podman on a base made from Debian packages (no registry needed),
# then `ctnm demo` run in it as a smoke test (docs/operations.md, "Container image"). Root, Debian.
image:
	bash scripts/build-image.sh --smoke $(IMAGE_ARGS)

clean:
	rm -rf $(VENV) $(CTMOCK)/node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
