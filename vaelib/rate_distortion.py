"""Rate and distortion: the Gaussian R(D), the linear beta-VAE that traces it, BIC, beta sweeps.

* :func:`gaussian_rd` is the rate-distortion function of independent Gaussian components under
  squared error, by reverse water-filling (Cover & Thomas 2006, Theorem 10.3.3):
  each component with variance s_i gets distortion D_i = min(theta, s_i), where the water level
  theta makes sum_i D_i = D, and R(D) = sum_i 1/2 log(s_i / D_i) nats.
* :func:`linear_beta_vae_optimum` is the closed-form optimum of a linear-Gaussian beta-VAE on such
  a source, with a Gaussian decoder of variance 1/2 so that the distortion term is the squared
  error: D_i = min(beta / 2, s_i), i.e. reverse water-filling with theta = beta / 2, on the curve.
* :func:`bic` is the Bayesian information criterion in nats (Schwarz 1978), the two-part code
  length of minimum description length to first order (Rissanen 1978).
* :func:`beta_sweep` trains one model per beta with :func:`vaelib.train.fit`.

Used in chapter 5, rate and distortion.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vaelib.config import set_seed
from vaelib.train import fit


def _check_variances(variances) -> np.ndarray:
    s = np.asarray(variances, dtype=np.float64).reshape(-1)
    if s.size == 0:
        raise ValueError("variances is empty; pass one variance per Gaussian component")
    if not np.all(np.isfinite(s)):
        raise ValueError("variances contains a NaN or an infinite value")
    if np.any(s < 0):
        raise ValueError(
            f"variances must be non-negative, but the smallest is {s.min():.3g}; "
            "a variance is a squared spread"
        )
    return s


def _check_distortion(distortion) -> float:
    d = float(distortion)
    if math.isnan(d) or d < 0:
        raise ValueError(f"the distortion D must be >= 0 (an expected squared error), got {d!r}")
    return d


def water_level(variances, distortion) -> float:
    """The water level theta of reverse water-filling: sum_i min(theta, s_i) = D.

    Parameters
    ----------
    variances : array-like, shape (n,)
        s_i >= 0, the variances of the independent Gaussian components.
    distortion : float
        D >= 0, the total expected squared error. For D >= sum_i s_i every component is dropped
        and theta = max_i s_i.

    Returns
    -------
    float
        theta, in the units of the variances.
    """
    s = np.sort(_check_variances(variances))
    d = _check_distortion(distortion)
    if d >= s.sum():
        return float(s[-1])
    below = 0.0  # sum of the variances already under the water (they keep D_i = s_i)
    for k, s_k in enumerate(s):
        theta = (d - below) / (len(s) - k)  # share the rest equally among the remaining ones
        if theta <= s_k:
            return float(theta)
        below += s_k
    return float(s[-1])  # not reached: d < s.sum() ensures a return in the loop


def reverse_water_filling(variances, distortion) -> np.ndarray:
    """The distortion of each component at the optimum, D_i = min(theta, s_i): shape (n,)."""
    s = _check_variances(variances)
    return np.minimum(water_level(s, distortion), s)


def gaussian_rd(variances, distortion) -> float:
    """R(D) in nats of independent Gaussian components under summed squared error.

    R(D) = sum_i 1/2 log(s_i / D_i), D_i = min(theta, s_i) (Cover & Thomas 2006, sec. 10.3.3).
    R(0) is infinite (for any s_i > 0) and R(D) = 0 for D >= sum_i s_i.

    Parameters
    ----------
    variances : array-like, shape (n,)
        s_i >= 0; a clear ``ValueError`` for a negative one.
    distortion : float
        D >= 0, the expected squared error summed over the components.

    Returns
    -------
    float
        The rate in nats.
    """
    s = _check_variances(variances)
    d = _check_distortion(distortion)
    if d == 0.0:
        return math.inf if np.any(s > 0) else 0.0
    per = reverse_water_filling(s, d)
    used = s > 0
    return float(0.5 * np.log(s[used] / per[used]).sum())


def gaussian_rd_curve(variances, distortions) -> np.ndarray:
    """:func:`gaussian_rd` at every distortion in ``distortions``: shape (m,)."""
    return np.array([gaussian_rd(variances, d) for d in np.asarray(distortions).reshape(-1)])


def rd_slope(variances, distortion) -> float:
    """dR/dD at D: -1 / (2 theta) below the total variance, 0 above it (nats per unit of D)."""
    s = _check_variances(variances)
    if _check_distortion(distortion) >= s.sum():
        return 0.0
    return -1.0 / (2.0 * water_level(s, distortion))


def linear_beta_vae_optimum(variances, beta) -> dict:
    """The optimum of the linear-Gaussian beta-VAE on a source N(0, diag s).

    With z = A x + c + sigma * eps, x_hat = W z + b, prior N(0, I) and the loss
    E||x - x_hat||^2 + beta * KL (a Gaussian decoder with variance 1/2, constant dropped), the
    loss separates over components into D_i + beta/2 log(s_i / D_i), minimised at
    D_i = min(beta / 2, s_i): reverse water-filling with theta = beta / 2.

    Returns
    -------
    dict
        ``distortion`` and ``rate`` (floats, nats for the rate), ``per_component`` (shape (n,)),
        ``theta`` = beta / 2 and ``slope`` = -1 / beta.
    """
    s = _check_variances(variances)
    if not beta > 0:
        raise ValueError(f"beta must be positive, got {beta!r}")
    per = np.minimum(beta / 2.0, s)
    distortion = float(per.sum())
    return {
        "distortion": distortion,
        "rate": gaussian_rd(s, distortion),
        "per_component": per,
        "theta": beta / 2.0,
        "slope": -1.0 / beta,
    }


def rd_gap(variances, distortion, rate) -> float:
    """How far a measured (D, R) point lies above the curve: R - R(D), in nats."""
    return float(rate) - gaussian_rd(variances, distortion)


def bic(log_likelihood, n_params, n) -> float:
    """The Bayesian information criterion in nats: -log L + k/2 log n (Schwarz 1978).

    Smaller is better. Read as a code length: -log L nats for the data given the model plus
    k/2 log n nats for k parameters, each stated to the precision ~1/sqrt(n) that n points
    can resolve (Rissanen 1978).

    Parameters
    ----------
    log_likelihood : float
        The maximised log-likelihood log L, in nats.
    n_params : int
        k, the number of free parameters.
    n : int
        The number of data points.
    """
    if not isinstance(n_params, (int, np.integer)) or n_params < 0:
        raise ValueError(f"n_params must be a non-negative integer, got {n_params!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return -float(log_likelihood) + 0.5 * n_params * math.log(n)


def beta_sweep(make_model, x_train, betas, *, seed=0, **fit_kwargs) -> list:
    """Train one model per beta with :func:`vaelib.train.fit`, each from the same seed.

    Parameters
    ----------
    make_model : callable
        ``make_model()`` returns a fresh model (called after seeding, so every beta starts from
        the same weights).
    x_train : Tensor
        The training data, passed to ``fit``.
    betas : sequence of float
    **fit_kwargs
        Passed to ``fit`` (``num_epochs``, ``lr``, ``batch_size``, ``input_shape``...).

    Returns
    -------
    list of dict
        One ``{"beta", "model", "history"}`` per beta, in the order given.
    """
    if len(betas) == 0:
        raise ValueError("betas is empty; pass the KL weights to train with")
    runs = []
    for beta in betas:
        set_seed(seed)
        model = make_model()
        history = fit(model, x_train, beta=float(beta), seed=seed, **fit_kwargs)
        runs.append({"beta": float(beta), "model": model, "history": history})
    return runs


def gaussian_source(variances, num_samples, seed=0) -> torch.Tensor:
    """Draw ``num_samples`` vectors x ~ N(0, diag variances): shape (num_samples, n), float32."""
    s = _check_variances(variances)
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn(num_samples, len(s), generator=generator, dtype=torch.float64)
    return (eps * torch.from_numpy(np.sqrt(s))).float()
