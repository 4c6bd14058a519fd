"""Likelihoods for pixels: Bernoulli (binary cross-entropy), continuous Bernoulli,
dequantization and the discretized Gaussian.

* :func:`bernoulli_nll` is binary cross-entropy, the NLL of a Bernoulli for 0/1 pixels. On grey
  pixels it is not the NLL of a normalised density: its minimum is :func:`binary_entropy`.
* :func:`continuous_bernoulli_log_norm` is ``log C(lambda)``, the normaliser that makes
  ``lambda^x (1 - lambda)^(1 - x)`` a density on [0, 1] (Loaiza-Ganem & Cunningham, 2019).
* :func:`dequantize` and :func:`unit_cube_to_bin_nll`: uniform noise turns 256 grey levels into
  a density on [0, 1]^D; its NLL plus ``D log 256`` bounds the NLL of the discrete pixels.
* :func:`discretized_gaussian_log_mass`: the probability mass a Gaussian puts on each of the
  256 bins of a pixel.

Used in chapter 0 (the background page) and in chapters 3 and 4, whose decoders are Bernoulli.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vaelib.checks import as_tensor, check_broadcast, check_count, check_finite
from vaelib.losses import reduce

TAYLOR_RADIUS = 1e-2  # |1 - 2 lambda| below this uses the series of log C(lambda)


def _check_unit_interval(name: str, x, closed: bool = True, dtype=None) -> torch.Tensor:
    x = as_tensor(name, x, dtype=dtype)
    check_finite(name, x)
    low, high = x.min().item(), x.max().item()
    if (closed and (low < 0 or high > 1)) or (not closed and (low <= 0 or high >= 1)):
        interval = "[0, 1]" if closed else "the open interval (0, 1)"
        raise ValueError(
            f"{name} must lie in {interval}, but it ranges over [{low:.3g}, {high:.3g}]"
            + ("" if closed else "; pass logits to stay away from 0 and 1")
        )
    return x


def binary_entropy(x) -> torch.Tensor:
    """Entropy of a Bernoulli with mean ``x``: ``-x log x - (1 - x) log(1 - x)``, in nats.

    It is the smallest binary cross-entropy any prediction can reach on a target ``x``: zero
    for black and white pixels, ``log 2`` for a mid-grey one.

    Parameters
    ----------
    x : Tensor, any shape, values in [0, 1]

    Returns
    -------
    Tensor, the shape of ``x``
    """
    x = _check_unit_interval("x", x)
    return -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x))


def bernoulli_nll(x, logits, reduction: str = "batchmean") -> torch.Tensor:
    """Binary cross-entropy, the Bernoulli NLL: ``-[x log lam + (1 - x) log(1 - lam)]``.

    ``lam = sigmoid(logits)``.

    For ``x`` in {0, 1} this is the negative log-likelihood of a Bernoulli; for grey ``x`` it is
    the same formula, no longer the NLL of a normalised density on [0, 1].

    Parameters
    ----------
    x : Tensor, shape (B, ...), values in [0, 1]
        Pixels.
    logits : Tensor, shape (B, ...)
        The decoder's outputs before the sigmoid (numerically safer than probabilities).
    reduction : {"none", "sum", "mean", "batchmean"}
        ``"batchmean"`` (the default) gives nats per image.

    Returns
    -------
    Tensor
        In nats. Used in chapter 0 and chapters 3 and 4.
    """
    x = _check_unit_interval("x", x)
    logits = as_tensor("logits", logits, dtype=x.dtype)
    check_finite("logits", logits)
    check_broadcast("x", x, "logits", logits)
    bce = F.binary_cross_entropy_with_logits(logits.expand_as(x), x, reduction="none")
    return reduce(bce, reduction)


def continuous_bernoulli_log_norm(lam) -> torch.Tensor:
    """``log C(lambda)``, the log normaliser of the continuous Bernoulli on [0, 1].

    Loaiza-Ganem & Cunningham (2019), eq. 3::

        C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda),   C(1/2) = 2.

    With ``t = 1 - 2 lambda`` and ``artanh(t) = (log(1 - lambda) - log(lambda)) / 2`` (exact
    near 0 and 1). Near ``lambda = 1/2`` (``|t| < TAYLOR_RADIUS``) the ratio is 0/0 and the
    series ``artanh(t) / t = 1 + t^2/3 + t^4/5 + t^6/7 + ...`` is used instead.

    Parameters
    ----------
    lam : Tensor, any shape, values in the open interval (0, 1)

    Returns
    -------
    Tensor, the shape of ``lam``
        Float64; ``log 2`` at ``lambda = 1/2``, growing like ``log(-log lambda)`` at the ends.
    """
    lam = _check_unit_interval("lam", lam, closed=False, dtype=torch.float64)
    t = 1.0 - 2.0 * lam
    near = t.abs() < TAYLOR_RADIUS
    t_far = torch.where(near, torch.ones_like(t), t)  # keeps the unused branch finite
    lam_far = torch.where(near, torch.full_like(lam, 0.25), lam)
    log_ratio = torch.log1p(-lam_far) - torch.log(lam_far)  # 2 artanh(t), the sign of t
    far = torch.log(log_ratio / t_far)
    t2 = t * t
    series = math.log(2.0) + torch.log1p(t2 / 3 + t2 * t2 / 5 + t2 * t2 * t2 / 7)
    return torch.where(near, series, far)


def continuous_bernoulli_nll(x, logits, reduction: str = "batchmean") -> torch.Tensor:
    """NLL of the continuous Bernoulli: binary cross-entropy minus ``log C(lambda)``.

    Parameters
    ----------
    x : Tensor, shape (B, ...), values in [0, 1]
    logits : Tensor, shape (B, ...)
        ``lambda = sigmoid(logits)``.
    reduction : {"none", "sum", "mean", "batchmean"}

    Returns
    -------
    Tensor
        In nats; can be negative (it is a density). Used in chapter 0.
    """
    bce = bernoulli_nll(x, logits, reduction="none")
    logits = as_tensor("logits", logits, dtype=bce.dtype).expand_as(bce)
    lam = torch.sigmoid(logits.to(torch.float64)).clamp(1e-12, 1 - 1e-12)
    log_norm = continuous_bernoulli_log_norm(lam).to(bce.dtype)
    return reduce(bce - log_norm, reduction)


def dequantize(x, num_bins: int = 256, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantization: pixel level ``k`` becomes ``(k + u) / num_bins``, ``u ~ U(0, 1)``.

    Parameters
    ----------
    x : Tensor, any shape, values ``k / (num_bins - 1)`` in [0, 1]
        Quantized pixels, as :func:`vaelib.data.load_mnist` returns them.
    num_bins : int
        Number of grey levels (256 for 8-bit images).
    generator : torch.Generator, optional

    Returns
    -------
    Tensor, the shape of ``x``
        Continuous values in [0, 1]; pixel level ``k`` fills the bin ``[k, k + 1) / num_bins``.
    """
    levels = _levels(x, num_bins)
    u = torch.rand(levels.shape, generator=generator, dtype=levels.dtype)
    return (levels + u) / num_bins


def unit_cube_to_bin_nll(nll_density, num_dims: int, num_bins: int = 256):
    """NLL of a density on [0, 1]^D -> NLL of the discrete pixels: add ``D log num_bins``.

    A density on [0, 1]^D rescaled to the bins of width ``1 / num_bins`` (Theis et al., 2016):
    ``-log P(k) <= E_u[-log p((k + u) / num_bins)] + D log num_bins``.

    Parameters
    ----------
    nll_density : float or Tensor
        Per-example NLL of the dequantized data, in nats.
    num_dims : int
        ``D``, dimensions per example.
    num_bins : int

    Returns
    -------
    float or Tensor
        In nats. Used in chapter 0.
    """
    check_count("num_dims", num_dims)
    check_count("num_bins", num_bins)
    return nll_density + num_dims * math.log(num_bins)


def _levels(x, num_bins: int) -> torch.Tensor:
    """Pixels ``k / (num_bins - 1)`` -> integer levels ``k`` (float64); raise when off the grid."""
    if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 2:
        raise ValueError(f"num_bins must be an integer >= 2, got {num_bins!r}")
    x = _check_unit_interval("x", x).to(torch.float64)
    levels = torch.round(x * (num_bins - 1))
    off = (levels - x * (num_bins - 1)).abs().max().item() if x.numel() else 0.0
    if off > 1e-3:
        raise ValueError(
            f"x is not quantized to {num_bins} levels k / {num_bins - 1} (off by up to {off:.3g} "
            "levels); pass the pixels as loaded, before any noise"
        )
    return levels


def _log1mexp(a: torch.Tensor) -> torch.Tensor:
    """``log(1 - exp(a))`` for ``a <= 0``, accurate at both ends (Maechler, 2012)."""
    return torch.where(a > -math.log(2.0), torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


def _log_normal_interval(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """``log(Phi(upper) - Phi(lower))`` for standardised edges, in the tail it is far from."""
    flip = lower > 0  # use the mirror image, so the edges sit in the left tail
    lower, upper = torch.where(flip, -upper, lower), torch.where(flip, -lower, upper)
    log_upper, log_lower = torch.special.log_ndtr(upper), torch.special.log_ndtr(lower)
    return log_upper + _log1mexp(log_lower - log_upper)


def _bin_edges(levels: torch.Tensor, num_bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges of the bins of integer ``levels``: half a level either side of ``k / (num_bins - 1)``,
    the first bin open to -inf and the last to +inf."""
    half = 0.5 / (num_bins - 1)
    centres = levels / (num_bins - 1)
    lower = torch.where(levels == 0, -math.inf, centres - half)
    upper = torch.where(levels == num_bins - 1, math.inf, centres + half)
    return lower, upper


def _check_gaussian_params(mu, log_scale) -> tuple[torch.Tensor, torch.Tensor]:
    mu = as_tensor("mu", mu, dtype=torch.float64)
    log_scale = as_tensor("log_scale", log_scale, dtype=torch.float64)
    check_finite("mu", mu)
    check_finite("log_scale", log_scale)
    return mu, log_scale


def _log_bin_mass(lower, upper, mu, log_scale) -> torch.Tensor:
    """``log P(lower < X < upper)`` for ``X ~ N(mu, exp(log_scale)^2)``, float64."""
    inv_scale = torch.exp(-log_scale)
    return _log_normal_interval((lower - mu) * inv_scale, (upper - mu) * inv_scale)


def discretized_gaussian_log_mass(mu, log_scale, num_bins: int = 256) -> torch.Tensor:
    """Log probability of each of ``num_bins`` pixel levels under a discretized Gaussian.

    Level ``k`` sits at ``k / (num_bins - 1)`` in [0, 1]; its bin runs half a level either side,
    and the first and last bins reach out to -inf and +inf so the masses sum to 1
    (Salimans et al., 2017; Ho et al., 2020)::

        P(k) = Phi((b_k+ - mu) / s) - Phi((b_k- - mu) / s)

    Parameters
    ----------
    mu, log_scale : Tensor, shape (...), broadcastable to each other
        Mean and log standard deviation of the Gaussian, on the [0, 1] scale of the pixels.
    num_bins : int

    Returns
    -------
    Tensor, shape (..., num_bins)
        Float64 log masses; ``exp`` sums to 1 over the last axis. Used in chapter 0.
    """
    if isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 2:
        raise ValueError(f"num_bins must be an integer >= 2, got {num_bins!r}")
    mu, log_scale = _check_gaussian_params(mu, log_scale)
    lower, upper = _bin_edges(torch.arange(num_bins, dtype=torch.float64), num_bins)
    # (...) -> (..., 1) against (num_bins,) -> (..., num_bins)
    return _log_bin_mass(lower, upper, mu[..., None], log_scale[..., None])


def discretized_gaussian_nll(x, mu, log_scale, num_bins: int = 256, reduction="batchmean"):
    """NLL of quantized pixels under a discretized Gaussian (a probability, so >= 0).

    Only the mass of each pixel's own bin is computed, so memory grows with ``x``, not with
    ``num_bins`` times ``x``; it equals picking the pixel's entry of
    :func:`discretized_gaussian_log_mass`.

    Parameters
    ----------
    x : Tensor, shape (B, ...), values ``k / (num_bins - 1)``
    mu, log_scale : Tensor, broadcastable to ``x``
    num_bins : int
    reduction : {"none", "sum", "mean", "batchmean"}

    Returns
    -------
    Tensor
        In nats (``"batchmean"``: nats per image). Used in chapter 0.
    """
    levels = _levels(x, num_bins)
    mu, log_scale = _check_gaussian_params(mu, log_scale)
    check_broadcast("x", levels, "mu", mu)
    check_broadcast("x", levels, "log_scale", log_scale)
    lower, upper = _bin_edges(levels, num_bins)
    return reduce(-_log_bin_mass(lower, upper, mu, log_scale), reduction)
