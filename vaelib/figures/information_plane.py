"""Figures of chapter 6: information planes of Saxe et al.'s networks, a VAE's information curves.

Numbers come from :mod:`vaelib.saxe`, :mod:`vaelib.information` and :mod:`vaelib.vae_information`;
this module only draws them. Used in chapter 6, compression in the information plane.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

LAYER_NAMES = (
    "layer 1 (10)",
    "layer 2 (7)",
    "layer 3 (5)",
    "layer 4 (4)",
    "layer 5 (3)",
    "output (2)",
)


def plane(ax, ixt, ity, epochs, *, title="", log_n=None):
    """One information plane: every layer's path, coloured by epoch, seeds as thin lines.

    Parameters
    ----------
    ax : matplotlib Axes
    ixt, ity : array, shape (L, K, S) or (L, K)
        I(X; T) and I(T; Y) in nats for L layers, K snapshots (and S seeds).
    epochs : array, shape (K,)
        The snapshot epochs (0 allowed: drawn as epoch 1 on the log colour scale).
    log_n : float, optional
        Draw the ceiling I(X; T) = log N.

    Returns
    -------
    The scatter artist (for a colour bar).
    """
    ixt, ity = np.asarray(ixt), np.asarray(ity)
    if ixt.ndim == 2:
        ixt, ity = ixt[..., None], ity[..., None]
    colour = np.maximum(np.asarray(epochs), 1)
    norm = LogNorm(vmin=colour.min(), vmax=colour.max())
    points = None
    for layer in range(ixt.shape[0]):
        for s in range(ixt.shape[2]):
            ax.plot(ixt[layer, :, s], ity[layer, :, s], color="0.6", lw=0.6, zorder=1)
        points = ax.scatter(
            ixt[layer].mean(1),
            ity[layer].mean(1),
            c=colour,
            cmap="viridis",
            norm=norm,
            s=14,
            zorder=2,
        )
        ax.annotate(
            f"{layer + 1}",
            (ixt[layer, -1].mean(), ity[layer, -1].mean()),
            textcoords="offset points",
            xytext=(4, 3),
        )
    if log_n is not None:
        ax.axvline(log_n, color="0.3", ls=":", lw=1)
    ax.set(xlabel="I(X; T) (nats)", ylabel="I(T; Y) (nats)", title=title)
    return points


def planes_figure(panels, epochs, *, log_n=None, figsize=None):
    """Stacked planes, one per (title, ixt, ity) in ``panels``, with one epoch colour bar.

    Stacked and 6 in wide (3.3 in of height per plane) so that the text stays >= 9 CSS px
    on a 390 px phone.
    """
    figsize = figsize if figsize is not None else (6.0, 3.3 * len(panels))
    fig, axes = plt.subplots(len(panels), 1, figsize=figsize, squeeze=False)
    for ax, (title, ixt, ity) in zip(axes[:, 0], panels):
        points = plane(ax, ixt, ity, epochs, title=title, log_n=log_n)
    fig.colorbar(points, ax=axes[:, 0].tolist(), label="epoch", pad=0.02)
    return fig


def layer_curves(ax, ixt, epochs, *, title=""):
    """I(X; T) against epoch for every layer: seed mean, and the seeds' range shaded."""
    ixt = np.asarray(ixt)  # (L, K, S)
    x = np.maximum(np.asarray(epochs), 1)
    for layer in range(ixt.shape[0]):
        mean = ixt[layer].mean(1)
        (line,) = ax.plot(x, mean, label=LAYER_NAMES[layer] if layer < len(LAYER_NAMES) else None)
        ax.fill_between(x, ixt[layer].min(1), ixt[layer].max(1), color=line.get_color(), alpha=0.2)
    ax.set(xscale="log", xlabel="epoch", ylabel="I(X; T) (nats)", title=title)


def vae_curves(ax, series: dict, *, log_n: float, title=""):
    """A VAE run: the rate, the two estimates of I(X; Z) and the log N ceiling against epoch."""
    epoch = np.asarray(series["epoch"])
    ax.plot(epoch, series["rate"], color="black", lw=1.5, label="rate R")
    ax.fill_between(epoch, series["ixt_bd"], series["ixt_kl"], color="C0", alpha=0.3)
    ax.plot(epoch, series["ixt_bd"], color="C0", lw=1, label="I(X; Z), BD to KL")
    ax.plot(epoch, series["ixt_kl"], color="C0", lw=1)
    ax.plot(epoch, series["ity_kl"], color="C2", lw=1, label="I(Z; Y) (KL)")
    ax.axhline(log_n, color="0.3", ls=":", lw=1, label=f"log N = {log_n:.2f}")
    beta = np.asarray(series["beta"])
    if beta.max() > beta.min():
        ax.axvline(
            epoch[np.argmax(beta > beta.min())] - 0.5,
            color="C3",
            ls="--",
            lw=1,
            label="beta switched on",
        )
    ax.set(xlabel="epoch", ylabel="nats", title=title)


def estimator_check(ax, noise_vars, exact, low, high, mc=None):
    """The Gaussian-channel check: exact I(X; T) against the two bounds over the noise variance."""
    ax.plot(noise_vars, exact, color="black", marker="o", label="exact")
    ax.fill_between(noise_vars, low, high, color="C0", alpha=0.3, label="BD to KL bounds")
    if mc is not None:
        ax.plot(noise_vars, mc, color="C1", ls="--", marker="x", label="Monte Carlo")
    ax.set(xscale="log", xlabel="noise variance", ylabel="I(X; T) (nats)")
    ax.legend()


def ceiling(n: int) -> float:
    """log N, the most information N equally likely inputs can carry."""
    return math.log(n)
