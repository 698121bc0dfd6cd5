# The two commands of the README, and the rest of the project's chores.
# Every target creates .venv and installs what it needs by itself.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test lint reliability bench bench-export bench-ledger bench-notices bench-service bench-spark bench-signals clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## The main job, end to end on the embedded defaults (SQLite + embedded engine, demo data).
demo: $(STAMP)
	$(BIN)/consentry demo

## The whole test suite (storage tests on SQLite and PostgreSQL).
test: $(STAMP)
	$(BIN)/python -m pytest

## Lint, format check and the type checker (CI runs this before the tests).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## The reliability suite at full size (crashes, concurrency, hostile input, isolation, disk
## full, secrets); figures in bench/results/reliability.json, summarised in RELIABILITY.md.
reliability: $(STAMP)
	CONSENTRY_RELIABILITY_SCALE=long CONSENTRY_REQUIRE_POSTGRES=1 \
	CONSENTRY_RELIABILITY_REPORT=bench/results/reliability.json \
	$(BIN)/python -m pytest tests/reliability -rxX -p no:cacheprovider --timeout 5400

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

## Benchmarks (not timed tests): results as ratios against a baseline in the same run.
bench: bench-ledger bench-export bench-notices

bench-ledger: $(VENV)/.bench-installed
	$(BIN)/python -m bench.ledger
	$(BIN)/python -m bench.import_posts

bench-export: $(VENV)/.bench-installed
	$(BIN)/python -m bench.export
	$(BIN)/python -m bench.redaction

bench-notices: $(VENV)/.bench-installed
	$(BIN)/python -m bench.notices

bench-spark: $(VENV)/.bench-installed
	command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)
	$(BIN)/python -m bench.spark

bench-service: $(VENV)/.bench-installed
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.service

bench-signals: $(VENV)/.bench-installed
	$(BIN)/python -m bench.signals

clean:
	rm -rf .consentry artifacts bench/results
