"""Notebook hygiene: what every chapter must be before it is committed.

Cheap, static checks of ``chapters/*.ipynb`` against ``_toc.yml``, ``_config.yml`` and the
conventions in the README: listed in the book, committed without outputs, runnable in Colab
(the install cell points at the repository named in ``_config.yml``), and shaped like a chapter
(one title, a slider, an exercise with a solution, glued numbers).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import ROOT, toc_files

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
INSTALL_LINE = re.compile(r"""%pip install -q ["']vaelib @ (git\+\S+?)["']\s*$""", re.MULTILINE)


def install_url() -> str:
    """The pip URL every chapter installs vaelib from, built from ``_config.yml``."""
    repo = CONFIG["repository"]
    return f"git+{repo['url'].rstrip('/')}@{repo['branch']}"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def markdown(nb) -> str:
    return "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def code(nb) -> str:
    return "\n\n".join(cell.source for cell in code_cells(nb))


def headings(text: str) -> list[str]:
    """Markdown ATX headings (``#``, ``##``...) outside fenced code blocks."""
    found, fence = [], None
    for line in text.splitlines():
        stripped = line.strip()
        match = re.match(r"^(`{3,}|~{3,})", stripped)
        if match and (fence is None or stripped.startswith(fence)):
            fence = None if fence else match.group(1)
            continue
        if fence is None and re.match(r"^#{1,6} ", stripped):
            found.append(stripped)
    return found


def chapter_label(path: Path) -> tuple[int, str]:
    """(chapter, section letter): ``04_vae_mnist`` is (4, ""); a section page of chapter 4,
    listed under it in _toc.yml, is ``04b_blur`` (4, "b"), listed after chapter 4."""
    match = re.match(r"^(\d+)([b-z]?)_[a-z0-9_]+\.ipynb$", path.name)
    assert match, f"{path.name}: chapter files are named NN_snake_case.ipynb (sections NNb_...)"
    return int(match.group(1)), match.group(2)


def title_prefix(path: Path) -> str:
    """'# Chapter 4: ' for a chapter, '# Chapter 4 (continued): ' for its section pages (04b_):
    Sphinx numbers a section page after the chapter's own sections, so the title names no
    number of its own."""
    number, letter = chapter_label(path)
    if not letter:
        return f"# Chapter {number}: "
    return f"# Chapter {number} (continued): "


def glue_prefix(path: Path) -> str:
    number, letter = chapter_label(path)
    return f"ch{number}{letter}_"


def ids(paths):
    return [p.name for p in paths]


# ---------------------------------------------------------------- the book and the repository


def test_there_are_chapters():
    assert CHAPTERS, "chapters/ holds no notebook"


def test_every_chapter_is_in_the_toc_and_every_toc_entry_exists():
    toc = toc_files()
    listed = {f for f in toc if f.startswith("chapters/")}
    on_disk = {f"chapters/{p.stem}" for p in CHAPTERS}
    assert not on_disk - listed, f"notebooks missing from _toc.yml: {sorted(on_disk - listed)}"
    missing = [
        f for f in toc if not any((ROOT / f"{f}{ext}").is_file() for ext in (".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml entries with no .md or .ipynb file: {missing}"
    assert len(toc) == len(set(toc)), f"_toc.yml lists a page twice: {toc}"


def test_every_book_page_is_in_the_toc():
    """With only_build_toc_files, a page left out of _toc.yml silently vanishes from the book."""
    pages = {f"book/{p.stem}" for p in (ROOT / "book").glob("*.md")}
    unlisted = pages - set(toc_files())
    assert not unlisted, f"pages in book/ that _toc.yml does not list: {sorted(unlisted)}"


def test_the_book_skips_every_ignored_folder():
    """A virtual environment or build folder the book does not exclude is read as pages: the
    README files inside .venv-reader's packages broke make book's -W build once."""
    folders = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip().endswith("/") and not re.search(r"[*?\[/]", line.strip().rstrip("/"))
    ]
    assert ".venv-reader" in folders and "_executed" in folders
    patterns = set(CONFIG["exclude_patterns"])
    missing = [f for f in folders if f not in patterns and f"**{f}" not in patterns]
    assert not missing, f"_config.yml's exclude_patterns lacks ignored folders: {missing}"


def test_chapters_are_in_order_in_the_toc():
    numbers = [int(Path(f).name[:2]) for f in toc_files() if f.startswith("chapters/")]
    assert numbers == sorted(numbers), f"chapters out of order in _toc.yml: {numbers}"


def test_readme_and_intro_point_at_the_configured_repository():
    """Clone commands and Colab links in README.md and book/intro.md match _config.yml."""
    url = CONFIG["repository"]["url"].rstrip("/")
    owner_repo = url.removeprefix("https://github.com/")
    branch = CONFIG["repository"]["branch"]
    for path in (ROOT / "README.md", ROOT / "book" / "intro.md"):
        text = path.read_text()
        clones = [u.removesuffix(".git") for u in re.findall(r"git clone (\S+)", text)]
        assert clones, f"{path.name} shows no `git clone` command"
        assert set(clones) == {url}, f"{path.name} clones {clones}; _config.yml names {url}"
        colab = re.findall(
            r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([^/]+)/", text
        )
        wrong = [c for c in colab if c != (owner_repo, branch)]
        assert not wrong, f"{path.name}: Colab links to {wrong}; _config.yml: {owner_repo}@{branch}"


def test_readme_and_intro_link_every_chapter_in_the_toc():
    """When a chapter joins _toc.yml, the README's table and the intro's road link to it."""
    chapters = [f for f in toc_files() if f.startswith("chapters/")]
    for path in (ROOT / "README.md", ROOT / "book" / "intro.md"):
        text = path.read_text()
        unlinked = [f for f in chapters if f"{Path(f).name}.ipynb)" not in text]
        assert not unlinked, f"{path.relative_to(ROOT)} does not link to {unlinked}"


# ---------------------------------------------------------------- each chapter


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_is_valid_nbformat_4(path):
    nb = read(path)
    nbformat.validate(nb)
    assert nb.nbformat == 4


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_committed_without_outputs(path):
    nb = read(path)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; clear them with "
        f"`jupyter nbconvert --clear-output --inplace {path.relative_to(ROOT)}`"
    )
    assert "widgets" not in nb.metadata, f"{path.name}: saved ipywidgets state in the metadata"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_first_code_cell_installs_vaelib_from_the_configured_repository(path):
    cells = code_cells(read(path))
    assert cells, f"{path.name} has no code cell"
    first = cells[0]
    urls = INSTALL_LINE.findall(first.source)
    assert urls, (
        f'{path.name}: the first code cell must install vaelib in Colab: %pip install -q "vaelib @ '
        f'{install_url()}" when importlib.util.find_spec("vaelib") is None'
    )
    assert urls == [install_url()], (
        f"{path.name}: the install cell points at {urls[0]}, but _config.yml's repository "
        f"gives {install_url()}: update this cell"
    )
    assert 'find_spec("vaelib") is None' in first.source, (
        f"{path.name}: the install must run only when vaelib is missing "
        '(if importlib.util.find_spec("vaelib") is None:)'
    )
    assert "--upgrade" not in first.source and "--force" not in first.source, (
        f"{path.name}: the install cell must keep the packages Colab already has"
    )
    assert "google.colab" in first.source, f"{path.name}: say in one line what was installed"
    assert "hide-cell" in first.metadata.get("tags", []), f"{path.name}: tag the cell hide-cell"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_opens_with_its_title_and_what_you_will_learn(path):
    nb = read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown", f"{path.name}: the first cell must be markdown"
    prefix = title_prefix(path)
    assert re.match(rf"^{re.escape(prefix)}\S", first.source), (
        f"{path.name}: the first cell must start with '{prefix}Title'"
    )
    kind = "section" if chapter_label(path)[1] else "chapter"
    assert f"In this {kind} you will" in first.source, (
        f"{path.name}: say what the reader will be able to do ('In this {kind} you will...')"
    )
    titles = [h for h in headings(markdown(nb)) if h.startswith("# ")]
    assert len(titles) == 1, f"{path.name}: exactly one '# ' title, found {titles}"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_has_a_slider_an_exercise_and_glued_numbers(path):
    nb = read(path)
    source, text = code(nb), markdown(nb)
    assert re.search(r"\binteractive\(", source), (
        f"{path.name}: no vaelib.widgets.interactive(...) slider figure"
    )
    assert re.search(r"^:::+\{exercise\}", text, re.M), f"{path.name}: no {{exercise}}"
    assert re.search(r"^:::+\{solution\}", text, re.M), f"{path.name}: no {{solution}}"
    assert re.search(r"\bglue\(", source) and "{glue" in text, (
        f"{path.name}: quote computed numbers with vaelib.glue.glue and {{glue:text}}"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_glue_names_carry_the_chapter_prefix(path):
    nb = read(path)
    prefix = glue_prefix(path)
    names = re.findall(r"""\bglue\(\s*f?["']([^"']+)["']""", code(nb))
    wrong = sorted({n for n in names if not n.startswith(prefix)})
    assert not wrong, f"{path.name}: glue names must start with {prefix!r}: {wrong}"


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_quick_mode_only_shrinks_sizes(path):
    """Chapters pick sizes with config.size(full, quick); they never branch on QUICK."""
    uses = [
        i
        for i, cell in enumerate(read(path).cells)
        if cell.cell_type == "code" and re.search(r"\bQUICK\b|VAELIB_QUICK", cell.source)
    ]
    assert not uses, f"{path.name}: cells {uses} read QUICK; use vaelib.config.size(full, quick)"


BOOK_ONLY = ("myst_nb", "jupyter_book", "sphinx", "sphinx_exercise", "nbmake", "jupyter_cache")


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_imports_nothing_book_only(path):
    """A chapter runs in Colab with vaelib alone: no book-building package in its code."""
    pattern = re.compile(rf"^\s*(?:from|import)\s+({'|'.join(BOOK_ONLY)})\b", re.M)
    found = sorted(set(pattern.findall(code(read(path)))))
    assert not found, f"{path.name} imports {found}; use vaelib.glue.glue instead of myst_nb.glue"


# ---------------------------------------------------------------- the checks themselves


def test_heading_scan_ignores_code_fences():
    text = "# Title\n\n```python\n# a comment\n```\n\n## Section\n"
    assert headings(text) == ["# Title", "## Section"]


def test_install_line_pattern_reads_the_url():
    cell = '    %pip install -q "vaelib @ git+https://github.com/someone/fork@dev"\n'
    assert INSTALL_LINE.findall(cell) == ["git+https://github.com/someone/fork@dev"]
