# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run once test soak bench lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/screenrecord run

once: $(STAMP)
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
