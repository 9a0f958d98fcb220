# Two commands on a fresh machine: `make chat` (the advisor in your terminal) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: chat test test-all lint typecheck bench load eval lock

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.app: $(BIN)/activate pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -c requirements.lock -e .
	touch $@

$(VENV)/.test: $(VENV)/.app
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

chat: $(VENV)/.app
	$(BIN)/advisor chat

test: $(VENV)/.test
	$(BIN)/pytest -m "not slow"

test-all: $(VENV)/.test
	$(BIN)/pytest

lint: $(VENV)/.test
	$(BIN)/ruff check bot tests bench evals

typecheck: $(VENV)/.test
	$(BIN)/mypy  # the packages listed in pyproject.toml's [tool.mypy]

# Issue #19's figures and targets in one table (bench/report.py; BENCH_ARGS="--quick" for a smoke run).
bench: $(VENV)/.test
	$(BIN)/python bench/report.py $(BENCH_ARGS)

load: $(VENV)/.test
	$(BIN)/python bench/load.py $(LOAD_ARGS)

eval: $(VENV)/.app
	$(BIN)/advisor eval

# Newest versions the ranges in pyproject.toml allow, written to requirements.lock (then run the tests).
lock: $(BIN)/activate
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip && .venv-lock/bin/pip install --quiet -e '.[test]'
	{ echo "# Exact versions CI and \`make\` install (pip constraints): regenerate with \`make lock\`."; \
	  .venv-lock/bin/pip freeze --exclude-editable; } > requirements.lock
	rm -rf .venv-lock
