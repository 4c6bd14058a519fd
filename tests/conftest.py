"""Shared fixtures: the quick book build that tests/test_book.py checks and tests/test_browser.py
drives, built once per pytest session.

``make test`` runs ``pytest tests chapters --nbmake`` with ``VAELIB_QUICK=1``; the items are
reordered so that the fast tests run first, then the chapters (nbmake), then the book build and
last the browser test, which reuses that build.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
QUICK_BOOK = ROOT / "_build" / "quick"  # jupyter-book --path-output: the HTML is in _build/html
QUICK_HTML = QUICK_BOOK / "_build" / "html"
BUILD_LOG = QUICK_BOOK / "build.log"
SCREENSHOTS = ROOT / "_build" / "screenshots"
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Sphinx colours its log even into a pipe


def toc_files() -> list[str]:
    """Every ``file:`` entry of _toc.yml (root included), e.g. ``chapters/01_gaussian_nll``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    return files


def require_browser() -> bool:
    """True under ``make test`` (VAELIB_REQUIRE_BROWSER=1): the browser test may not skip."""
    return os.environ.get("VAELIB_REQUIRE_BROWSER", "") == "1"


@dataclass
class BookBuild:
    """The outcome of one ``jupyter-book build -W -n`` of the quick book."""

    returncode: int
    log: str
    seconds: float
    html: Path

    def warnings(self) -> list[str]:
        """Sphinx's warnings and errors (``file:line: WARNING: ...``), not a kernel's log."""
        pattern = re.compile(r"\b(WARNING|ERROR|CRITICAL|SEVERE):")
        return [line for line in self.log.splitlines() if pattern.search(line)]


EXECUTED = ROOT / "_executed" / "chapters"  # make chapters (nbmake --overwrite)


def executed_chapters() -> Path | None:
    """``_executed/chapters`` when it holds an executed copy of every chapter whose code
    matches the chapter's current code (so the quick book reuses those runs), else None."""
    import nbformat

    for chapter in sorted((ROOT / "chapters").glob("*.ipynb")):
        copy = EXECUTED / chapter.name
        if not copy.is_file():
            return None
        ours, theirs = (nbformat.read(p, as_version=4) for p in (chapter, copy))
        if [c.source for c in ours.cells] != [c.source for c in theirs.cells]:
            return None
        if not any(c.get("outputs") for c in theirs.cells if c.cell_type == "code"):
            return None
    return EXECUTED


def build_quick_book() -> BookBuild:
    """Build the whole book at quick size with static sliders into ``_build/quick``.

    ``book/build.py quick``: from the chapters nbmake executed in ``make chapters`` when they are
    current, otherwise executing them through the quick-size cache. ``-W -n --keep-going``:
    every warning (nitpicky references included) fails the build, and all are reported.
    """
    command = [sys.executable, str(ROOT / "book" / "build.py"), "quick"]
    executed = executed_chapters()
    if executed is not None:
        command += ["--executed", str(executed)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log = ANSI.sub("", f"$ {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    BUILD_LOG.parent.mkdir(parents=True, exist_ok=True)
    BUILD_LOG.write_text(log)
    return BookBuild(done.returncode, log, seconds, QUICK_HTML)


@pytest.fixture(scope="session")
def quick_book() -> BookBuild:
    """Build the quick book once per session (tests/test_book.py asks for it first)."""
    return build_quick_book()


@pytest.fixture(scope="session")
def book_html(request) -> Path:
    """The folder of the built quick book, for the browser test.

    When tests/test_book.py is part of this session, its build is reused: even a build that
    failed on a warning has written its pages, and the browser still checks them (test_book.py
    reports the warning). Run on its own, the browser test uses an existing ``_build/quick``
    build, or skips with the reason when there is none (under ``make test`` it fails instead).
    """
    if any(item.path.name == "test_book.py" for item in request.session.items):
        build = request.getfixturevalue("quick_book")
        if not (build.html / "index.html").is_file():
            pytest.fail(f"the book build wrote no pages; see {BUILD_LOG}", pytrace=False)
        return build.html
    if (QUICK_HTML / "index.html").exists():
        return QUICK_HTML
    reason = (
        f"no built book at {QUICK_HTML}: run `make test`, or `pytest tests/test_book.py "
        "tests/test_browser.py`, which builds it first"
    )
    if require_browser():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _order(item) -> int:
    if item.get_closest_marker("browser"):
        return 3
    if item.get_closest_marker("book"):
        return 2
    if item.path.suffix == ".ipynb":
        return 1
    return 0


def pytest_collection_modifyitems(config, items):
    """Fast tests first, then the chapters (nbmake), the book build, the browser."""
    items.sort(key=_order)  # stable: keeps the file order within each group
