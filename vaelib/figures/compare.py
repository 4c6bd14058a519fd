"""Figures of a model comparison: held-out learning curves against epochs and against seconds.

Used in chapter 4 (the ResNet VAE against the convolutional and MLP VAEs).
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

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
            if len(t) == 1:  # one epoch: a point, with the seeds' range as an error bar
                ax.errorbar(
                    t,
                    mean,
                    yerr=[mean - lo, hi - mean],
                    marker="o",
                    ms=6,
                    capsize=4,
                    color=color,
                    label=label,
                )
                continue
            ax.plot(t, mean, marker="o", ms=3, color=color, label=label)
            ax.fill_between(t, lo, hi, color=color, alpha=0.25, linewidth=0)
    # Both axes labelled (they may be stacked); the legend is the caller's, e.g. below the figure.
    for ax in axes:
        ax.set(ylabel="validation -ELBO (nats)")
    ax_epochs.set(xlabel="epoch")
    ax_epochs.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_seconds.set(xlabel="training seconds (mean over seeds)", xscale="log")
    return axes


def lr_sweep(ax, results: dict, colors=None):
    """The validation loss of seed 0 at the end of the screen against the learning rate, per model.

    A rate at which training diverged would flatten the others, so the loss axis stops at twice
    the median of all the losses: a point beyond it is drawn on that edge as a triangle, with
    its value written beside it.
    """
    screens = {name: _screen_losses(result) for name, result in results.items()}
    finals = [loss for screen in screens.values() for loss in screen.values()]
    cap = 2 * float(np.median(finals))
    clipped = max(finals) > cap
    for k, (name, result) in enumerate(results.items()):
        color = (colors or {}).get(name, COLORS[k % len(COLORS)])
        screen = screens[name]
        lrs = sorted(screen)
        shown = [min(screen[lr], cap) for lr in lrs]
        ax.plot(lrs, shown, marker="o", color=color, label=name)
        ax.plot([result.lr], [min(screen[result.lr], cap)], marker="*", ms=12, color=color)
        for lr in lrs:
            if screen[lr] > cap:
                ax.plot([lr], [cap], marker="^", ms=9, color=color)
                ax.annotate(
                    f"{screen[lr]:.3g}",
                    (lr, cap),
                    xytext=(-6, -4),
                    textcoords="offset points",
                    ha="right",
                    va="top",
                    color=color,
                )
    ax.set(xscale="log", xlabel="learning rate", ylabel="validation -ELBO, end of screen")
    if clipped:
        bottom = min(finals)
        ax.set_ylim(bottom - 0.05 * (cap - bottom), cap + 0.05 * (cap - bottom))
    return ax


def _screen_losses(result) -> dict:
    """Learning rate -> the validation loss at the end of the screen (seed 0)."""
    return {lr: losses[-1] for lr, losses in result.sweep.items()}
