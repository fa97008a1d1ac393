# The two commands a new user needs are `make run` and `make test` (README.md).
# Everything else here is a step they call, usable on its own.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
RASA := $(RASA_VENV)/bin/rasa
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help run test bench setup venvs lint types pytest unit integration e2e \
        validate dialogue-test model nlu-report lock clean browser nginx scaleout

help:
	@echo "make run    start the whole stack (creates venvs, .env, demo database, model)"
	@echo "make test   lint, types, unit + integration + e2e tests, rasa validate, dialogue tests"
	@echo "make bench  performance benchmarks -> var/bench/report.md"
	@echo "make scaleout  2 gateways + 2 Rasa behind nginx, 100 conversations, kills -> var/scaleout/report.md"

# --- environments -------------------------------------------------------------
$(VENV)/.installed: requirements/app.lock scripts/make-venv
	scripts/make-venv $(VENV) requirements/app.lock

$(RASA_VENV)/.installed: requirements/rasa.lock scripts/make-venv
	scripts/make-venv $(RASA_VENV) requirements/rasa.lock

venvs: $(VENV)/.installed $(RASA_VENV)/.installed

.env: | $(VENV)/.installed
	$(PY) -m bot env init

setup: venvs .env

# --- run ------------------------------------------------------------------------
run: setup
	$(PY) -m bot run

model: venvs
	$(PY) -m bot model ensure

# --- test -----------------------------------------------------------------------
test: venvs lint types validate model browser nginx pytest dialogue-test

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(VENV)/.installed
	$(VENV)/bin/mypy bot actions tests

validate: venvs
	$(PY) -m bot.runner.validate

# Debian's Chromium for the desk's browser tests (installed when missing).
browser:
	scripts/ensure-chromium

# Debian's nginx for the scale-out test (installed when missing; never started as a service).
nginx:
	scripts/ensure-nginx

pytest: $(VENV)/.installed
	$(VENV)/bin/pytest -q tests

unit: $(VENV)/.installed
	$(VENV)/bin/pytest -q tests/unit

integration: $(VENV)/.installed
	$(VENV)/bin/pytest -q tests/integration

e2e: venvs model browser nginx
	$(VENV)/bin/pytest -q tests/e2e

dialogue-test: model
	$(PY) -m bot model test-stories

# Per-language cross-validation (3 folds) + held-out scores -> var/nlu-report/report.md
nlu-report: venvs
	$(PY) -m bot.runner.nlu_report

bench: venvs model nginx
	$(PY) -m bot.bench

# Two gateways and two Rasa servers behind nginx; one of each killed mid-run.
scaleout: venvs model nginx
	$(PY) -m bot.bench.scaleout

# --- maintenance ---------------------------------------------------------------
lock: venvs
	$(VENV)/bin/pip freeze | sed '1i # pip freeze of .venv (Python 3.10); see app.in.' > requirements/app.lock
	$(RASA_VENV)/bin/pip freeze | sed '1i # pip freeze of .venv-rasa (Python 3.10); see rasa.in.' > requirements/rasa.lock

clean:
	rm -rf var/test var/bench .pytest_cache .mypy_cache .ruff_cache
