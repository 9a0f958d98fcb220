# Two commands on a fresh machine: `make chat` (the advisor in your terminal) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: chat test test-all lint typecheck bench load eval

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.app: $(BIN)/activate pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.app
	$(BIN)/pip install --quiet -e '.[test]'
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

bench: $(VENV)/.test
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/advisor.py

load: $(VENV)/.test
	$(BIN)/python bench/load.py $(LOAD_ARGS)

eval: $(VENV)/.app
	$(BIN)/advisor eval
