# The two commands a newcomer needs: `make run` and `make test`. Each installs what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR := $(abspath $(or $(ANALYTICS_DATA_DIR),data))
export ANALYTICS_DATA_DIR := $(DATA_DIR)
export DAGSTER_HOME := $(abspath $(or $(DAGSTER_HOME),$(DATA_DIR)/dagster_home))
# The previous Moscow day: what the 09:00 schedule would run today.
PARTITION ?= $(shell TZ=Europe/Moscow date -d yesterday +%F)

.PHONY: help install system-packages instance run test test-stress dev benchmarks clean

help:
	@echo "make run    install what is missing, then run the daily pipeline for yesterday ($(PARTITION)) on embedded defaults"
	@echo "make test   install what is missing, then run the whole test suite"
	@echo "make test-stress   the ingest and replay tests while $(STRESS_BURNERS) CPU burners load the machine (STRESS_TESTS=analytics_dagster_tests for all)"
	@echo "make dev    start the Dagster UI on http://127.0.0.1:3000"
	@echo "make benchmarks   print speed and memory figures (slow)"

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

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
	$(BIN)/dagster asset materialize -m analytics_dagster.definitions --select '*' --partition $(PARTITION)
	@$(BIN)/python -m analytics_dagster.lib.run_summary $(PARTITION)

test: install
	$(BIN)/python -m pytest

# Tests on a loaded machine, as on a shared CI runner: no test may depend on speed. The burners stop at the end.
# The ingest and replay tests by default (35-55 minutes under load on 2 cores); STRESS_TESTS=analytics_dagster_tests
# for the whole suite.
STRESS_BURNERS ?= 6
STRESS_TESTS ?= analytics_dagster_tests/ingest analytics_dagster_tests/replays
test-stress: install
	STRESS_BURNERS=$(STRESS_BURNERS) bash scripts/stress_test.sh $(BIN)/python $(STRESS_TESTS)

dev: install instance
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

benchmarks: install
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(DATA_DIR)
