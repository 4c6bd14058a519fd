"""Static slider figures (``vaelib.widgets``) as numbered figures whose frames are image files.

A static widget leaves its frames in the notebook output as ``data:`` URIs, so that it works on
its own anywhere. In the book that would inline megabytes of base64 into each page. This
extension, for every ``<div class="vaelib-widget">`` output:

* at read time, wraps the output in a figure with a caption, so it is numbered like the other
  figures (Fig. N) and can be referenced; the caption is the cell's
  ``mystnb: figure: caption`` when the chapter gives one (then myst-nb made the figure already),
  else the widget's ``caption=``, else a sentence naming its sliders and what it shows;
* at write time, writes each frame once into ``_images/`` (named by its content hash) and puts
  the file's relative URL in place of the ``data:`` URI. The page then loads only the frame in
  view (``loading="lazy"``), and another frame only when a slider asks for it: plain
  ``<img src>`` files, which work over ``file://`` with no server, network or kernel;
* at read time, drops the ipywidgets state that a notebook's metadata carries (every static
  render also builds its live form once and closes it, ``vaelib.widgets.check_live``, and the
  executing client records those widgets). The book shows no live widgets, so myst-nb would
  only inline that state and ask a CDN for ipywidgets' embed scripts.

Enabled from ``_config.yml`` (``sphinx: local_extensions: {widget_frames: book/_ext}``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import struct
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util.osutil import relative_uri

MARK = 'class="vaelib-widget"'
DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
IMAGES = "_images"


def is_widget(node) -> bool:
    return isinstance(node, nodes.raw) and MARK in node.astext()


def default_caption(raw: str) -> str:
    """A caption from the widget itself: its sliders and what its first frame shows."""
    found = re.search(r'class="vaelib-widget-data">(.*?)</script>', raw, re.S)
    data = json.loads(found.group(1).replace("<\\/", "</")) if found else {}
    names = data.get("names") or []
    sliders = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + (names[-1:] or [""])[0]
    shows = data.get("shows", "")
    plural = "s" if len(names) > 1 else ""
    text = f"Interactive figure: move the slider{plural} for {sliders}"
    return f"{text}. It shows {shows}." if shows and shows != "a figure" else f"{text}."


class WidgetFigures(SphinxTransform):
    """Wrap each static widget output that is not in a figure into a numbered figure."""

    default_priority = 800

    def apply(self, **kwargs) -> None:
        count = 0
        for raw in list(self.document.findall(is_widget)):
            bundle = raw.parent
            while bundle is not None and bundle.get("nb_element") != "mime_bundle":
                bundle = bundle.parent
            target = bundle if bundle is not None else raw
            if isinstance(target.parent, nodes.figure):
                continue  # the cell's mystnb figure metadata made it a figure already
            count += 1
            given = re.search(r'data-caption="([^"]*)"', raw.astext())
            text = html.unescape(given.group(1)) if given else default_caption(raw.astext())
            figure = nodes.figure(classes=["vaelib-widget-figure"])
            figure["ids"].append(self.unique_id(f"slider-figure-{count}"))
            target.replace_self(figure)
            figure += target
            figure += nodes.caption(text, text)

    def unique_id(self, base: str) -> str:
        candidate, k = base, 1
        while candidate in self.document.ids:
            k += 1
            candidate = f"{base}-{k}"
        self.document.ids[candidate] = None  # reserved
        return candidate


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    return struct.unpack(">II", data[16:24])


def extract_frames(raw: str, images: Path, prefix: str) -> tuple[str, int]:
    """``raw`` with every PNG data URI replaced by ``prefix + <file>``, the files written into
    ``images``; returns the new HTML and the bytes of the distinct frames."""
    images.mkdir(parents=True, exist_ok=True)
    sizes = {}

    def to_file(match) -> str:
        data = base64.b64decode(match.group(1))
        name = f"vaelib-widget-{hashlib.sha1(data).hexdigest()[:16]}.png"
        path = images / name
        if not path.exists():
            path.write_bytes(data)
        sizes[name] = (len(data), png_size(data))
        return prefix + name

    out = DATA_URI.sub(to_file, raw)
    first = re.search(r'<img class="vaelib-widget-frame"[^>]*src="[^"]*/([^"/]+)"', out)
    if first and first.group(1) in sizes:
        width, height = sizes[first.group(1)][1]
        out = out.replace(
            '<img class="vaelib-widget-frame"',
            f'<img class="vaelib-widget-frame" width="{width}" height="{height}"',
            1,
        )
    return out, sum(size for size, _ in sizes.values())


def on_doctree_resolved(app: Sphinx, doctree, docname: str) -> None:
    if app.builder.format != "html":
        return
    prefix = relative_uri(app.builder.get_target_uri(docname), IMAGES + "/")
    for raw in list(doctree.findall(is_widget)):
        text, _ = extract_frames(raw.astext(), Path(app.outdir) / IMAGES, prefix)
        raw.replace_self(nodes.raw(text, text, format="html", classes=raw["classes"]))


def drop_widget_state(app: Sphinx, doctree) -> None:
    """Forget the live-widget state and scripts myst-nb registered for this page."""
    pages = getattr(app.env, "nb_metadata", {})
    js_files = pages.get(app.env.docname, {}).get("js_files", {})
    for key in [k for k in js_files if k.startswith("ipywidgets_")]:
        del js_files[key]


def setup(app: Sphinx) -> dict:
    app.add_transform(WidgetFigures)
    app.connect("doctree-read", drop_widget_state)
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
