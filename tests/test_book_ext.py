"""The book's own Sphinx extensions (book/_ext) on small inputs, without building a book."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
figure_alt = pytest.importorskip("figure_alt")
phone_layout = pytest.importorskip("phone_layout")
widget_frames = pytest.importorskip("widget_frames")

from vaelib import widgets  # noqa: E402

HEAD = """<head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" /><meta name="viewport" \
content="width=device-width, initial-scale=1" />
  <script defer src="../_static/scripts/bootstrap.js?digest=1"></script>
<script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>
  <meta name="viewport" content="width=device-width, initial-scale=1"/>
</head>
<div id="jb-print-docs-body" class="onlyprint">
    <h1>Chapter 1</h1>
</div>
<h1>Chapter 1<a class="headerlink" href="#c">#</a></h1>"""


def test_clean_page_leaves_one_viewport_one_h1_and_no_icon_script():
    page = phone_layout.clean_page(HEAD)
    assert page.count('name="viewport"') == 1 and page.count("<h1") == 1
    assert "fontawesome" not in page and "bootstrap.js" in page
    assert '<p class="jb-print-title" aria-hidden="true">Chapter 1</p>' in page
    assert phone_layout.clean_page(page) == page  # idempotent: safe on every rebuild


def draw(a):
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, a])
    ax.set(xlabel="step", ylabel="loss")
    return fig


def test_extract_frames_writes_each_frame_once(tmp_path):
    html = widgets.interactive(draw, a=[0.0, 1.0, 2.0], static=True, dpi=40).data
    out, size = widget_frames.extract_frames(html, tmp_path / "_images", "../_images/")
    files = sorted((tmp_path / "_images").iterdir())
    assert len(files) == 3 and size == sum(f.stat().st_size for f in files)
    assert "data:image" not in out and out.count("../_images/vaelib-widget-") == 3 + 1
    assert 'width="80" height="40"' in out  # the first frame's size, read from the PNG
    caption = widget_frames.default_caption(html)
    assert caption == "Interactive figure: move the slider for a. It shows loss against step."


@pytest.mark.parametrize(
    ("alt", "uri", "pathlike"),
    [
        ("", "x.png", True),
        ("../_images/abc.png", "../_images/abc.png", True),
        ("_build/jupyter_execute/f.svg", "f.svg", True),
        ("Fig: loss against step", "x.png", False),
    ],
)
def test_pathlike_alt(alt, uri, pathlike):
    assert figure_alt.is_pathlike(alt, uri) is pathlike


def test_figure_text_form_describes_it():
    """plot.use_style() makes a figure's text/plain form its description (the alt source)."""
    from IPython.core.interactiveshell import InteractiveShell

    from vaelib import plot

    shell = InteractiveShell.instance()
    plot.use_style()
    fig = draw(1.0)
    data, _ = shell.display_formatter.format(fig, include=["text/plain"])
    assert data["text/plain"] == "Figure: loss against step"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert base64.b64encode(buffer.getvalue())
    plt.close(fig)
