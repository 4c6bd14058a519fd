"""Figure text is readable on a phone (issue 17): no text under 9 CSS px at 390 px.

At a 390 px screen a figure is scaled to the text column, about ``PHONE_COLUMN_PX`` CSS px
wide, so text of ``f`` points in a figure ``W`` inches wide shows at ``f * 350 / (72 * W)`` px;
9 px needs ``f / W >= 1.85`` (12 pt text needs ``W <= 6.5`` in, 9 pt text ``W <= 4.9`` in).

The course style is checked exactly (its rcParams); chapters' figures are checked statically
from the literals in their code cells (``figsize=``, ``plot.subplots(..., width=)``,
``fontsize=``): every figure cell of every chapter, and every figure helper of
``vaelib.figures`` and ``vaelib.elbo_plots``, must meet the rule. Text sized inside a helper that
draws on axes it is given is not seen here; the browser test's screenshots show it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib as mpl
import pytest

from vaelib import plot

ROOT = Path(__file__).resolve().parents[1]
PHONE_COLUMN_PX = 350
MIN_CSS_PX = 9.0
DEFAULT_WIDTH_IN = plot.FIGURE_WIDTH

FIGSIZE = re.compile(r"figsize=\(\s*([\d.]+)\s*,")
PLOT_SUBPLOTS = re.compile(r"plot\.subplots\(([^)]*)\)")
FONTSIZE = re.compile(r"(?:fontsize=|set_fontsize\()\s*([\d.]+)")


def phone_px(points: float, width_in: float) -> float:
    """CSS px of ``points``-point text in a ``width_in``-inch figure shown on a 390 px phone."""
    return points * PHONE_COLUMN_PX / (72.0 * width_in)


def figure_widths(source: str) -> list[float]:
    """Widths (inches) of the figures a code cell makes, read from its literals."""
    widths = [float(w) for w in FIGSIZE.findall(source)]
    for args in PLOT_SUBPLOTS.findall(source):
        width = re.search(r"width=\s*([\d.]+)", args)
        if width:
            widths.append(float(width.group(1)))
        else:  # plot.subplots' default: 3.2 in per column
            positional = [a.strip() for a in args.split(",") if a.strip() and "=" not in a]
            ncols = int(positional[1]) if len(positional) > 1 else 1
            widths.append(3.2 * ncols)
    if not widths and re.search(r"plt\.subplots\(\s*\)|plt\.figure\(\s*\)", source):
        widths.append(DEFAULT_WIDTH_IN)
    return widths


def smallest_text_px(source: str, style_min_pt: float) -> float | None:
    """The smallest text of a cell's figures in CSS px at phone width (None: no figure)."""
    widths = figure_widths(source)
    if not widths:
        return None
    points = [float(f) for f in FONTSIZE.findall(source)] + [style_min_pt]
    return phone_px(min(points), max(widths))


def style_min_pt() -> float:
    with mpl.rc_context():
        plot.use_style()
        keys = (
            "font.size",
            "axes.titlesize",
            "axes.labelsize",
            "xtick.labelsize",
            "ytick.labelsize",
            "legend.fontsize",
            "legend.title_fontsize",
            "figure.titlesize",
        )
        return min(
            mpl.font_manager.FontProperties(size=mpl.rcParams[k]).get_size_in_points() for k in keys
        )


def chapter_cells():
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                yield path.stem, index, "".join(cell["source"])


def helper_functions():
    """(module, function, source) of the figure helpers: vaelib/figures and vaelib/elbo_plots."""
    paths = sorted((ROOT / "vaelib" / "figures").glob("*.py")) + [ROOT / "vaelib" / "elbo_plots.py"]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        starts = [m.start() for m in re.finditer(r"^def ", text, re.M)] + [len(text)]
        for start, end in zip(starts, starts[1:]):
            block = text[start:end]
            yield path.stem, re.match(r"def (\w+)", block).group(1), block


def test_phone_px_formula():
    # 12 pt in a 6.4 in figure: 12/72 in of 6.4 in, of a 350 px column.
    assert phone_px(12, 6.4) == pytest.approx(350 * (12 / 72) / 6.4)
    assert phone_px(9, 3.5) > MIN_CSS_PX > phone_px(9, 5.0)


def test_the_course_style_is_readable_on_a_phone():
    """Every font size of plot.use_style, in a figure of the default width, is >= 9 px."""
    with mpl.rc_context():
        plot.use_style()
        width = mpl.rcParams["figure.figsize"][0]
    assert width == DEFAULT_WIDTH_IN
    assert phone_px(style_min_pt(), width) >= MIN_CSS_PX


def test_the_static_reading_finds_figures_and_fonts():
    source = "fig, ax = plot.subplots(1, 3, height=2)\nax.legend(fontsize=8)\n"
    assert figure_widths(source) == [pytest.approx(9.6)]
    assert smallest_text_px(source, 12) == pytest.approx(phone_px(8, 9.6))
    assert smallest_text_px("x = 1", 12) is None
    assert figure_widths("plt.subplots(2, 1, figsize=(5.5, 4))") == [5.5]


def below_the_rule(places) -> dict:
    """``{key: px}`` of the ``(key, source)`` places whose smallest figure text is under 9 px."""
    minimum = style_min_pt()
    measured = {key: smallest_text_px(source, minimum) for key, source in places}
    measured = {key: px for key, px in measured.items() if px is not None}
    assert measured, "no figure found: the static reading is broken"
    return {key: round(px, 1) for key, px in measured.items() if px < MIN_CSS_PX}


def test_chapter_figures_meet_the_phone_rule():
    places = (((stem, index), source) for stem, index, source in chapter_cells())
    assert not below_the_rule(places), "figure text under 9 CSS px at 390 px (chapter, cell)"


def test_figure_helpers_meet_the_phone_rule():
    places = (((module, name), source) for module, name, source in helper_functions())
    assert not below_the_rule(places), "figure text under 9 CSS px at 390 px (module, function)"


def test_the_rule_finds_a_figure_below_it():
    wide = "fig, ax = plt.subplots(1, 3, figsize=(10, 3))\nax.legend(fontsize=8)\n"
    assert below_the_rule([(("chapter", 1), wide), (("chapter", 2), "x = 1")]) == {
        ("chapter", 1): round(phone_px(8, 10), 1)
    }
