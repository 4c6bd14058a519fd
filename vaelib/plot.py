"""The course's figure style and small plotting helpers.

Call :func:`use_style` once at the top of a chapter. Used in every chapter.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch

# A colour-blind-safe palette (Okabe & Ito), named by role so chapters agree on meaning.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
COLORS = list(PALETTE.values())
# Roles: the data/truth, a model's estimate, a second estimator, a bound or a reference.
TRUTH, MODEL = PALETTE["black"], PALETTE["blue"]
OTHER, REFERENCE = PALETTE["orange"], PALETTE["red"]


# On a phone a figure is scaled to the column (about 350 CSS px wide at 390 px): text of
# s points in a figure w inches wide shows at s / 72 * 350 / w px, and a reader needs 9 px, so
# s / w >= 1.85 pt per inch. At the default width of 6.4 in, 12 pt is 9.1 px; smaller text, or
# wider figures, fall below it (tests/test_figure_text.py holds chapters and helpers to it).
FIGURE_WIDTH = 6.4
MIN_FONT_PT = 12


def use_style() -> None:
    """Apply the course style: sizes readable on a phone, light grid, the palette as the colour
    cycle; and, in IPython, describe figures in words in their text form (the book uses it as
    the image's alt text)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (FIGURE_WIDTH, 3.6),
            "figure.dpi": 100,
            "figure.constrained_layout.use": True,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=COLORS),
            "font.size": 12,
            "axes.titlesize": 12,
            "axes.labelsize": 12,
            "xtick.labelsize": MIN_FONT_PT,
            "ytick.labelsize": MIN_FONT_PT,
            "legend.fontsize": MIN_FONT_PT,
            "legend.title_fontsize": MIN_FONT_PT,
            "figure.titlesize": 12,
            "legend.frameon": False,
            "image.cmap": "gray",
        }
    )
    _describe_figures_in_text()


def _describe_figures_in_text() -> None:
    """In IPython, a figure's text/plain form says what it shows (titles and axes) instead of
    ``<Figure size 640x360 with 1 Axes>``; notebooks and the book's images get it as alt text."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    from vaelib.widget_text import describe_figure

    if "inline" in mpl.get_backend():
        # Loading the inline backend resets the figure formatters; load it before adding ours.
        import matplotlib_inline.backend_inline  # noqa: F401

    def pretty(fig, printer, cycle):
        printer.text(f"Figure: {describe_figure(fig)}")

    shell.display_formatter.formatters["text/plain"].for_type(Figure, pretty)


def to_numpy(images) -> np.ndarray:
    """Images as a float NumPy array of shape (N, H, W); accepts (N, 1, H, W) or (N, H*W)."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().float().numpy()
    images = np.asarray(images, dtype=float)
    if images.ndim == 4:  # (N, 1, H, W) -> (N, H, W)
        if images.shape[1] != 1:
            raise ValueError(f"expected one channel, got images of shape {images.shape}")
        images = images[:, 0]
    elif images.ndim == 2:  # (N, H*W) -> (N, H, W) for square images
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"rows of length {images.shape[1]} are not square images")
        images = images.reshape(-1, side, side)
    elif images.ndim != 3:
        raise ValueError(f"images must be (N, H, W), (N, 1, H, W) or (N, H*W), got {images.shape}")
    return images


def image_grid(images, ncols=8, ax=None, title=None, vmin=0.0, vmax=1.0, pad=1, cmap="gray"):
    """Tile images into one picture on ``ax``.

    Parameters
    ----------
    images : Tensor or array, shape (N, 1, H, W), (N, H, W) or (N, H*W)
    ncols : int
        Images per row.
    vmin, vmax : float or None
        Colour limits; ``None`` scales to the data (useful for prototypes, which are signed).
    """
    images = to_numpy(images)
    n, h, w = images.shape
    nrows = int(np.ceil(n / ncols))
    fill = np.nan
    canvas = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), fill)
    for k in range(n):
        r, c = divmod(k, ncols)
        canvas[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = images[k]
    if ax is None:
        _, ax = plt.subplots(figsize=(ncols * 0.6, nrows * 0.6))
    cmap = mpl.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def subplots(nrows=1, ncols=1, width=None, height=None, **kwargs):
    """``plt.subplots`` with the course's default panel size (3.2 x 2.8 inches per panel)."""
    width = width if width is not None else 3.2 * ncols
    height = height if height is not None else 2.8 * nrows
    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def hist_estimates(ax, samples, truth=None, bins=60, xlim=None, colors=None):
    """Overlaid histograms of several estimators' samples, with the true value as a vertical line.

    Parameters
    ----------
    ax : matplotlib Axes
    samples : dict of str to Tensor or array, shape (R,)
        One set of estimates per estimator, keyed by the legend label.
    truth : float, optional
        The value every estimator aims at, drawn dashed in the ``TRUTH`` colour.
    bins : int
        Number of bins over ``xlim``, shared by every histogram.
    xlim : (float, float), optional
        The x-range (samples outside it are not drawn); by default the 0.5th to 99.5th
        percentile of all samples.
    colors : dict of str to colour, optional
        Colour per estimator; the palette in order by default.

    Used in chapter 3 (gradient estimators).
    """
    arrays = {name: _flat(values) for name, values in samples.items()}
    if xlim is None:
        xlim = tuple(np.percentile(np.concatenate(list(arrays.values())), [0.5, 99.5]))
    edges = np.linspace(xlim[0], xlim[1], bins + 1)
    for k, (name, values) in enumerate(arrays.items()):
        color = (colors or {}).get(name, COLORS[k % len(COLORS)])
        style = {"bins": edges, "density": True, "color": color}
        ax.hist(values, histtype="stepfilled", alpha=0.3, label=name, **style)
        ax.hist(values, histtype="step", **style)
    if truth is not None:
        ax.axvline(truth, color=TRUTH, lw=1.5, ls="--", label="true value")
    ax.set_xlim(*xlim)
    return ax


def _flat(values) -> np.ndarray:
    """A tensor or array as a flat float NumPy array."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float).ravel()
