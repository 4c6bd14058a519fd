# The course's two commands:
#   make book   build the whole book (full-size runs, static sliders) into _build/html
#   make test   everything CI runs: ruff, unit tests, notebook hygiene, every chapter at quick
#               size (nbmake), the quick book with -W -n, and the headless-browser test
# Both create .venv (python3 -m venv) and install requirements.txt and vaelib into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help venv book test lint unit chromium clean

help:
	@echo "make book   build the book (full size) into _build/html"
	@echo "make test   lint, unit tests, hygiene, chapters (nbmake), quick book (-W -n), browser"
	@echo "make unit   only the fast tests (no chapters, no book, no browser)"
	@echo "make lint   ruff check and ruff format --check"
	@echo "make clean  remove _build (keeps .venv)"

# Re-install only when requirements.txt or pyproject.toml change (or .venv is new).
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -e .
	@touch $@

venv: $(STAMP)

book: $(STAMP)
	VAELIB_STATIC=1 $(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo
	@echo "The book is built. Open this page in a browser:"
	@echo "    file://$(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check vaelib tests chapters book/_ext
	$(BIN)/ruff format --check vaelib tests book/_ext

unit: $(STAMP)
	VAELIB_QUICK=1 $(BIN)/pytest tests -m "not book and not browser"

# Debian's Chromium drives the browser test (Playwright's own browser download is not used).
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else \
	    echo "No Chromium at $(CHROMIUM). Install Debian's package (sudo apt-get install chromium)" \
	         "or run make test CHROMIUM=/path/to/chromium" >&2; exit 1; \
	  fi; \
	fi

# One pytest run, ordered by tests/conftest.py: unit tests and hygiene, the chapters (nbmake),
# the quick book build (-W -n, into _build/quick) and the browser test against that build.
test: $(STAMP) chromium lint
	VAELIB_QUICK=1 VAELIB_REQUIRE_BROWSER=1 VAELIB_CHROMIUM=$(CHROMIUM) \
	  $(BIN)/pytest tests chapters --nbmake --nbmake-timeout=600 \
	  --durations=10 -rfEs

clean:
	rm -rf _build
