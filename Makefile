# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `run` needs only the program (no torch: the CPU engine); the tests and lint add the test extra.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
HINT := screenrecord is in $(BIN), not on PATH: ". $(BIN)/activate" (or $(BIN)/screenrecord ...) for its other commands

.PHONY: run once test soak bench lint clean

$(RUN_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(RUN_STAMP)
	@echo '$(HINT); Ctrl-C stops this one.'
	$(BIN)/screenrecord run

once: $(RUN_STAMP)
	@echo '$(HINT).'
	$(BIN)/screenrecord once

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

soak: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/engine.py

lint: $(STAMP)
	$(BIN)/ruff check screenrecord tests bench
	$(BIN)/ruff format --check screenrecord tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache

.PHONY: bench-tick
bench-tick: $(STAMP)
	$(BIN)/python bench/tick.py
