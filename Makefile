# The two set-up commands (see README):
#   make run    install what the server needs into .venv and start it with settings.toml
#   make test   install the test tools too (and Chromium where we are root), then run every test
# Both are idempotent; re-running only redoes what changed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint audit bench system-deps clean

run: $(VENV)/.installed node_modules/.installed
	$(BIN)/dashboard run

test: lint audit system-deps
	node --test tests/js/
	$(BIN)/pytest

# Python: style, types, who may import whom; JS: eslint (pinned in package-lock.json).
lint: $(VENV)/.installed node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	npx --no-install eslint static/js tests/js

# Known vulnerabilities in what is installed in .venv (the project itself aside), with
# pip-audit and PyPI's advisories; fails on any, and on any package it could not check.
audit: $(VENV)/.installed
	$(BIN)/python .ci/audit.py

# Benchmarks (docs/benchmarks.md): ~80 minutes, run alone on the machine. Glances, the peer
# we measure against, goes into its own venv so it never mixes with the product's.
bench: $(VENV)/.installed node_modules/.installed system-deps .venv-bench/.installed
	$(BIN)/python -m pip install --quiet --editable '.[test,bench]'
	$(BIN)/python -m bench.run_all

.venv-bench/.installed:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet 'glances[web]'
	touch $@

# The socket.io browser client comes from npm (pinned by package-lock.json), never copied in.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(VENV)/.installed: pyproject.toml setup.py node_modules/.installed
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $@

# Browser tests need Debian's chromium; scale-out tests need redis-server and nginx; the unit
# checks need systemd-analyze. Installed when we can (root with apt-get); otherwise those
# tests skip locally with the reason (never under CI).
system-deps:
	@.ci/system-deps

clean:
	rm -rf $(VENV) node_modules build *.egg-info
