"""Figures of chapter 5, rate and distortion: R(D) curves, rate-distortion planes, InfoNCE, BIC.

Drawing only; the numbers come from :mod:`vaelib.rate_distortion`,
:mod:`vaelib.estimators.contrastive`, :mod:`vaelib.mdl`, :mod:`vaelib.generalization` and
:mod:`vaelib.quantize`. Used in chapter 5.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from vaelib.plot import COLORS, MODEL, OTHER, REFERENCE, TRUTH, image_grid
from vaelib.rate_distortion import gaussian_rd, gaussian_rd_curve, reverse_water_filling


def plot_rd_curve(ax, variances, d_max=None, num=300, labels=True):
    """The R(D) curve of a Gaussian source with its achievable and impossible regions shaded."""
    total = float(np.sum(variances))
    d_max = d_max or 1.15 * total
    d = np.linspace(total * 1e-3, d_max, num)
    r = gaussian_rd_curve(variances, d)
    top = 1.1 * r[0]
    ax.plot(d, r, color=TRUTH, lw=2, label="R(D)")
    ax.fill_between(d, r, top, color=MODEL, alpha=0.12)
    ax.fill_between(d, 0, r, color=REFERENCE, alpha=0.12)
    if labels:
        ax.text(0.55 * total, 0.55 * top, "achievable", color=MODEL)
        ax.text(0.06 * total, 0.12 * top, "impossible", color=REFERENCE)
        ax.annotate("R(D) → ∞ as D → 0", (d[0], top * 0.97), (0.2 * total, 0.9 * top))
        ax.plot([total], [0.0], "o", color=TRUTH)
        ax.annotate("R(Σ s_i) = 0", (total, 0), (0.75 * total, 0.15 * top))
    ax.set(xlim=(0, d_max), ylim=(0, top), xlabel="distortion D (expected squared error)")
    ax.set(ylabel="rate R (nats)")
    return ax


def plot_water_filling(variances, distortion):
    """Slider frame: the curve with the point at D, and the water level over the variances.

    The two panels are stacked (6 in wide): their text stays >= 9 CSS px on a 390 px phone."""
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6.0, 5.6))
    plot_rd_curve(ax0, variances)
    rate = gaussian_rd(variances, distortion)
    ax0.plot([distortion], [rate], "o", color=OTHER, ms=9)
    ax0.set_title(f"D = {distortion:.2f}: R(D) = {rate:.2f} nats")
    per = reverse_water_filling(variances, distortion)
    idx = np.arange(len(variances))
    ax1.bar(idx, variances, color="0.85", label="variance s_i")
    ax1.bar(idx, per, color=MODEL, alpha=0.7, label="distortion D_i")
    theta = per.max()
    ax1.axhline(theta, color=REFERENCE, ls="--", label=f"water level θ = {theta:.2f}")
    dropped = int(np.sum(per >= np.asarray(variances)))
    ax1.set(xlabel="component i", ylabel="variance", title=f"{dropped} of {len(per)} dropped")
    ax1.legend(loc="upper right")
    return fig


def plot_linear_sweep(ax, variances, trained, optimum, betas):
    """Trained (D, R) points of the linear beta-VAE and the closed-form optima on the curve."""
    plot_rd_curve(ax, variances, labels=False)
    ax.plot(
        optimum[:, 0],
        optimum[:, 1],
        "s",
        mfc="none",
        color=REFERENCE,
        ms=9,
        label="closed-form optimum",
    )
    ax.scatter(
        trained[:, 0],
        trained[:, 1],
        c=np.log(betas),
        cmap="viridis",
        zorder=3,
        label="trained (colour: log β)",
    )
    for (d, r), beta in zip(trained, betas):
        ax.annotate(f"β={beta:g}", (d, r), (4, 4), textcoords="offset points")
    ax.legend(loc="upper right")
    return ax


def plot_rd_plane(ax, distortion, rate, betas, highlight=None):
    """MNIST (D, R) points with lines of constant -ELBO = D + R; beta = 1 marked."""
    distortion, rate = np.asarray(distortion), np.asarray(rate)
    lo, hi = distortion.min() - 10, distortion.max() + 10
    r_hi = rate.max() * 1.15 + 1
    for level in np.linspace(lo + rate.min(), hi + r_hi, 7):
        xs = np.linspace(lo, hi, 2)
        ax.plot(xs, level - xs, color="0.75", lw=0.8, ls=":")
    ax.plot(distortion, rate, "-o", color=MODEL, ms=5)
    for d, r, beta in zip(distortion, rate, betas):
        ax.annotate(f"β={beta:g}", (d, r), (4, 3), textcoords="offset points", fontsize=10)
    one = int(np.argmin(np.abs(np.log(np.asarray(betas)))))
    ax.plot(distortion[one], rate[one], "*", color=REFERENCE, ms=14, label="β = 1 (the ELBO)")
    if highlight is not None:
        ax.plot(distortion[highlight], rate[highlight], "o", mfc="none", color=OTHER, ms=14, mew=2)
    ax.set(
        xlim=(lo, hi),
        ylim=(0, r_hi),
        xlabel="distortion D (nats per image)",
        ylabel="rate R (nats per image)",
    )
    ax.legend(loc="upper right", title="dotted: constant D + R")
    return ax


def plot_beta_frame(runs, index, distortion, rate, images, samples):
    """Slider frame for one beta: the point on the plane, reconstructions and prior samples.

    The plane above the two image grids, 5.4 in wide: its text (10 pt at least) stays >= 9 CSS
    px on a 390 px phone."""
    fig = plt.figure(figsize=(5.4, 5.4))
    grid = fig.add_gridspec(3, 1, height_ratios=[3, 1, 1])
    ax = fig.add_subplot(grid[0])
    plot_rd_plane(ax, distortion, rate, [r["beta"] for r in runs], highlight=index)
    image_grid(images[index], ncols=8, ax=fig.add_subplot(grid[1]), title="reconstructions")
    image_grid(samples[index], ncols=8, ax=fig.add_subplot(grid[2]), title="samples from the prior")
    return fig


def plot_infonce(ax, mis, estimates, ks, optimal=None):
    """InfoNCE estimates against the true MI, one colour per K, with the log K ceilings."""
    ax.plot(mis, mis, color=TRUTH, lw=1, ls="--", label="true MI")
    for colour, k in zip(COLORS[1:] + COLORS, ks):
        ax.axhline(np.log(k), color=colour, lw=0.8, ls=":")
        if optimal is not None:
            ax.plot(optimal["mis"], optimal[k], color=colour, lw=1.2, alpha=0.7)
        ax.plot(mis, estimates[k], "o", color=colour, label=f"K = {k}")
    ax.set(xlabel="true I(X; Y) (nats)", ylabel="InfoNCE estimate (nats)")
    ax.legend(loc="upper left")  # above the diagonal: the estimates lie below the true MI
    return ax


def plot_bic_frame(x, y, results, grid_x, curve):
    """Data, the line and the degree-5 fit, with their BIC and held-out log-likelihoods."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.plot(x, y, ".", color="0.5", label="data")
    ax.plot(grid_x, curve, color=TRUTH, lw=1, ls="--", label="sin(2x)")
    for colour, (degree, res) in zip((MODEL, OTHER), results.items()):
        fitted = np.polyval(res["fit"]["coef"], grid_x)
        ax.plot(
            grid_x,
            fitted,
            color=colour,
            label=f"degree {degree}: BIC {res['bic']:.1f}, held-out {res['held_out']:.3f}",
        )
    ax.set(xlabel="x", ylabel="y", ylim=(-3, 3))
    # Below the axes, in the style's size (>= 9 CSS px on a phone), clear of noisy data.
    fig.legend(loc="outside lower center", ncol=1)
    return fig


def plot_generalization(ax, noise_stds, out):
    """Measured generalization gap against the Xu-Raginsky bound, over the added noise."""
    ax.errorbar(
        noise_stds,
        out["gap"],
        yerr=2 * out["gap_se"],
        fmt="o-",
        color=MODEL,
        label="measured gap E[L(W) - L_S(W)]",
    )
    ax.plot(noise_stds, out["bound"], "s--", color=REFERENCE, label="bound sqrt(I(S;W) / 2n)")
    ax.set(xscale="log", xlabel="noise std s added to the mean", ylabel="nats of loss")
    ax.legend(loc="upper right")
    return ax


def plot_quantization(ax, bits, mse, rd_bits, label):
    """Weight MSE of a uniform quantizer against bits per weight, and the Gaussian R(D) bound."""
    ax.plot(bits, mse, "o-", color=MODEL, label="uniform quantizer")
    ax.plot(rd_bits, mse, "--", color=REFERENCE, label="Gaussian R(D) at the same MSE")
    ax.set(yscale="log", xlabel="bits per weight", ylabel="weight MSE", title=f"layer {label}")
    ax.legend(loc="lower left")  # below both lines, which fall from the upper left
    return ax
