"""Alt text that says what a figure shows, instead of the image's file path.

Sphinx writes ``alt="<file path>"`` for an image without alt text, which is what a screen
reader then reads. For every image of the book this sets the alt text, when it is empty or a
path, from what the page knows about the picture:

* its figure caption (a chapter's ``mystnb: figure: caption``), and
* the words of the notebook output's text form: ``vaelib.plot.use_style()`` makes a
  matplotlib figure's text/plain say what it shows (its titles and axes), e.g.
  "Figure: 2 panels: density against x; nats against σ".

An image with neither is called "Figure" plus the nearest section title, never a file name.
Every image is also marked ``loading="lazy"``: the browser fetches a figure when the reader
scrolls near it, so a chapter's first load stays light.

Enabled from ``_config.yml`` (``sphinx: local_extensions: {figure_alt: book/_ext}``).
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform

PATHLIKE = re.compile(r"(^|/|\\)[^\s/\\]+\.(png|jpe?g|gif|svg|webp|pdf)$", re.I)
REPR = re.compile(r"^<(matplotlib\.)?.*Figure size .* with \d+ Axes>$")


def is_pathlike(alt: str, uri: str = "") -> bool:
    alt = (alt or "").strip()
    return not alt or alt == uri or bool(PATHLIKE.search(alt))


def output_words(image) -> str:
    """The text/plain form next to an image in its notebook output (a mime bundle)."""
    bundle = image.parent
    while bundle is not None and bundle.get("nb_element") != "mime_bundle":
        bundle = bundle.parent
    if bundle is None:
        return ""
    for container in bundle.children:
        if container.get("mime_type") == "text/plain":
            text = " ".join(container.astext().split())
            return "" if REPR.match(text) else text.removeprefix("Figure: ")
    return ""


def caption_text(image) -> str:
    figure = image.parent
    while figure is not None and not isinstance(figure, nodes.figure):
        figure = figure.parent
    if figure is None:
        return ""
    for child in figure.children:
        if isinstance(child, nodes.caption):
            return " ".join(child.astext().split())
    return ""


def section_title(node) -> str:
    while node is not None:
        if isinstance(node, nodes.section) and node.children:
            return node[0].astext()
        node = node.parent
    return ""


def alt_text(image) -> str:
    caption, words = caption_text(image), output_words(image)
    if caption and words:
        return f"{caption.rstrip('.')}. Plotted: {words}"
    if caption or words:
        return caption or f"Figure: {words}"
    title = section_title(image)
    return f"Figure in the section “{title}”" if title else "Figure"


class FigureAlt(SphinxTransform):
    """Fill in every image's alt text that is missing or a file path."""

    default_priority = 810  # after widget_frames' figures (800)

    def apply(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            if is_pathlike(image.get("alt", ""), image.get("uri", "")):
                image["alt"] = alt_text(image)


def lazy_images(app: Sphinx, doctree, docname: str) -> None:
    """``loading="lazy"`` on every image (docutils' HTML5 writer emits the attribute)."""
    for image in doctree.findall(nodes.image):
        image.setdefault("loading", "lazy")


def setup(app: Sphinx) -> dict:
    app.add_transform(FigureAlt)
    app.connect("doctree-resolved", lazy_images)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
