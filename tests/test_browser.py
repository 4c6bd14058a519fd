"""The built book in a real browser, with the network off: sliders move, math is typeset.

Playwright's Python package drives Debian's Chromium (``/usr/bin/chromium``, or the path in
``VAELIB_CHROMIUM``); Playwright's own browser download is not used. The quick book built by
tests/test_book.py is served from a localhost HTTP server; every request to anything else is
blocked, recorded, and fails the test. Screenshots are kept in ``_build/screenshots/``, at the
desktop width (1280 px) and at a phone's (390 px, ``phone__*.png``); the phone pass also writes
``phone-report.json`` there (display equations wider than their box, page weights, load times).
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import SCREENSHOTS, require_browser, toc_files

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # the fixture below skips (or fails under make test) with the reason
    sync_playwright, PlaywrightTimeout = None, TimeoutError

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("VAELIB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
CHAPTER_1 = "chapters/01_gaussian_nll"
PHONE = {"width": 390, "height": 844}
MAX_PAGE_BYTES = 3_000_000  # a chapter page with all it loads, and with all its slider frames
PATHLIKE_ALT = re.compile(r"(^|/|\\)[^\s/\\]+\.(png|jpe?g|gif|svg|webp)$", re.I)
CHAPTERS = [f for f in toc_files() if f.startswith("chapters/")]
# TeX that MathJax would have replaced: delimiters, environments, control sequences.
RAW_TEX = re.compile(
    r"\$\$|\\begin\{|\\end\{|\\\(|\\\)|\\\[|\\\]|\\[a-zA-Z]{2,}|\$[^$\s][^$]*\\[a-zA-Z]"
)

# The page's text without code (code may legitimately hold TeX, e.g. matplotlib labels) and
# without what MathJax produced.
PAGE_TEXT_JS = """() => {
  const main = (document.querySelector('main') || document.body).cloneNode(true);
  main.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml, '
    + '.highlight, .cell_input, .vaelib-widget').forEach(e => e.remove());
  return main.textContent;
}"""


def _skip_or_fail(reason: str):
    if require_browser():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(book_html: Path):
    """Serve the built book on 127.0.0.1 (a free port), quietly, for this module."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(book_html))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class Network:
    """Lets through requests to localhost (and data:/blob: URLs); blocks and records the rest."""

    def __init__(self):
        self.blocked: list[str] = []

    @staticmethod
    def is_local(url: str) -> bool:
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about"):
            return True
        return parsed.scheme in ("http", "https") and parsed.hostname in ("127.0.0.1", "localhost")

    def handle(self, route):
        url = route.request.url
        if self.is_local(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("internetdisconnected")


@dataclass
class Visit:
    """An open page and what went wrong on it so far."""

    page: object
    network: Network
    first_blocked: int
    errors: list = field(default_factory=list)  # uncaught JavaScript exceptions
    missing: list = field(default_factory=list)  # local files the page asked for but did not get
    console: list = field(default_factory=list)  # console.error messages (e.g. the theme's)

    @property
    def blocked(self) -> list[str]:
        return self.network.blocked[self.first_blocked :]

    def assert_clean(self, what: str):
        assert not self.blocked, f"{what} asked the network for {self.blocked}"
        assert not self.errors, f"{what} raised JavaScript errors: {self.errors}"
        assert not self.missing, f"{what} asked for local files that failed: {self.missing}"
        assert not self.console, f"{what} logged console errors: {self.console}"


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory, server):
    if not Path(CHROMIUM).exists():
        _skip_or_fail(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` (Debian) or set VAELIB_CHROMIUM"
        )
    if sync_playwright is None:
        _skip_or_fail("the playwright package is not installed: run `make test`")
    network = Network()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            service_workers="block",
        )
        context.route("**/*", network.handle)
        context.network = network
        yield context
        context.close()


@pytest.fixture
def open_page(browser_context, server):
    """Open a built page (a toc path such as ``chapters/01_gaussian_nll``) and wait until MathJax
    has typeset it; returns a :class:`Visit` that records errors and blocked requests."""
    visits = []

    def open_(path: str, viewport: dict | None = None) -> Visit:
        page = browser_context.new_page()
        if viewport:
            page.set_viewport_size(viewport)
        visit = Visit(page, browser_context.network, len(browser_context.network.blocked))
        page.on("pageerror", lambda err: visit.errors.append(str(err)))
        page.on(
            "console",
            lambda msg: visit.console.append(msg.text) if msg.type == "error" else None,
        )
        page.on(
            "response",
            lambda r: visit.missing.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.on(
            "requestfailed",
            lambda r: (
                visit.missing.append(f"{r.failure} {r.url}") if Network.is_local(r.url) else None
            ),
        )
        suffix = "" if "." in Path(path).name else ".html"  # search.html?q=... as it is
        page.goto(f"{server}/{path}{suffix}", wait_until="load")
        if page.locator("script[src*='mathjax']").count():  # Sphinx adds it to pages with math
            try:
                page.wait_for_function(
                    "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                    timeout=30_000,
                )
            except PlaywrightTimeout:
                visit.assert_clean(path)  # a blocked or missing MathJax file explains it best
                pytest.fail(f"{path}: MathJax did not start within 30 s")
            page.evaluate("() => MathJax.startup.promise")
        visits.append(visit)
        return visit

    yield open_
    for visit in visits:
        visit.page.close()


def shot(page_or_element, name: str, **options) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page_or_element.screenshot(path=str(path), **options)
    assert path.stat().st_size > 0, f"empty screenshot {path}"
    return path


def test_network_blocker_blocks_remote_requests(browser_context, server):
    """The blocker is not vacuous: a page that asks for a remote script gets it blocked."""
    page = browser_context.new_page()
    before = len(browser_context.network.blocked)
    page.goto(f"{server}/book/intro.html")
    page.evaluate("""() => new Promise(done => {
        const s = document.createElement('script');
        s.src = 'https://cdn.example.invalid/probe.js';
        s.onload = s.onerror = () => done();
        document.head.appendChild(s);
    })""")
    page.close()
    assert browser_context.network.blocked[before:] == ["https://cdn.example.invalid/probe.js"]
    del browser_context.network.blocked[before:]


@pytest.mark.parametrize("path", toc_files())
def test_page_is_typeset_offline(open_page, path):
    """Every page: no request leaves localhost, no JavaScript error, all math typeset."""
    visit = open_page(path)
    page = visit.page
    shot(page, path.replace("/", "__"), full_page=True)
    visit.assert_clean(path)
    counts = page.evaluate("""() => ({
        math: document.querySelectorAll('.math').length,
        typeset: document.querySelectorAll('.math mjx-container').length,
        containers: document.querySelectorAll('mjx-container').length,
        errors: document.querySelectorAll('mjx-merror').length,
    })""")
    assert counts["typeset"] == counts["math"], f"{path}: untypeset math elements: {counts}"
    assert counts["errors"] == 0, f"{path}: MathJax reported TeX errors: {counts}"
    raw = sorted(set(RAW_TEX.findall(page.evaluate(PAGE_TEXT_JS))))
    assert not raw, f"{path}: raw TeX left in the page text: {raw}"
    if path == CHAPTER_1:
        assert counts["containers"] >= 3, f"chapter 1 should show typeset equations: {counts}"


def slider_state(widget, slider) -> dict:
    image = widget.locator("img.vaelib-widget-frame")
    return {
        "value": slider.input_value(),
        "src": image.get_attribute("src"),
        "alt": image.get_attribute("alt"),
        "valuetext": slider.get_attribute("aria-valuetext"),
        "frame": widget.get_attribute("data-frame"),
        "label": slider.locator("xpath=following-sibling::output[1]").inner_text(),
    }


@pytest.mark.parametrize("path", CHAPTERS)
def test_static_sliders_move(open_page, path):
    """Every slider of every static widget, moved from the keyboard as a reader would, shows
    another frame: the image changes, the root's data-frame changes, the value label follows,
    and so do the words a screen reader says: the image's alt and the slider's aria-valuetext.
    Frames are image files next to the page, not inline data."""
    visit = open_page(path)
    page, name = visit.page, Path(path).name
    widgets = page.locator(".vaelib-widget")
    assert widgets.count() >= 1, f"{path} has no static slider (.vaelib-widget)"
    for w in range(widgets.count()):
        widget = widgets.nth(w)
        widget.scroll_into_view_if_needed()
        sliders = widget.locator("input[type=range]")
        assert sliders.count() >= 1, f"{path}: widget {w} has no range input"
        if w == 0:
            shot(widget, f"{name}_slider_before")
        for s in range(sliders.count()):
            slider = sliders.nth(s)
            start, moved = slider_state(widget, slider), []
            for key in ("End", "Home"):
                slider.focus()
                page.keyboard.press(key)
                state = slider_state(widget, slider)
                if state["value"] != start["value"]:
                    moved.append(state)
            where = f"{path}: widget {w}, slider {s}"
            assert moved, f"{where} did not move (value stayed {start['value']})"
            changed = [m for m in moved if m["src"] != start["src"]]
            assert changed, f"{where}: moving it never changed the shown frame"
            assert all(m["frame"] != start["frame"] for m in changed), f"{where}: data-frame stuck"
            assert all(m["label"] != start["label"] for m in moved), f"{where}: label stuck"
            assert all(m["alt"] != start["alt"] for m in moved), f"{where}: alt text stuck"
            assert all(m["label"] in m["alt"] for m in moved), f"{where}: alt lacks the value"
            assert all(m["valuetext"] != start["valuetext"] for m in moved), f"{where}: valuetext"
            assert all(m["valuetext"].endswith(f"= {m['label']}") for m in moved), where
            assert not start["src"].startswith("data:"), f"{where}: frames inlined as data"
            if w == 0 and s == 0:
                slider.focus()
                page.keyboard.press("End")
                shot(widget, f"{name}_slider_after")
    visit.assert_clean(f"{path} (moving its sliders)")
    if path == CHAPTER_1:
        for suffix in ("before", "after"):
            assert (SCREENSHOTS / f"{name}_slider_{suffix}.png").is_file()


def test_raw_tex_pattern_catches_untypeset_math():
    """The raw-TeX check is not vacuous: it sees delimiters and commands, not plain prose."""
    for raw in ("$$x$$", r"\begin{align}", r"\(x\)", r"\[x\]", r"\frac{a}{b}", r"$\mu$"):
        assert RAW_TEX.search(raw), raw
    for prose in ("costs $5 and $6", "a (b) [c]", "x = 1 \\ 2", "path/to/file"):
        assert not RAW_TEX.search(prose), prose


# ---- The phone pass: 390 px wide ---------------------------------------------------------

EQUATIONS_JS = """() => Array.from(MathJax.startup.document.math)
  .filter(item => item.display).map(item => {
  const root = item.typesetRoot, math = root && root.querySelector('mjx-math');
  const box = root && root.closest('div.math');
  const eqno = box && box.querySelector('.eqno');
  return {tex: item.math.trim(), width: math ? Math.round(math.getBoundingClientRect().width) : 0,
          box: root ? root.clientWidth : 0,
          number: eqno ? eqno.textContent.replace('#', '').trim() : ''};
})"""

LOAD_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const resources = performance.getEntriesByType('resource');
  const bytes = resources.reduce((sum, r) => sum + (r.encodedBodySize || 0), 0)
    + (nav ? nav.encodedBodySize : 0);
  return {bytes, ms: nav ? Math.round(nav.loadEventEnd - nav.startTime) : null};
}"""


def _report(key: str, path: str, value) -> None:
    """Add a measurement to _build/screenshots/phone-report.json (read by the maintainers)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report_file = SCREENSHOTS / "phone-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    report.setdefault(key, {})[path] = value
    report_file.write_text(json.dumps(report, indent=1, ensure_ascii=False))


@pytest.mark.parametrize("path", toc_files())
def test_phone_page_fits_the_screen(open_page, path):
    """At 390 px: nothing scrolls the page sideways, no error, every image has alt text that
    says what it shows (not a file path), one <h1> and one viewport meta per page."""
    visit = open_page(path, viewport=PHONE)
    page = visit.page
    shot(page, "phone__" + path.replace("/", "__"), full_page=True)
    sliders = page.locator("figure.vaelib-widget-figure")
    if sliders.count():  # the first slider figure, with its caption, as a phone shows it
        sliders.first.scroll_into_view_if_needed()
        shot(sliders.first, f"phone__{Path(path).name}_slider")
    visit.assert_clean(f"{path} at 390 px")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} scrolls sideways at 390 px: {width} px wide"
    alts = page.evaluate("() => Array.from(document.images, i => [i.getAttribute('alt'), i.src])")
    for alt, src in alts:
        assert alt and alt.strip(), f"{path}: image {src} has no alt text"
        assert not PATHLIKE_ALT.search(alt.strip()), f"{path}: image {src} has alt {alt!r}"
    counts = page.evaluate("""() => [document.querySelectorAll('h1').length,
        document.querySelectorAll('meta[name=viewport]').length]""")
    assert counts == [1, 1], f"{path}: {counts[0]} <h1> and {counts[1]} viewport metas"
    if page.locator("script[src*='mathjax']").count():
        equations = page.evaluate(EQUATIONS_JS)
        scrolling = [e for e in equations if e["width"] > e["box"] + 1]  # px, rounded
        _report(
            "equations that scroll inside their box at 390 px",
            path,
            {"count": len(scrolling), "of": len(equations), "equations": scrolling},
        )
        assert not scrolling, f"{path}: display equations wider than their box {scrolling}"


def test_phone_menu_opens_and_navigates(open_page):
    """The chapter menu button (pydata-sphinx-theme#2451 worked around) opens the menu on a
    phone, and a chapter link in it navigates there."""
    visit = open_page(CHAPTER_1, viewport=PHONE)
    page = visit.page
    button = page.locator(".primary-toggle:visible")
    assert button.count() == 1, "no visible chapter-menu button at 390 px"
    button.click()
    dialog = page.locator("#pst-primary-sidebar-modal")
    page.wait_for_function(
        "() => document.getElementById('pst-primary-sidebar-modal').open", timeout=5_000
    )
    shot(page, "phone__menu_open")
    target = next(c for c in CHAPTERS if c > CHAPTER_1)  # another page: the current one links "#"
    link = dialog.locator(f"a[href$='{Path(target).name}.html']").first
    assert link.is_visible(), f"the menu shows no visible link to {target}"
    link.click()
    page.wait_for_url(f"**/{target}.html", wait_until="commit", timeout=30_000)
    visit.assert_clean("the chapter menu")


def test_search_snippets_show_no_tex(open_page):
    """Search results are summarised without raw TeX (math is said in words)."""
    visit = open_page("search.html?q=ELBO")
    page = visit.page
    page.wait_for_selector("#search-results ul.search li p.context", timeout=30_000)
    page.wait_for_timeout(500)  # the other snippets arrive one page fetch each
    snippets = page.locator("#search-results p.context").all_inner_texts()
    shot(page, "search_ELBO", full_page=True)
    assert snippets, "the search for ELBO found nothing"
    raw = sorted({m for text in snippets for m in RAW_TEX.findall(text)})
    assert not raw, f"search snippets show raw TeX {raw}: {snippets[:2]}"
    visit.assert_clean("the search page")


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_page_weight(open_page, book_html, path):
    """A chapter loads under 3 MB (with a fresh cache), and with all of its slider frames it
    is still under 3 MB on disk; the measured figures go into phone-report.json."""
    visit = open_page(path, viewport=PHONE)
    loaded = visit.page.evaluate(LOAD_JS)
    html_file = book_html / f"{path}.html"
    text = html_file.read_text(encoding="utf-8")
    frames = set(re.findall(r'"\.\./_images/(vaelib-widget-[0-9a-f]+\.png)"', text))
    on_disk = html_file.stat().st_size + sum(
        (book_html / "_images" / f).stat().st_size for f in frames
    )
    _report("chapter pages", path, {**loaded, "html_and_all_frames_bytes": on_disk})
    assert "data:image/png;base64" not in text, f"{path} still inlines images as base64"
    assert loaded["bytes"] < MAX_PAGE_BYTES, f"{path} loads {loaded['bytes'] / 1e6:.2f} MB"
    assert on_disk < MAX_PAGE_BYTES, f"{path} with all its frames takes {on_disk / 1e6:.2f} MB"
