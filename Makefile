# The course's two commands:
#   make book   build the whole book (full-size runs, static sliders) into _build/html
#   make test   everything CI runs: ruff, unit tests, notebook hygiene, every chapter at quick
#               size (nbmake, in the reader's environment), the quick book with -W -n built from
#               those executions, and the headless-browser test
# Both create .venv (python3 -m venv) and install requirements.txt and vaelib into it first.
# make test also creates .venv-reader: what a chapter's install cell gives a Colab runtime (vaelib
# and its declared dependencies, Colab's ipywidgets 7.7.1, a kernel and the test runner) and
# nothing from the book-building half of requirements.txt. Every chapter runs there, once.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
READER := .venv-reader
RBIN   := $(READER)/bin
RSTAMP := $(READER)/.installed
COLAB_IPYWIDGETS := 7.7.1
# make test runs two things at a time (CI has 2 cores): the unit tests beside the reader
# environment's install, then the chapters two by two, one thread each (OMP_NUM_THREADS=1).
JOBS ?= 2
EXECUTED := _executed/chapters
# CI and make test never touch the network (vaelib.network); quick sizes, static sliders.
TEST_ENV := VAELIB_QUICK=1 VAELIB_OFFLINE=1

.DEFAULT_GOAL := help
.PHONY: help venv book test lint unit chapters chromium clean serve mutate

help:
	@echo "make book   build the book (full size) into _build/html"
	@echo "make test   lint, unit tests, hygiene, chapters (nbmake), quick book (-W -n), browser"
	@echo "make unit   only the fast tests (no chapters, no book, no browser)"
	@echo "make lint   ruff check and ruff format --check"
	@echo "make mutate the mutation benchmark: one-line bugs in a copy of vaelib, does a test catch each?"
	@echo "make serve  serve the built book on http://localhost:8000 (search works there)"
	@echo "make clean  remove _build and the execution caches (keeps .venv): forces a full rebuild"

# Re-install only when requirements.txt or pyproject.toml change (or .venv is new).
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install -e .
	@touch $@

venv: $(STAMP)

# Full size, static sliders, -W -n; executions cached in _build/jupyter_cache/full (a chapter
# re-runs when it or vaelib changes). Prints each chapter's execution time at the end.
book: $(STAMP)
	VAELIB_OFFLINE=$${VAELIB_OFFLINE:-0} $(BIN)/python book/build.py full
	@echo
	@echo "The book is built. Open this page in a browser (or run make serve):"
	@echo "    file://$(CURDIR)/_build/html/index.html"

serve:
	$(PYTHON) -m http.server --directory _build/html 8000

lint: $(STAMP)
	$(BIN)/ruff check vaelib tests chapters book
	$(BIN)/ruff format --check vaelib tests book

unit: $(STAMP)
	$(TEST_ENV) $(BIN)/pytest tests -m "not book and not browser" --ignore=tests/reader -q -rfEs

# The reader's environment: Colab's ipywidgets first, then vaelib beside it (pip keeps it).
$(RSTAMP): pyproject.toml Makefile
	@test -x $(RBIN)/python || $(PYTHON) -m venv $(READER)
	$(RBIN)/python -m pip install -q "ipywidgets==$(COLAB_IPYWIDGETS)" ipykernel "pytest>=7.4" \
	  "nbmake>=1.5" "pytest-xdist>=3.3"
	$(RBIN)/python -m pip install -q .
	@touch $@

# Every chapter once, at quick size, in the reader's environment, with this tree's vaelib
# installed as Colab installs it (not editable); the executed copies feed the quick book.
chapters: $(RSTAMP)
	$(RBIN)/python -m pip install -q --no-deps --force-reinstall .
	rm -rf $(EXECUTED) && mkdir -p $(EXECUTED) && cp chapters/*.ipynb $(EXECUTED)/
	cd tests/reader && $(TEST_ENV) VAELIB_STATIC=1 OMP_NUM_THREADS=1 ../../$(RBIN)/pytest \
	  -p no:cacheprovider -n $(JOBS) --dist worksteal --rootdir=. --confcutdir=. \
	  . ../../$(EXECUTED) --nbmake --nbmake-timeout=600 --overwrite \
	  -W ignore::DeprecationWarning --durations=0 -rfEs

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

# Three steps, fastest first: unit tests and hygiene; every chapter in the reader's environment
# (make chapters); the quick book built from those executions (-W -n, into _build/quick) and the
# headless-browser test against it.
test: $(STAMP) chromium lint
	$(MAKE) --no-print-directory -j $(JOBS) --output-sync=target unit $(RSTAMP)
	$(MAKE) --no-print-directory chapters
	$(TEST_ENV) VAELIB_REQUIRE_BROWSER=1 VAELIB_CHROMIUM=$(CHROMIUM) \
	  $(BIN)/pytest tests -m "book or browser" --ignore=tests/reader --durations=5 -rfEs

# Not part of make test (minutes to hours): see tests/mutate.py for choosing modules and lines.
mutate: $(STAMP)
	VAELIB_QUICK=1 VAELIB_OFFLINE=1 $(BIN)/python tests/mutate.py $(MODULES)

clean:
	rm -rf _build _executed build
