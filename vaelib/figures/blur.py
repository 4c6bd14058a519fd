"""Figures of section 4.1, why VAE images blur: the black-or-white pixel, the undecided pixels of
MNIST, radial power spectra, and the adversarial toy.

Drawing only; the numbers come from :mod:`vaelib.bimodal`, :mod:`vaelib.blur`,
:mod:`vaelib.spectrum` and :mod:`vaelib.adversarial`. Used in section 4.1.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from vaelib.plot import MODEL, OTHER, PALETTE, REFERENCE, TRUTH

LOSS_COLORS = {
    "MSE": MODEL,
    "L1": OTHER,
    "mixture": PALETTE["green"],
    "adversarial": REFERENCE,
    "Bernoulli decoder": PALETTE["sky"],
    "L1 decoder": PALETTE["purple"],
}


def pixel_toy(p, fits, width=6.0, height=3.4):
    """One slider frame: the two values of the pixel and what each loss predicts.

    Parameters
    ----------
    p : float
        The probability of white.
    fits : dict
        ``mse`` and ``l1`` (float) and ``mus``, ``weights`` (two floats each) fitted at ``p``.
    """
    fig, ax = plt.subplots(figsize=(width, height))
    ax.bar([0.0, 1.0], [1 - p, p], width=0.08, color=TRUTH, alpha=0.35, label="data")
    ax.axvline(fits["mse"], color=LOSS_COLORS["MSE"], lw=2.5, label="MSE: mean")
    ax.axvline(fits["l1"], color=LOSS_COLORS["L1"], lw=2.5, ls="--", label="L1: median")
    ax.plot(fits["mus"], fits["weights"], "o", ms=10, color=LOSS_COLORS["mixture"],
            label="mixture")  # fmt: skip
    ax.set(xlim=(-0.15, 1.15), ylim=(0, 1.05), xlabel="pixel value (0 black, 1 white)",
           ylabel="probability / weight", title=f"P(white) = {p:.2f}")  # fmt: skip
    ax.legend(loc="upper center", ncols=4, bbox_to_anchor=(0.5, -0.28), handlelength=1.2)
    return fig


def undecided_histogram(ax, values, predictions, bins=20):
    """The true values at undecided pixels (bars) and where each prediction falls (lines).

    Parameters
    ----------
    values : array, shape (M * k,)
        The neighbours' values, pooled over the undecided pixels.
    predictions : dict of str to array
        One array of predictions (one per pixel, or two for the mixture) per loss.
    """
    edges = np.linspace(0, 1, bins + 1)
    ax.hist(np.asarray(values), bins=edges, density=True, color=TRUTH, alpha=0.3,
            label="true values")  # fmt: skip
    for name, pred in predictions.items():
        ax.hist(np.asarray(pred), bins=edges, density=True, histtype="step", lw=2,
                color=LOSS_COLORS.get(name, TRUTH), label=name)  # fmt: skip
    ax.set(xlabel="pixel value", ylabel="density", yscale="log")
    ax.set_ylim(top=ax.get_ylim()[1] * 30)  # room for the legend above the bars
    ax.legend(loc="upper center", ncols=2)
    return ax


def spectra(ax, freqs, curves, styles=None):
    """Radially averaged power (log scale) against spatial frequency, one line per curve."""
    for name, power in curves.items():
        style = (styles or {}).get(name, {})
        ax.plot(np.asarray(freqs)[1:], np.asarray(power)[1:], label=name, **style)
    ax.set(yscale="log", xlabel="frequency (cycles per image)", ylabel="power")
    ax.legend()
    return ax


def power_ratios(ax, freqs, ratios, colors=None):
    """Each model's power over the data's, against frequency, with the one-half line."""
    for name, ratio in ratios.items():
        color = (colors or {}).get(name)
        ax.plot(np.asarray(freqs)[1:], np.asarray(ratio)[1:], label=name, color=color)
    ax.axhline(0.5, color=TRUTH, ls=":", lw=1.5)
    ax.set(yscale="log", xlabel="frequency (cycles per image)", ylabel="power kept")
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return ax


def gan_outputs(ax, outputs, mse_value, bins=40):
    """The adversarial generator's outputs (histogram) against the MSE fit (one line)."""
    ax.hist(np.asarray(outputs), bins=np.linspace(0, 1, bins + 1), color=LOSS_COLORS["adversarial"],
            alpha=0.7, label="adversarial")  # fmt: skip
    ax.axvline(mse_value, color=LOSS_COLORS["MSE"], lw=2.5, label="MSE")
    ax.set(yscale="log", xlabel="output", ylabel="count")
    ax.legend(loc="upper center")
    return ax


def rd_points(ax, distortion, rate, labels, color=MODEL):
    """Models as points on the rate-distortion plane of chapter 5, each labelled."""
    ax.plot(distortion, rate, "o-", color=color)
    for d, r, label in zip(distortion, rate, labels):
        ax.annotate(label, (d, r), textcoords="offset points", xytext=(6, 4))
    ax.set(xlabel="distortion D (nats)", ylabel="rate R (nats)", yscale="log")
    return ax
