"""Figures for chapter 4's section on the amortization gap (section 4.2).

The approximation gap (the price of the Gaussian family) is drawn in orange, the amortization gap
(the price of one encoder for all x) in blue, as :mod:`vaelib.plot` colours the model and the
other quantity.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from vaelib.plot import MODEL, OTHER, REFERENCE

APPROX, AMORT = OTHER, MODEL


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=float)


def draw_linear_gaps(epochs, approximation, amortization, epoch):
    """The two exact gaps of the linear encoder against its training epochs, and their split at
    the chosen ``epoch``.

    Parameters
    ----------
    epochs : sequence of int, shape (T,)
    approximation, amortization : array, shape (T,)
        Mean gaps over the held-out points, in nats, after each entry of ``epochs``.
    epoch : int
        One of ``epochs``: where to stop the encoder.
    """
    epochs, approx, amort = np.asarray(epochs), _np(approximation), _np(amortization)
    i = int(np.flatnonzero(epochs == epoch)[0])
    # stacked, 6 in wide: readable in a phone column (tests/test_figure_text.py)
    fig, (left, right) = plt.subplots(2, 1, figsize=(6.0, 6.4), height_ratios=[1.4, 1])
    floor = 1e-6  # the log axis cannot show a gap of 0
    left.plot(epochs, np.maximum(approx, floor), "o-", color=APPROX, label="approximation gap")
    left.plot(epochs, np.maximum(amort, floor), "s-", color=AMORT, label="amortization gap")
    left.axvline(epoch, color=REFERENCE, ls="--", lw=1)
    left.set(yscale="log", ylim=(floor / 2, None), xlabel="epochs of encoder training")
    left.set(ylabel="mean gap (nats)", title="the exact gaps while the encoder trains")
    left.legend(loc="upper right")
    right.bar([0], [approx[i]], color=APPROX, width=0.5, label="approximation")
    right.bar([0], [amort[i]], bottom=[approx[i]], color=AMORT, width=0.5, label="amortization")
    right.set(xticks=[], xlim=(-1, 1), ylim=(0, 1.15 * (approx + amort).max()))
    right.set(ylabel="nats", title=f"log p(x) - ELBO after {epoch} epochs")
    right.text(0.0, approx[i] + amort[i], f"{approx[i] + amort[i]:.3f}", ha="center", va="bottom")
    right.legend(loc="upper right")
    return fig


def draw_gap_split(approximation, amortization, means, errors, steps, remaining, remaining_se):
    """The gap split of a VAE: per image, on average, and against per-image optimisation steps.

    Parameters
    ----------
    approximation, amortization : array, shape (N,)
        Per-image gaps in nats.
    means, errors : dict of str to float
        ``approximation``, ``amortization`` and ``total``: averages and standard errors.
    steps : sequence of int, shape (S,)
        Optimisation steps per image.
    remaining, remaining_se : array, shape (S,)
        The mean amortization gap left after each number of steps, and its standard error.
    """
    approx, amort = _np(approximation), _np(amortization)
    order = np.argsort(approx + amort)
    fig, axes = plt.subplots(3, 1, figsize=(6.0, 9.6))  # stacked: a phone column
    rank = np.arange(len(order))
    axes[0].bar(rank, approx[order], width=1.0, color=APPROX, label="approximation")
    axes[0].bar(
        rank, amort[order], bottom=approx[order], width=1.0, color=AMORT, label="amortization"
    )
    axes[0].set(xlabel="held-out image (sorted by total gap)", ylabel="nats")
    axes[0].set(title="log p(x) - ELBO, per image", xlim=(-0.5, len(order) - 0.5))
    axes[0].legend(loc="upper left")
    keys = ["approximation", "amortization", "total"]
    axes[1].bar(
        range(3),
        [means[k] for k in keys],
        yerr=[2 * errors[k] for k in keys],
        color=[APPROX, AMORT, "0.5"],
        capsize=4,
    )
    axes[1].set(xticks=range(3), xticklabels=["approx.", "amort.", "total"])
    axes[1].set(ylabel="mean gap (nats)", title="averages (± 2 s.e.)")
    steps = np.asarray(steps)
    remaining, remaining_se = _np(remaining), _np(remaining_se)
    axes[2].errorbar(steps, remaining, yerr=2 * remaining_se, fmt="s-", color=AMORT, capsize=3)
    axes[2].axhline(0.0, color=REFERENCE, lw=1, ls="--")
    axes[2].set(xscale="symlog", xlim=(0, None), xlabel="optimisation steps per image")
    axes[2].set(ylabel="nats", title="amortization gap left")
    return fig
