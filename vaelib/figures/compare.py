"""Figures of a model comparison: held-out learning curves against epochs and against seconds.

Used in chapter 4 (the ResNet VAE against the convolutional and MLP VAEs).
"""

from __future__ import annotations

import numpy as np

from vaelib.plot import COLORS


def learning_curves(axes, results: dict, key: str = "val_loss", colors=None):
    """Mean over seeds (line) and the range over seeds (band) of a per-epoch score.

    Parameters
    ----------
    axes : two matplotlib Axes
        Against epochs on the first, against cumulative seconds (mean over seeds) on the second.
    results : dict of str to vaelib.compare.ModelResult
    key : str
        The History list to draw, the validation loss by default.
    colors : dict of str to colour, optional

    Each line is labelled "<model> (lr <rate>)" for a legend the caller places.
    """
    ax_epochs, ax_seconds = axes
    for k, (name, result) in enumerate(results.items()):
        color = (colors or {}).get(name, COLORS[k % len(COLORS)])
        curves = result.curves(key)  # (S, E)
        mean, lo, hi = curves.mean(0), curves.min(0), curves.max(0)
        epochs = np.arange(1, curves.shape[1] + 1)
        label = f"{name} (lr {result.lr:g})"
        for ax, t in ((ax_epochs, epochs), (ax_seconds, result.elapsed())):
            ax.plot(t, mean, marker="o", ms=3, color=color, label=label)
            ax.fill_between(t, lo, hi, color=color, alpha=0.25, linewidth=0)
    # Both axes labelled (they may be stacked); the legend is the caller's, e.g. below the figure.
    for ax in axes:
        ax.set(ylabel="validation -ELBO (nats)")
    ax_epochs.set(xlabel="epoch")
    ax_seconds.set(xlabel="training seconds (mean over seeds)", xscale="log")
    return axes


def lr_sweep(ax, results: dict, colors=None):
    """The validation loss of seed 0 at the end of the screen against the learning rate, per model.

    The loss axis turns logarithmic when the losses span more than a factor of 10, so that a rate
    at which training diverged does not flatten the others.
    """
    finals = []
    for k, (name, result) in enumerate(results.items()):
        color = (colors or {}).get(name, COLORS[k % len(COLORS)])
        lrs = sorted(result.sweep)
        losses = [result.sweep[lr][-1] for lr in lrs]
        finals += losses
        ax.plot(lrs, losses, marker="o", color=color, label=name)
        ax.plot([result.lr], [result.sweep[result.lr][-1]], marker="*", ms=12, color=color)
    spread = max(finals) / min(finals) if min(finals) > 0 else 1.0
    ax.set(xscale="log", yscale="log" if spread > 10 else "linear")
    ax.set(xlabel="learning rate", ylabel="validation -ELBO, end of screen")
    return ax
