# Two entry points: `make demo` trains and evaluates on the built-in synthetic data,
# `make test` runs the formatter, the linter and the tests. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
WORKDIR ?= workdir/demo
BIN := $(VENV)/bin

.PHONY: demo test install lint browser
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test,pretrained,export,web]'
	touch $@

demo: install
	$(BIN)/python -m skinjax.main --config=configs/scab.py:demo --workdir=$(WORKDIR)
	$(BIN)/python -m skinjax.evaluate --workdir=$(WORKDIR)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

# Headless Chromium and its driver, from Debian, for the web app's browser test.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

test: lint browser
	$(BIN)/python -m pytest
