"""The book on a phone, for screen readers, and light: theme fixes the templates do not offer.

* ``static/vaelib-book.css``: long inline code wraps, a wide display equation scrolls inside
  its own box, outputs and images stay in the column (no page scrolls sideways at 390 px).
* ``static/vaelib-book.js``: the chapter menu opens on a phone (the theme's two
  ``.primary-toggle`` buttons, pydata/pydata-sphinx-theme#2451: clicks are handed to the one
  the theme listens to), and search snippets show math in words, not TeX.
* the template variable ``default_mode`` is "auto": the theme's mode was "" ("Got invalid
  theme mode: . Resetting to auto." on every page).
* After the build, every page is cleaned (idempotently): one viewport ``<meta>`` instead of
  three, the print-only copy of the title is no second ``<h1>``, and the Font Awesome script
  (1.5 MB, on every page) is dropped with its file: the theme's CSS already draws the same
  icons from its web fonts (about 0.3 MB, loaded once), so the script only redid that work.

Enabled from ``_config.yml`` (``sphinx: local_extensions: {phone_layout: book/_ext}``).
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).parent / "static"
VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>\s*')
FONTAWESOME_JS = re.compile(
    r'<(?:script|link)\b[^>]*(?:src|href)="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>'
    r"(?:\s*</script>)?\s*"
)
PRINT_TITLE = re.compile(
    r'(<div id="jb-print-docs-body" class="onlyprint">\s*)<h1>(.*?)</h1>', re.S
)


def clean_page(text: str) -> str:
    """One viewport meta, no Font Awesome script, a single ``<h1>``."""
    metas = VIEWPORT.findall(text)
    if len(metas) > 1:
        first = metas[0]
        text = VIEWPORT.sub("", text)
        text = text.replace('<meta charset="utf-8" />', '<meta charset="utf-8" />\n' + first, 1)
    text = FONTAWESOME_JS.sub("", text)
    return PRINT_TITLE.sub(r'\1<p class="jb-print-title" aria-hidden="true">\2</p>', text)


def on_config_inited(app: Sphinx, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def on_page_context(app, pagename, templatename, context, doctree) -> None:
    # pydata-sphinx-theme's layout writes data-mode="{{ default_mode }}", which nothing sets.
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def on_build_finished(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        cleaned = clean_page(text)
        if cleaned != text:
            page.write_text(cleaned, encoding="utf-8")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (outdir / "_static" / "scripts" / name).unlink(missing_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", on_config_inited)
    app.add_css_file("vaelib-book.css")
    app.add_js_file("vaelib-book.js", defer="defer")
    app.connect("html-page-context", on_page_context)
    app.connect("build-finished", on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
