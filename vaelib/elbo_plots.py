"""Figures for chapter 2, the ELBO: each function draws one figure and returns it.

Colours follow :mod:`vaelib.plot`: the truth (log p(x), the posterior) in black, q and the ELBO in
blue, the importance-weighted bound in orange, reference lines in red.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from vaelib.elbo import JointTable
from vaelib.models.linear_gaussian import EMHistory, LinearGaussian
from vaelib.plot import MODEL, OTHER, REFERENCE, TRUTH


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def draw_joint_table(table: JointTable, x_labels, z_labels, x_name="x", z_name="z"):
    """The joint p(x, z) as an annotated grid, with p(x) (row sums) in the right margin."""
    joint, p_x, p_z = _np(table.joint), _np(table.p_x), _np(table.p_z)
    n_x, n_z = joint.shape
    fig, axes = plt.subplots(
        2,
        2,
        figsize=(6.0, 3.4),
        gridspec_kw={"width_ratios": [n_z, 1.3], "height_ratios": [n_x, 1]},
    )
    cells = [(axes[0, 0], joint, "Blues"), (axes[0, 1], p_x[:, None], "Oranges")]
    cells.append((axes[1, 0], p_z[None, :], "Greys"))
    for ax, values, cmap in cells:
        ax.imshow(values, cmap=cmap, vmin=0, vmax=2.0 * values.max(), aspect="auto")
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    axes[0, 0].set_yticks(range(n_x), [f"{x_name} = {s}" for s in x_labels])
    axes[0, 0].set_xticks(range(n_z), [f"{z_name} = {s}" for s in z_labels])
    axes[0, 0].xaxis.tick_top()
    axes[0, 0].set_title(f"joint p({x_name}, {z_name})")
    axes[0, 1].set_title(f"margin p({x_name})")
    axes[1, 0].set_yticks([0], [f"p({z_name})"])
    axes[1, 1].set_axis_off()
    return fig


def draw_prior_sampling(num_samples, errors: dict, ax=None):
    """Median |log p-hat(x) - log p(x)| of the prior-sampling estimate against K, per latent size.

    ``errors`` maps a label (e.g. the latent dimension) to absolute errors of shape
    (len(num_samples), repeats); the band spans their quartiles.
    """
    fig, ax = plt.subplots(figsize=(6.0, 4.2)) if ax is None else (ax.figure, ax)
    for label, err in errors.items():
        low, mid, high = np.quantile(_np(err), [0.25, 0.5, 0.75], axis=1)
        (line,) = ax.loglog(num_samples, mid, "o-", ms=4, label=label)
        ax.fill_between(num_samples, low, high, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("samples K from the prior")
    ax.set_ylabel(r"$|\log \hat p(x) - \log p(x)|$ (nats)")
    ax.legend(title="latent dimension", ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    return fig


def draw_elbo_landscape(model: LinearGaussian, x, mu_grid, log_sigma_grid):
    """The gap log p(x) - ELBO = KL(q || p(z | x)) over q's mean and log-sigma (1-P latent)."""
    mu_g, ls_g = np.meshgrid(_np(mu_grid), _np(log_sigma_grid))
    n = mu_g.size
    x_rep = torch.as_tensor(x, dtype=torch.float64).expand(n, -1)  # (1, P) -> (n, P)
    mu = torch.as_tensor(mu_g.reshape(n, 1))
    log_var = 2.0 * torch.as_tensor(ls_g.reshape(n, 1))
    gap = _np(model.log_evidence(x_rep) - model.elbo(x_rep, mu, log_var)).reshape(mu_g.shape)
    post_mu, post_cov = model.posterior(x)
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    mesh = ax.pcolormesh(mu_g, ls_g, np.log10(gap + 1e-3), cmap="viridis_r", shading="auto")
    levels = [0.01, 0.1, 0.5, 1, 2, 4, 8]
    contours = ax.contour(mu_g, ls_g, gap, levels=levels, colors="white", linewidths=0.8)
    ax.clabel(contours, fmt="%g")
    ax.plot(
        post_mu.item(),
        0.5 * math.log(post_cov.item()),
        "*",
        color="white",
        ms=14,
        mec=TRUTH,
        label="true posterior p(z | x)",
    )
    best = np.unravel_index(np.argmin(gap), gap.shape)
    ax.plot(
        mu_g[best], ls_g[best], "+", color=REFERENCE, ms=14, mew=2, label="grid maximum of ELBO"
    )
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}$(gap + 0.001)")
    ax.set_xlabel(r"mean of $q$")
    ax.set_ylabel(r"$\log \sigma$ of $q$")
    ax.grid(False)
    fig.legend(loc="outside lower center", ncol=2)
    return fig


def draw_q_frame(model: LinearGaussian, x, mu, log_sigma, mu_range, log_p_range):
    """One slider frame: q and the posterior (top); the ELBO, log p(x) and the gap (bottom).

    ``log_p_range`` is the y-range of the ELBO, up to at least log p(x); the panel adds half as
    much again above it, where no curve goes, for its legend.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    log_p = model.log_evidence(x).item()
    post_mu, post_cov = model.posterior(x)
    z = np.linspace(*mu_range, 400)
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6.0, 5.0))
    normal = lambda m, s: np.exp(-0.5 * ((z - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    ax0.fill_between(z, normal(post_mu.item(), post_cov.sqrt().item()), color=TRUTH, alpha=0.15)
    ax0.plot(z, normal(post_mu.item(), post_cov.sqrt().item()), color=TRUTH, label="p(z | x)")
    ax0.plot(z, normal(mu, math.exp(log_sigma)), color=MODEL, lw=2, label="q(z | x)")
    ax0.set_xlabel("z")
    ax0.set_ylim(0, 2.2)  # the legend's row above the densities
    ax0.legend(loc="upper center", ncol=2)
    mus = torch.linspace(*mu_range, 200, dtype=torch.float64)[:, None]  # (200, 1)
    curve = model.elbo(x.expand(200, -1), mus, torch.full_like(mus, 2.0 * log_sigma))
    value = model.elbo(x, torch.tensor([[mu]]), torch.tensor([[2.0 * log_sigma]])).item()
    ax1.axhline(log_p, color=TRUTH, label="log p(x)")
    ax1.plot(_np(mus[:, 0]), _np(curve), color=MODEL, label=r"ELBO at this $\sigma$")
    ax1.vlines(mu, value, log_p, color=REFERENCE, lw=3, label="gap = KL(q || p(z|x))")
    ax1.plot(mu, value, "o", color=MODEL)
    low, high = log_p_range
    ax1.set_ylim(low, high + 0.5 * (high - low))  # room above log p(x), where no frame draws
    ax1.set_xlabel("mean of q")
    ax1.set_title(f"ELBO {value:.2f}   log p(x) {log_p:.2f}   gap {log_p - value:.2f}")
    ax1.legend(loc="upper center", ncol=2)
    return fig


def draw_mc_spread(num_samples, estimates, elbo_exact, log_p):
    """Monte Carlo ELBO estimates per K (top) and their standard deviation (bottom, log-log)."""
    num_samples = np.asarray(num_samples)
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6.0, 5.6))
    rng = np.random.default_rng(0)
    for i, est in enumerate(estimates):
        est = _np(est)
        ax0.plot(i + rng.uniform(-0.3, 0.3, est.size), est, ".", ms=1.5, color=MODEL, alpha=0.3)
    ax0.axhline(elbo_exact, color=REFERENCE, label="exact ELBO")
    ax0.axhline(log_p, color=TRUTH, ls="--", label="log p(x)")
    ax0.set_xticks(range(len(num_samples)), [str(k) for k in num_samples])
    ax0.set_xlabel("samples K")
    ax0.set_ylabel("ELBO estimate")
    ax0.legend(loc="lower right")
    std = np.array([_np(e).std() for e in estimates])
    slope, intercept = np.polyfit(np.log(num_samples), np.log(std), 1)
    ax1.loglog(num_samples, std, "o", color=MODEL, label="measured")
    ax1.loglog(
        num_samples,
        np.exp(intercept) * num_samples**slope,
        color=REFERENCE,
        label=f"fit: slope {slope:.3f}",
    )
    ax1.set_xlabel("samples K")
    ax1.set_ylabel("standard deviation")
    ax1.legend()
    return fig


def draw_iwae_frame(num_samples, estimates, k, log_p, elbo_exact, limits):
    """One slider frame: the spread of the IWAE_K runs (top) and their mean against K (bottom).

    ``estimates`` has shape (len(num_samples), repeats); ``limits`` is the histogram's x-range.
    """
    est = _np(estimates[list(num_samples).index(k)])
    means = _np(estimates).mean(axis=1)
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6.0, 5.6))
    counts, _, _ = ax0.hist(
        est.clip(*limits), bins=np.linspace(*limits, 50), color=OTHER, alpha=0.7
    )
    ax0.axvline(log_p, color=TRUTH, lw=2, label="log p(x)")
    ax0.axvline(elbo_exact, color=MODEL, ls="--", label="exact ELBO")
    ax0.axvline(est.mean(), color=REFERENCE, label=f"mean of runs {est.mean():.3f}")
    ax0.set_xlim(*limits)
    ax0.set_ylim(0, 1.9 * counts.max())  # the legend above the tallest bar
    ax0.set_xlabel(f"IWAE estimate, K = {k} (nats)")
    ax0.set_ylabel("runs")
    below, above = (est < limits[0]).mean(), (est > limits[1]).mean()
    ax0.set_title(f"runs off the axis, piled at its edges: {below:.0%} left, {above:.0%} right")
    ax0.legend(loc="upper left")
    ax1.semilogx(num_samples, means, "o-", ms=3, color=OTHER, label="mean of runs")
    ax1.plot(k, est.mean(), "o", ms=9, color=REFERENCE)
    ax1.axhline(log_p, color=TRUTH, lw=2, label="log p(x)")
    ax1.axhline(elbo_exact, color=MODEL, ls="--", label="exact ELBO")
    ax1.set_xlabel("samples K")
    ax1.legend(loc="center right")
    return fig


def draw_iwae_gap(num_samples, gap, se, chi2):
    """log p(x) - E[IWAE_K] against K, with the large-K prediction chi^2 / (2K)."""
    num_samples = np.asarray(num_samples)
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    gap, se = _np(gap), _np(se)
    ax.errorbar(
        num_samples,
        gap,
        yerr=2 * se,
        fmt="o",
        color=OTHER,
        capsize=3,
        label=r"measured, $\pm 2$ s.e.",
    )
    ax.loglog(
        num_samples,
        chi2 / (2 * num_samples),
        color=REFERENCE,
        label=r"$\chi^2(p(z|x)\,\|\,q) / 2K$",
    )
    ax.set_xlabel("samples K")
    ax.set_ylabel(r"$\log p(x) - \mathbb{E}[\mathrm{IWAE}_K]$ (nats)")
    ax.set_ylim(bottom=max(0.3 * gap[gap > 0].min(), 1e-4))
    ax.legend()
    return fig


def draw_em(bounds: EMHistory, x_bounds, w_grid, history: EMHistory, log_p_ml, num_bounds=3):
    """EM as bound maximisation.

    Top: a 1-P, scalar-W model; log p(x | w) and the bound ELBO(q_t, w) built at w_t, which
    touches it there and peaks at w_{t+1}. Bottom: a larger model; distance to the maximum
    likelihood of log p(x) and of the bound after each M-step.
    """
    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(6.0, 6.6))
    first = bounds.models[0]
    if (first.data_dim, first.latent_dim) != (1, 1):
        raise ValueError("the top panel needs a scalar model (P = D = 1) in `bounds`")
    w_grid = torch.as_tensor(w_grid, dtype=torch.float64)
    lik = [LinearGaussian([[w]], first.b, first.sigma) for w in w_grid.tolist()]
    ax0.plot(
        _np(w_grid),
        [m.log_evidence(x_bounds).mean().item() for m in lik],
        color=TRUTH,
        lw=2,
        label="log p(x | w)",
    )
    for t in range(num_bounds):
        mu, cov = bounds.models[t].posterior(x_bounds)  # q_t; with D = 1 it is diagonal
        log_var = torch.log(torch.diagonal(cov)).expand_as(mu)
        curve = [m.elbo(x_bounds, mu, log_var).mean().item() for m in lik]
        w_t, w_next = bounds.models[t].W.item(), bounds.models[t + 1].W.item()
        ax0.plot(
            _np(w_grid),
            curve,
            color=MODEL,
            alpha=1.0 - 0.25 * t,
            label=f"ELBO(q_t, w), t = 0..{num_bounds - 1}" if t == 0 else None,
        )
        touch, top = bounds.log_evidence[t].item(), bounds.elbo_after_m[t].item()
        ax0.plot(w_t, touch, "o", color=MODEL)  # the E-step makes the bound touch log p here
        arrow = {"arrowstyle": "->", "color": REFERENCE, "lw": 1.5}
        ax0.annotate("", (w_next, top), (w_t, touch), arrowprops=arrow)  # M-step: climb the bound
        ax0.annotate(
            "",
            (w_next, bounds.log_evidence[t + 1].item()),
            (w_next, top),
            arrowprops={**arrow, "ls": ":"},
        )  # next E-step: close the gap
    low = bounds.log_evidence[0].item() - 1.0
    ax0.set_ylim(low, bounds.log_evidence.max().item() + 0.3)
    ax0.set_xlabel("w")
    ax0.set_ylabel("per example (nats)")
    ax0.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    steps = np.arange(len(history.log_evidence))
    ax1.semilogy(
        steps,
        _np(log_p_ml - history.log_evidence),
        "o-",
        ms=3,
        color=TRUTH,
        label=r"$\log p(x;\theta_t)$ = ELBO after E-step",
    )
    ax1.semilogy(
        steps[1:],
        _np(log_p_ml - history.elbo_after_m),
        "s",
        ms=3,
        color=MODEL,
        label=r"ELBO$(q_t, \theta_{t+1})$ after M-step",
    )
    ax1.set_xlabel("EM step t")
    ax1.set_ylabel("below the maximum likelihood (nats)")
    ax1.legend()
    return fig
