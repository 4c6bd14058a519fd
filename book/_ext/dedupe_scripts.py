"""Drop repeated inline ``<script>`` blocks from every page.

Jupyter Book always loads sphinx-thebe, whose configuration script (``const THEBE_JS_URL =
...``) reaches each page twice under jupyter-book 1.0.4; the second copy throws "Identifier
'THEBE_JS_URL' has already been declared" in the browser. Identical scripts are redundant by
definition, so this keeps the first of each and drops the rest. tests/test_browser.py fails
on any JavaScript error, so a regression shows up there.

Enabled from ``_config.yml`` (``sphinx: local_extensions: {dedupe_scripts: book/_ext}``).
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # An inline script's filename is None or "" depending on who added it: same script.
    filename = getattr(script, "filename", script) or ""
    return (str(filename), tuple(sorted(attributes.items())))


def dedupe(scripts: list) -> list:
    """The scripts in order, each (file, attributes, inline body) only once."""
    seen, kept = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    return kept


def on_page_context(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        # In place: it is the builder's list, to which later handlers still add (deduplicated).
        scripts[:] = dedupe(scripts)


def setup(app: Sphinx) -> dict:
    # Early: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", on_page_context, priority=100)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
