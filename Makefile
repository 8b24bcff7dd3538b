# The two commands a newcomer needs: `make run` and `make test`. Each installs what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR := $(abspath $(or $(ANALYTICS_DATA_DIR),data))
export ANALYTICS_DATA_DIR := $(DATA_DIR)
export DAGSTER_HOME := $(abspath $(or $(DAGSTER_HOME),$(DATA_DIR)/dagster_home))
# The read-only report server `make dev` starts beside the UI; links in asset metadata are built from
# REPORTS_BASE_URL (set it to a reverse proxy's URL to reach the reports from other machines).
REPORTS_PORT ?= 3030
export REPORTS_BASE_URL ?= http://127.0.0.1:$(REPORTS_PORT)
# The previous Moscow day: what the 09:00 schedule would run today.
PARTITION ?= $(shell TZ=Europe/Moscow date -d yesterday +%F)

.PHONY: help install constraints system-packages instance run backfill recover test lint test-stress dev status benchmarks clean

help:
	@echo "make run    install what is missing, then run the daily pipeline for yesterday ($(PARTITION)) on embedded defaults"
	@echo "make test   install what is missing, then lint (ruff check) and run the whole test suite"
	@echo "make dev    start the Dagster UI on http://127.0.0.1:3000 and the report server on http://127.0.0.1:$(REPORTS_PORT)"
	@echo "make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD   every stage for a range of days, one run"
	@echo "make status per group: newest partition, its state, failing checks, freshness (exit 1 when late or failed)"
	@echo "make test-stress   the ingest and replay tests while $(STRESS_BURNERS) CPU burners load the machine (STRESS_TESTS=analytics_dagster_tests for all)"
	@echo "make benchmarks   print speed and memory figures (slow)"

# The pinned set: constraints.txt is `pip freeze` of a clean install of '.[dev]' (the project itself left out);
# pyproject.toml says what is needed, constraints.txt which versions. After changing a dependency, regenerate it
# with `make constraints` and commit both.
$(BIN)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

constraints:
	bash scripts/freeze_constraints.sh $(PYTHON)

install: $(BIN)/.installed system-packages

system-packages: $(BIN)/.installed
	@bash scripts/install_system_packages.sh $(BIN)/python

instance: $(BIN)/.installed
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/dagster instance concurrency set warehouse 1 >/dev/null
	@$(BIN)/dagster instance concurrency set amplitude_api 1 >/dev/null
	@$(BIN)/dagster instance concurrency set appmetrica_api 1 >/dev/null

run: install instance
	@$(BIN)/python -m analytics_dagster.recover
	$(BIN)/dagster asset materialize -m analytics_dagster.definitions --select '*' --partition $(PARTITION)
	@$(BIN)/python -m analytics_dagster.run_summary $(PARTITION)

# A range of days in one run per stage, e.g. `make backfill FROM=2026-11-01 TO=2026-11-30` (metric days up to 3
# days before FROM are recomputed too: their late events may be in these uploads).
backfill: install instance
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD"; exit 2; }
	@$(BIN)/python -m analytics_dagster.recover
	$(BIN)/dagster asset materialize -m analytics_dagster.definitions --select '*' --partition-range $(FROM)...$(TO)

# Marks runs whose process died as failed and frees their pool slots (the daemon's dead_run_recovery sensor does
# this every minute).
recover: install instance
	$(BIN)/python -m analytics_dagster.recover

test: install lint
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Tests on a loaded machine, as on a shared CI runner: no test may depend on speed. The burners stop at the end.
# The ingest and replay tests by default (35-55 minutes under load on 2 cores); STRESS_TESTS=analytics_dagster_tests
# for the whole suite.
STRESS_BURNERS ?= 6
STRESS_TESTS ?= analytics_dagster_tests/ingest analytics_dagster_tests/replays
test-stress: install
	STRESS_BURNERS=$(STRESS_BURNERS) bash scripts/stress_test.sh $(BIN)/python $(STRESS_TESTS)

# The report server runs as long as the UI: stopped on exit, Ctrl-C included.
dev: install instance
	@$(BIN)/python -m analytics_dagster.report_server --port $(REPORTS_PORT) & reports=$$!; \
	trap 'kill $$reports 2>/dev/null' EXIT; \
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# Reads the instance in DAGSTER_HOME; exits 1 when a group is late or failed (docs/observability.md).
status: $(BIN)/.installed
	@mkdir -p $(DAGSTER_HOME)
	@$(BIN)/python -m analytics_dagster.status $(STATUS_ARGS)

benchmarks: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(DATA_DIR)
