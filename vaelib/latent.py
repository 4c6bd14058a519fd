"""Looking inside a VAE's latent space: collapse metrics, the aggregate posterior, paths and grids.

The metrics of chapter 4's three regimes (balanced, no KL, KL wins), computed from the encoder's
outputs mu(x) and log_var(x) over a data set:

* the spread of the means: how far apart the codes of different images are;
* the KL per latent dimension, averaged over the data;
* the number of active units (Burda et al. 2016, sec. 5.2): dimension u is active when
  A_u = Cov_x(E_{q(u | x)}[u]) > 0.01, i.e. its mean moves with the input;
* the moments of the aggregate posterior q(z) = (1/N) sum_n q(z | x_n), which a healthy VAE keeps
  close to the prior N(0, I).

Used in chapters 4, 5 and 6.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from vaelib.checks import as_floats, check_ndim, check_same_shape, float_dtype
from vaelib.losses import kl_std_normal
from vaelib.plot import COLORS, image_grid
from vaelib.train import evaluating

ACTIVE_THRESHOLD = 0.01  # Burda et al. (2016), sec. 5.2


def encode_dataset(model, x, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """mu and log_var of q(z | x) for every image, in eval mode: two (N, D) tensors on the CPU."""
    device = next(model.parameters()).device
    mus, log_vars = [], []
    with evaluating(model):
        for batch in x.split(batch_size):
            mu, log_var = model.encode(batch.to(device))
            mus.append(mu.cpu())
            log_vars.append(log_var.cpu())
    return torch.cat(mus), torch.cat(log_vars)


def _check_codes(mu, log_var=None):
    check_ndim("mu", mu, 2, "(N, D)")
    if log_var is not None:
        check_same_shape("mu", mu, "log_var", log_var)
    if len(mu) < 2:
        raise ValueError(f"need the codes of at least 2 images to measure spread, got {len(mu)}")


def kl_per_dim(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(q(z_d | x) || N(0, 1)) averaged over the data, one value per dimension: shape (D,).

    Elementwise 1/2 (mu^2 + sigma^2 - 1 - log sigma^2) (Kingma & Welling 2014, App. B); the
    values sum to the KL term of the loss.
    """
    _check_codes(mu, log_var)
    return kl_std_normal(mu, log_var, reduction="none").mean(dim=0)  # (N, D) -> (D,)


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_THRESHOLD):
    """Burda et al.'s active units: dimensions whose posterior mean varies over the data.

    Parameters
    ----------
    mu : Tensor, shape (N, D)
        E_q[z | x_n] for N images.
    threshold : float
        A_u = Var_n(mu_nu) above this counts as active (0.01 in the paper).

    Returns
    -------
    num_active : int
    activity : Tensor, shape (D,)
        A_u for every dimension.
    """
    _check_codes(mu)
    activity = mu.double().var(dim=0, unbiased=True)  # Cov_x(E_q[u]), diagonal
    activity = activity.to(float_dtype(mu))  # integer codes: float variances, not truncated
    return int((activity > threshold).sum()), activity


def aggregate_posterior(mu: torch.Tensor, log_var: torch.Tensor):
    """Mean and covariance of the aggregate posterior q(z) = (1/N) sum_n N(mu_n, diag sigma_n^2).

    By the law of total covariance, Cov[z] = Cov_n(mu_n) + mean_n diag(sigma_n^2): the spread of
    the means plus the average width of the bubbles. For a VAE whose q(z) matches the prior both
    are near 0 and the identity.

    Returns
    -------
    mean : Tensor, shape (D,)
    cov : Tensor, shape (D, D)
    """
    _check_codes(mu, log_var)
    mu64 = mu.double()
    centred = mu64 - mu64.mean(dim=0)
    cov = centred.T @ centred / len(mu) + torch.diag(log_var.double().exp().mean(dim=0))
    return mu64.mean(dim=0), cov


@dataclass
class LatentSummary:
    """The collapse metrics of one model on one data set (see :func:`summarize`)."""

    latent_dim: int
    num_active: int
    kl_total: float  # nats per image, the KL term of the loss
    kl_per_dim: torch.Tensor  # (D,)
    spread: float  # root of the total variance of the means, sqrt(sum_d Var_n mu_nd)
    mean_sigma: float  # average posterior standard deviation, mean over n and d of sigma_nd

    @property
    def collapsed(self) -> bool:
        """True when no dimension is active: q(z | x) no longer depends on x."""
        return self.num_active == 0


def summarize(mu, log_var, threshold: float = ACTIVE_THRESHOLD) -> LatentSummary:
    """The collapse metrics of codes (mu, log_var), each (N, D)."""
    num_active, activity = active_units(mu, threshold)
    kl = kl_per_dim(mu, log_var)
    return LatentSummary(
        latent_dim=mu.shape[1],
        num_active=num_active,
        kl_total=float(kl.sum()),
        kl_per_dim=kl,
        spread=float(activity.double().sum().sqrt()),
        mean_sigma=float((0.5 * log_var.double()).exp().mean()),
    )


def class_means(mu: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The centre of each class's codes: (num_classes, D), row k the mean of mu over y == k."""
    _check_codes(mu)
    (mu,) = as_floats(("mu", mu))  # integer codes: their class means are fractions
    classes = torch.unique(y)
    return torch.stack([mu[y == k].mean(dim=0) for k in classes])


def line(z_start, z_end, num_steps: int = 16) -> torch.Tensor:
    """``num_steps`` (T, 16 by default) evenly spaced points from ``z_start`` to ``z_end`` (both
    (D,)): (T, D)."""
    z_start, z_end = as_floats(("z_start", z_start), ("z_end", z_end))
    t = torch.linspace(0.0, 1.0, num_steps, dtype=z_start.dtype, device=z_start.device)
    t = t.unsqueeze(1)  # (T, 1)
    return (1.0 - t) * z_start + t * z_end


def decode_points(model, z: torch.Tensor) -> torch.Tensor:
    """Decoder means at latent points z (T, D): images (T, 1, 28, 28) on the CPU."""
    device = next(model.parameters()).device
    with evaluating(model):
        return model.decode(z.to(device, torch.float32)).cpu()


def path_smoothness(images: torch.Tensor) -> dict:
    """How evenly a sequence of decoded images changes along a path.

    Parameters
    ----------
    images : Tensor, shape (T, 1, H, W)
        Decoded images at T evenly spaced points of a straight latent path.

    Returns
    -------
    dict
        ``steps`` (T - 1,): root-mean-square pixel change between neighbours;
        ``max_jump``: the largest step over the mean step (1 for perfectly even change);
        ``detour``: the length of the path in pixel space over the distance between its two
        end images (1 for a straight morph, large when the path passes through garbage).
    """
    check_ndim("images", images, 4, "(T, 1, H, W)")
    flat = images.reshape(len(images), -1).double()  # (T, 1, H, W) -> (T, H*W)
    steps = (flat[1:] - flat[:-1]).pow(2).mean(dim=1).sqrt()
    direct = (flat[-1] - flat[0]).pow(2).mean().sqrt()
    return {
        "steps": steps,
        "max_jump": float(steps.max() / steps.mean()),
        "detour": float(steps.sum() / direct.clamp_min(1e-12)),
    }


def class_pair_smoothness(model, centres: torch.Tensor, num_steps: int = 16) -> dict:
    """:func:`path_smoothness` along the straight line between every pair of class centres.

    Parameters
    ----------
    centres : Tensor, shape (K, D)
        E.g. :func:`class_means` of the codes.

    Returns
    -------
    dict
        ``pairs`` (list of (a, b)), ``max_jump`` and ``detour`` (Tensors of shape (K(K-1)/2,)).
    """
    pairs = list(itertools.combinations(range(len(centres)), 2))
    jumps, detours = [], []
    for a, b in pairs:
        scores = path_smoothness(decode_points(model, line(centres[a], centres[b], num_steps)))
        jumps.append(scores["max_jump"])
        detours.append(scores["detour"])
    return {"pairs": pairs, "max_jump": torch.tensor(jumps), "detour": torch.tensor(detours)}


def grid_points(limits=(-3.0, 3.0), num: int = 9, dims=(0, 1), latent_dim: int = 2):
    """A num x num grid over two latent coordinates, the others at 0: (num * num, latent_dim).

    Row-major with z[dims[1]] decreasing down the rows and z[dims[0]] increasing along a row, so
    :func:`vaelib.plot.image_grid` with ``ncols=num`` lays the images out like a scatter plot.
    By default: 9 x 9 points over [-3, 3]^2 (three prior standard deviations) of a 2-D latent.
    """
    lo, hi = limits
    values = torch.linspace(lo, hi, num)
    z = torch.zeros(num * num, latent_dim)
    rows, cols = torch.meshgrid(values.flip(0), values, indexing="ij")
    z[:, dims[0]] = cols.reshape(-1)
    z[:, dims[1]] = rows.reshape(-1)
    return z


def plot_decoded_grid(ax, model, mu, num: int = 9, min_extent: float = 3.0):
    """Decode a num x num grid covering the 2-D codes ``mu`` and draw it on ``ax``.

    The grid spans the 1st to 99th percentile of the codes in both coordinates, and at least
    [-min_extent, min_extent]; the images are laid out like a scatter plot of z (z1 to the
    right, z2 upwards). Returns the limits (lo, hi).
    """
    _check_codes(mu)
    lo = min(-min_extent, mu.quantile(0.01, dim=0).min().item())
    hi = max(min_extent, mu.quantile(0.99, dim=0).max().item())
    images = decode_points(model, grid_points((lo, hi), num, latent_dim=mu.shape[1]))
    image_grid(images, ncols=num, ax=ax)
    return lo, hi


def plot_codes(
    ax, mu, y, *, max_points: int = 2000, size: float = 4.0, prior_circle=True, limits=None
):
    """Scatter 2-D codes coloured by digit, with the prior's 1- and 2-sigma circles.

    Parameters
    ----------
    mu : Tensor, shape (N, 2)
    y : Tensor, shape (N,)
        Digit labels 0..9.
    limits : (float, float), optional
        Fixed limits for both axes (e.g. the same window in every frame of a slider); the box
        then adapts to keep the aspect equal. By default the limits adapt to the data.
    """
    mu, y = np.asarray(mu[:max_points], dtype=float), np.asarray(y[:max_points])
    for k in range(10):
        pts = mu[y == k]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=size,
            color=_class_colour(k),
            label=str(k),
            alpha=0.7,
            linewidths=0,
        )
    if prior_circle:
        angle = np.linspace(0, 2 * np.pi, 200)
        for r in (1, 2):
            ax.plot(r * np.cos(angle), r * np.sin(angle), color="0.2", lw=0.8, ls="--")
    if limits is None:
        ax.set_aspect("equal", adjustable="datalim")
    else:  # fixed limits and adjustable data limits contradict: let the box adapt instead
        ax.set(xlim=limits, ylim=limits)
        ax.set_aspect("equal", adjustable="box")
    return ax


def _class_colour(k: int):
    extra = ["#777777", "#8C564B"]
    return (COLORS + extra)[k]
