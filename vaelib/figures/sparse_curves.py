"""Sparsity curves: probe accuracy and explained variance against L0, for several families of codes.

Used in chapter 7, the implicit-EM sparse encoder (the baseline comparison).
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from vaelib.plot import TRUTH

METRICS = (
    ("probe_accuracy", "linear-probe accuracy (held-out)"),
    ("readout_ev", "explained variance, linear readout"),
)


def sparsity_curves(curves, highlight=None, references=None, baseline=None, figsize=(6.0, 7.0)):
    """Two stacked panels, probe accuracy and readout explained variance, each against L0.

    Stacked, 6 in wide, with the legend below them: the text stays >= 9 CSS px on a phone.

    Parameters
    ----------
    curves : dict
        ``{label: (points, colour, marker)}``, with ``points`` a list of dicts holding ``"l0"``,
        ``"probe_accuracy"`` and ``"readout_ev"`` (as from
        :func:`vaelib.sparse_baseline.curve_point`), in sweep order.
    highlight : dict, optional
        ``{label: index}``: the point of a curve to ring (the slider's current setting).
    references : dict, optional
        ``{label: (point, colour, marker)}``: single points (e.g. another baseline).
    baseline : tuple, optional
        ``(accuracy, label)``: a reference probe accuracy, drawn as a dotted line on the first
        panel (e.g. a probe on the raw pixels).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = plt.subplots(2, 1, figsize=figsize)
    highlight = highlight or {}
    for ax, (metric, title) in zip(axes, METRICS):
        for label, (points, colour, marker) in curves.items():
            ordered = sorted(points, key=lambda p: p["l0"])
            ax.plot(
                [p["l0"] for p in ordered],
                [p[metric] for p in ordered],
                marker=marker,
                color=colour,
                label=label,
                ms=5,
                lw=1.5,
            )
            if label in highlight:
                point = points[highlight[label]]
                ax.plot(point["l0"], point[metric], "o", ms=13, mfc="none", mec=colour, mew=2)
        for label, (point, colour, marker) in (references or {}).items():
            ax.plot(point["l0"], point[metric], marker, color=colour, ms=8, label=label, ls="none")
        ax.set(xlabel="L0 (active units per held-out image)", title=title)
    if baseline is not None:
        axes[0].axhline(baseline[0], color=TRUTH, ls=":", lw=1, label=baseline[1])
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=1)
    return fig
