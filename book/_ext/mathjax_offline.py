"""Serve MathJax from the built book itself, so that math renders with no network.

The pip package ``django-static-mathjax`` (import name ``mathjax``, in requirements.txt)
ships MathJax 3 under ``<site-packages>/mathjax/static/mathjax/es5/``. When the HTML builder
starts, this extension copies the parts the book needs into ``<outdir>/_static/mathjax/`` and
points Sphinx's ``mathjax_path`` at the local ``tex-chtml.js``. Nothing of MathJax is committed.

Enabled from ``_config.yml`` (``sphinx: local_extensions: {mathjax_offline: book/_ext}``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

ENTRY = "tex-chtml.js"  # TeX input, CommonHTML output, menu and assistive MathML in one file
# What tex-chtml.js loads on demand: its fonts, TeX packages that \require or autoload pulls
# in (e.g. \boldsymbol), and the accessibility parts the context menu can switch on.
ON_DEMAND = ["output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "sre", "ui", "adaptors"]
TARGET = "mathjax"  # under _static/


def mathjax_source() -> Path:
    """The ``es5`` folder of MathJax shipped by django-static-mathjax."""
    try:
        import mathjax
    except ImportError as err:
        raise ExtensionError(
            "mathjax_offline needs the pip package django-static-mathjax (import name "
            "'mathjax'); install requirements.txt into the book's environment"
        ) from err
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / ENTRY).is_file():
        raise ExtensionError(
            f"MathJax's {ENTRY} is missing from {es5}; reinstall django-static-mathjax"
        )
    return es5


def copy_mathjax(source: Path, static_dir: Path) -> Path:
    """Copy the entry script and the on-demand parts of MathJax into ``static_dir/mathjax``."""
    target = static_dir / TARGET
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / ENTRY, target / ENTRY)
    for part in ON_DEMAND:
        shutil.copytree(source / part, target / part, dirs_exist_ok=True)
    return target


def on_builder_inited(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    copy_mathjax(mathjax_source(), Path(app.outdir) / "_static")
    # A relative mathjax_path is taken relative to _static/ on every page.
    app.config.mathjax_path = f"{TARGET}/{ENTRY}"


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", on_builder_inited)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
