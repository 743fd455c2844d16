# Aftercare Assistant. `make help` lists the verbs.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

VENV      ?= .venv
BIN       := $(VENV)/bin
LOCK      := requirements.lock
STAMP     := $(VENV)/.installed
PYTHON    ?= $(shell scripts/find-python310)
PYTEST_ARGS ?=
SCALE_ARGS ?=

# Test-only JavaScript tools (axe-core for tests/accessibility/), pinned in package-lock.json.
# `npm ci` writes node_modules/.package-lock.json, which makes a good stamp.
NODE_STAMP := node_modules/.package-lock.json

AUDIT_VENV ?= .venv-audit
PIP_AUDIT := pip-audit==2.10.1

.PHONY: help install train run test test-fast lint lock validate eval clean audit audit-tool chaos scale-test test-tools bench

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv with Python 3.10 and install the locked dependencies

$(STAMP): $(LOCK) pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "error: Python 3.10 not found. Rasa 3.6 needs Python 3.8-3.10; install 3.10 (e.g. pyenv install 3.10) or pass PYTHON=/path/to/python3.10" >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' || { echo "error: $(PYTHON) is not Python 3.10" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==24.2"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(LOCK) 2>&1 | { grep -v "is ignored: it is neither" || true; }
	@$(BIN)/python -c 'import rasa, rasa_sdk, spacy, sqlalchemy' || { echo "error: dependency install failed" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

lock: ## refresh requirements.lock from pyproject.toml (needs network access to PyPI)
	python3 -m pip install --quiet uv
	python3 -m uv pip compile pyproject.toml --extra dev --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_28 --no-header -o $(LOCK)

validate: install ## check the training data and domain
	$(BIN)/rasa data validate --fail-on-warnings

train: install ## train the model if training data or config changed
	$(BIN)/aftercare train

run: install ## install, train if needed, start the assistant on localhost (Ctrl-C stops it)
	$(BIN)/aftercare run

test: install lint ## install, lint, and run the whole test suite (trains what the conversation tests need)
	@scripts/install-system-deps || echo "note: system packages not installed; browser/PostgreSQL tests will skip"
	@$(MAKE) --no-print-directory test-tools || echo "note: axe-core not installed; accessibility checks will skip"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-tools: $(NODE_STAMP) ## install axe-core (accessibility checks) from the npm registry, exactly as package-lock.json pins it

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found (scripts/install-system-deps installs it as root)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $(NODE_STAMP)

test-fast: install ## run only the fast, hermetic tests
	$(BIN)/python -m pytest -m "not slow and not browser and not postgres" $(PYTEST_ARGS)

chaos: install ## fault-injection suite on the real servers; prints the chaos table (var/chaos-report.md)
	$(BIN)/python -m pytest -m chaos $(PYTEST_ARGS)

scale-test: install ## 2 Rasa + 2 action-server replicas on PostgreSQL, Redis, nginx; kills one mid-run; exits 0 only if nothing is lost (slow; not in make test)
	@scripts/install-system-deps
	$(BIN)/python -m scale $(SCALE_ARGS)

BENCH_ARGS ?=
bench: install ## ours vs stock Rasa side by side (bench/README.md); table, then one JSON line; not part of make test
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check bot actions tests
	$(BIN)/mypy bot actions

audit-tool: $(AUDIT_VENV)/bin/pip-audit

# pip-audit needs packaging>=23, Rasa 3.6 pins packaging<21: it gets a venv of its own.
$(AUDIT_VENV)/bin/pip-audit:
	@python3 -m venv $(AUDIT_VENV)
	@$(AUDIT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "$(PIP_AUDIT)" \
	  || { echo "error: could not install $(PIP_AUDIT) into $(AUDIT_VENV) (offline?); nothing was audited" >&2; rm -rf $(AUDIT_VENV); exit 2; }

audit: audit-tool ## check requirements.lock against published advisories (needs network; fails, never a silent all-clear, when it cannot)
	$(AUDIT_VENV)/bin/python scripts/audit-deps --pip-audit $(AUDIT_VENV)/bin/pip-audit --lock $(LOCK)

eval: install ## print the triage and NLU evaluations
	$(BIN)/aftercare eval triage
	$(BIN)/aftercare eval nlu

clean: ## remove trained models, the runtime folder and caches (keeps .venv and .env)
	rm -rf models/*.tar.gz var node_modules .pytest_cache .ruff_cache .mypy_cache
