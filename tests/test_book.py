"""The book builds with ``-W -n`` (no warnings) at quick size, and the built site needs no network.

The build itself (``VAELIB_QUICK=1 VAELIB_STATIC=1 jupyter-book build . --all -W -n``, into
``_build/quick``) is the ``quick_book`` fixture of conftest.py; tests/test_browser.py reuses it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import BUILD_LOG, ROOT, toc_files

pytestmark = pytest.mark.book


class Resources(HTMLParser):
    """Collect the URLs a page loads by itself (scripts, styles, images, frames, fonts...).

    Links a reader may click (``<a href>``) are not loaded by the page and are left out.
    """

    LOADING = {
        "script": "src",
        "img": "src",
        "iframe": "src",
        "source": "src",
        "audio": "src",
        "video": "src",
        "embed": "src",
        "object": "data",
    }

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.LOADING and attrs.get(self.LOADING[tag]):
            self.urls.append(attrs[self.LOADING[tag]])
        if tag == "link" and attrs.get("href"):
            rel = (attrs.get("rel") or "").lower()
            if any(
                kind in rel
                for kind in ("stylesheet", "preload", "prefetch", "icon", "modulepreload")
            ):
                self.urls.append(attrs["href"])


REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)


def remote_resources(html: str) -> list[str]:
    parser = Resources()
    parser.feed(html)
    return [url for url in parser.urls if REMOTE.match(url)]


def test_book_builds_without_warnings(quick_book):
    assert quick_book.returncode == 0 and not quick_book.warnings(), (
        f"jupyter-book build -W -n failed (exit {quick_book.returncode}); full log in {BUILD_LOG}."
        "\nWarnings and errors:\n"
        + "\n".join(quick_book.warnings() or quick_book.log.splitlines()[-40:])
    )
    print(f"quick book built in {quick_book.seconds:.0f} s")


def test_every_toc_page_is_built(quick_book):
    assert (quick_book.html / "index.html").is_file(), "the build wrote no index.html"
    missing = [f for f in toc_files() if not (quick_book.html / f"{f}.html").is_file()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"


def test_mathjax_is_served_from_the_build(quick_book):
    mathjax = quick_book.html / "_static" / "mathjax"
    assert (mathjax / "tex-chtml.js").is_file(), "book/_ext/mathjax_offline.py did not copy MathJax"
    fonts = list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert fonts, "MathJax's CommonHTML fonts were not copied"
    for page in sorted(quick_book.html.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        remote = [
            u
            for u in re.findall(r"""["']([^"']*mathjax[^"']*)["']""", text, re.I)
            if REMOTE.match(u)
        ]
        assert not remote, f"{page.relative_to(quick_book.html)} loads MathJax from {remote}"


def test_pages_load_nothing_from_the_network(quick_book):
    """Scripts, styles, fonts and images all come from the build; only links point outside."""
    offenders = {}
    for page in sorted(quick_book.html.rglob("*.html")):
        remote = remote_resources(page.read_text(encoding="utf-8"))
        if remote:
            offenders[str(page.relative_to(quick_book.html))] = remote
    assert not offenders, f"pages that load resources from the network: {offenders}"
    for css in sorted((quick_book.html / "_static").rglob("*.css")):
        imports = re.findall(
            r"@import\s+(?:url\()?[\"']?(https?://[^\"')\s]+)", css.read_text("utf-8")
        )
        assert not imports, f"{css.relative_to(quick_book.html)} imports {imports}"


def test_chapter_pages_have_static_sliders_and_colab_button(quick_book):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    chapters = [f for f in toc_files() if f.startswith("chapters/")]
    assert chapters, "_toc.yml lists no chapter"
    for chapter in chapters:
        text = (quick_book.html / f"{chapter}.html").read_text(encoding="utf-8")
        assert 'class="vaelib-widget"' in text, f"{chapter}: no static slider (VAELIB_STATIC=1?)"
        assert "jupyter-widgets" not in text, f"{chapter}: a live ipywidget leaked into the HTML"
        colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{chapter}.ipynb"
        assert colab in text, f"{chapter}: no Colab launch button to {colab}"


def test_remote_resource_detection_is_not_vacuous():
    """The checker above must see a remote script, font stylesheet or image when there is one."""
    html = (
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" '
        'href="//fonts.example/css"><img src="http://a/b.png"><a href="https://ok.example">x</a>'
        '<script src="_static/local.js"></script>'
    )
    assert remote_resources(html) == [
        "https://cdn.example/x.js",
        "//fonts.example/css",
        "http://a/b.png",
    ]


# ---------------------------------------------------------------- what a reader sees in a page


class CellOutputs(HTMLParser):
    """The text of every cell output block of a myst-nb page, with its kind.

    myst-nb writes ``<div class="output stderr ...">`` for stderr, ``output stream`` for stdout
    and ``output text_plain`` for a cell's plain-text result (a repr such as ``{'lr': 0.002}``).
    """

    KINDS = ("stderr", "stream", "text_plain", "traceback")

    def __init__(self):
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self._depth = 0  # > 0 inside an output block
        self._kind = ""
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if self._depth:
            self._depth += tag == "div"
        elif tag == "div" and "output" in classes:
            kind = next((k for k in self.KINDS if k in classes), "")
            if kind:
                self._depth, self._kind, self._text = 1, kind, []

    def handle_endtag(self, tag):
        if self._depth and tag == "div":
            self._depth -= 1
            if not self._depth:
                self.blocks.append((self._kind, "".join(self._text).strip()))

    def handle_data(self, data):
        if self._depth:
            self._text.append(data)


def stray_outputs(page_html: str) -> list[str]:
    """Output blocks a reader should never see: stderr, tracebacks, warnings, bare reprs and
    messages about the build machine. Printed text on stdout is allowed only when it is not
    one of those."""
    parser = CellOutputs()
    parser.feed(page_html)
    stray = []
    for kind, text in parser.blocks:
        looks_like_warning = re.search(r"\b\w*Warning\b|warnings\.warn|Errno|Traceback", text)
        # a container, an object, a call, a quoted string or a lone number: what a cell's last
        # expression shows when nobody meant it to be shown
        looks_like_repr = re.match(
            r"^[\[{(<]|^\w+\(.*\)$|^'.*'$|^\".*\"$|^[-+]?\d[\d.e+-]*$", text, re.S
        )
        if kind in ("stderr", "traceback") or looks_like_warning:
            stray.append(f"{kind}: {text[:120]}")
        elif kind == "text_plain" and looks_like_repr:
            stray.append(f"repr: {text[:120]}")
    return stray


def test_stray_output_check_catches_what_it_should():
    page = (
        '<div class="output stderr highlight-myst-ansi"><pre>UserWarning: x</pre></div>'
        '<div class="output text_plain highlight-myst-ansi"><pre>{"lr": 0.002}</pre></div>'
        '<div class="output stream highlight-myst-ansi"><pre>[Errno -2] Name unknown</pre></div>'
        '<div class="output text_plain"><pre>(0.0, {"lr": 0.002})</pre></div>'
        '<div class="output text_plain"><pre>&lt;Figure size 640x480 with 1 Axes&gt;</pre></div>'
        '<div class="output text_plain"><pre>&#x27;stays well below its ceiling&#x27;</pre></div>'
        '<div class="output text_plain"><pre>0.4571</pre></div>'
    )
    assert len(stray_outputs(page)) == 7
    clean = '<div class="output stream"><pre>epoch 3: held-out ELBO -101.2 nats</pre></div>'
    assert stray_outputs(clean) == []


def test_pages_show_no_stderr_warning_or_repr(quick_book):
    offenders = {}
    for chapter in [f for f in toc_files() if f.startswith("chapters/")]:
        stray = stray_outputs((quick_book.html / f"{chapter}.html").read_text(encoding="utf-8"))
        if stray:
            offenders[chapter] = stray
    assert not offenders, f"stray output in the built pages: {offenders}"


@pytest.fixture(scope="module")
def build():
    """book/build.py, the script behind make book and the quick book, as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_and_full_executions_never_share_a_cache(build):
    """make book caches full-size executions; the quick book must never show them (nor the
    other way round): the two cache folders differ and name their size."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    full = ROOT / config["execute"]["cache"]
    assert config["execute"]["execute_notebooks"] == "cache"
    assert full == build.CACHE["full"] and "full" in full.name
    assert build.CACHE["quick"] != full and "quick" in build.CACHE["quick"].name
    staged = yaml.safe_load((build.stage_quick(None) / "_config.yml").read_text())
    assert Path(staged["execute"]["cache"]) == build.CACHE["quick"]


def test_a_vaelib_change_empties_the_cache(build, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert build.refresh_cache(cache)  # new: created
    (cache / "record").write_text("an execution")
    assert not build.refresh_cache(cache) and (cache / "record").exists()  # unchanged: kept
    monkeypatch.setattr(build, "vaelib_digest", lambda: "changed")
    assert build.refresh_cache(cache) and not (cache / "record").exists()  # changed: emptied


def test_uncached_chapters_run_beforehand_and_the_build_finds_them(build, tmp_path, capsys):
    """make book executes the chapters the cache lacks side by side, one thread each, with the
    given environment; the Sphinx build then matches each one in the cache (as myst-nb does)."""
    import nbformat
    from jupyter_cache import get_cache

    chapters = tmp_path / "chapters"
    chapters.mkdir()
    code = 'import os; print(os.environ["OMP_NUM_THREADS"], os.environ["MARK"], {})'
    for k in range(2):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code.format(k))])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nbformat.write(notebook, chapters / f"0{k}.ipynb")
    cache = tmp_path / "cache"
    build.execute_uncached(cache, chapters, 60, MARK="quick")
    assert "executing 2 chapter(s)" in capsys.readouterr().out
    jcache = get_cache(str(cache))
    for k in range(2):
        record = jcache.match_cache_notebook(nbformat.read(chapters / f"0{k}.ipynb", 4))
        outputs = jcache.get_cache_bundle(record.pk).nb.cells[0].outputs
        assert outputs[0]["text"] == f"1 quick {k}\n"
    build.execute_uncached(cache, chapters, 60, MARK="quick")  # all cached: nothing runs
    assert capsys.readouterr().out == ""
