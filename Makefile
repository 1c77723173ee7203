# Quick start: `make demo` and `make test` each create .venv if missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch is pinned here for development: any looser spec pulls a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: venv demo test lint test-fast bench bench-targets bench-tools bench-harness bench-prove docs clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

venv: $(BIN)/.installed

demo: venv
	$(BIN)/python -m varmigrate.demo

test: venv
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

test-fast: venv
	$(BIN)/python -m pytest -q -m "not torch"

# Regenerate what is generated from the rules: docs/rules/, README's rule table and
# varmigrate/triggers.py (codes and trigger words for the libcst-free fast path). Run it after
# adding a rule or changing a rule's CODE, TRIGGERS, docstring or examples; tests/test_docs.py
# fails while any of them is stale.
docs: venv
	$(BIN)/python -m varmigrate.docs

# The real-code set (issue 15) lives outside the repository; `make bench REAL=` leaves it out.
REAL ?= $(wildcard $(HOME)/qa/corpus)
BENCH_ARGS ?=

# Issue 15's targets (one table, PASS/MISS), then the tool comparison of bench/run.py.
bench: bench-targets bench-tools

bench-targets: venv
	$(BIN)/python bench/targets.py $(if $(REAL),--real $(REAL)) $(BENCH_ARGS)

bench-tools: venv
	$(BIN)/python bench/run.py

bench-harness: venv
	$(BIN)/python bench/bench_harness.py

bench-prove: venv
	$(BIN)/python bench/bench_prove.py

clean:
	rm -rf $(VENV) build *.egg-info
