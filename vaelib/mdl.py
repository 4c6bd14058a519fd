"""Minimum description length with polynomials: the two-part code, BIC, and held-out likelihood.

A model is a polynomial of some degree with Gaussian noise; its maximum-likelihood fit has
log L = -n/2 (log(2 pi sigma^2) + 1) with sigma^2 the mean squared residual. The two-part code
length to first order is BIC = -log L + k/2 log n (:func:`vaelib.rate_distortion.bic`), with k the
number of coefficients (the noise variance is a parameter of every model alike and is left out,
as in the classic line-versus-polynomial example). BIC's pick is compared with the model that
predicts fresh data from the same source best (the held-out log-likelihood).

Used in chapter 5, rate and distortion.
"""

from __future__ import annotations

import math

import numpy as np

from vaelib.rate_distortion import bic

DEGREES = (1, 5)  # a line (2 coefficients) against a degree-5 polynomial (6 coefficients)


def true_curve(x):
    """The source's regression function, f(x) = sin(2 x): neither a line nor a polynomial."""
    return np.sin(2.0 * x)


def make_data(n, noise, seed=0):
    """n points x ~ U(-1, 1), y = f(x) + noise * eps: two arrays of shape (n,)."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    return x, true_curve(x) + noise * rng.standard_normal(n)


def fit_polynomial(x, y, degree) -> dict:
    """Least-squares polynomial fit with its Gaussian maximum-likelihood noise variance.

    Returns
    -------
    dict
        ``coef`` (numpy.polyfit order), ``var`` (mean squared residual), ``log_lik`` (maximised
        log-likelihood in nats), ``n_params`` = degree + 1.
    """
    if len(x) <= degree + 1:
        raise ValueError(f"a degree-{degree} fit needs more than {degree + 1} points, got {len(x)}")
    coef = np.polyfit(x, y, degree)
    var = float(np.mean((y - np.polyval(coef, x)) ** 2))
    log_lik = -0.5 * len(x) * (math.log(2.0 * math.pi * var) + 1.0)
    return {"coef": coef, "var": var, "log_lik": log_lik, "n_params": degree + 1}


def held_out_log_lik(fit, x, y) -> float:
    """Mean log-likelihood per point of fresh data under a fitted model (nats)."""
    residual = y - np.polyval(fit["coef"], x)
    return float(np.mean(-0.5 * (math.log(2.0 * math.pi * fit["var"]) + residual**2 / fit["var"])))


def compare(x, y, x_test, y_test, degrees=DEGREES) -> dict:
    """Fit every degree; return per degree the fit, its BIC and its held-out log-likelihood."""
    out = {}
    for degree in degrees:
        fit = fit_polynomial(x, y, degree)
        out[degree] = {
            "fit": fit,
            "bic": bic(fit["log_lik"], fit["n_params"], len(x)),
            "held_out": held_out_log_lik(fit, x_test, y_test),
        }
    return out


def selection_grid(ns, noises, repeats=200, n_test=2000, seed=0, degrees=DEGREES) -> dict:
    """How often BIC picks the larger model, how often held-out data prefers it, and agreement.

    Returns
    -------
    dict of numpy arrays, shape (len(noises), len(ns))
        ``bic_picks_large``, ``held_out_prefers_large`` and ``agree`` (fractions of repeats).
    """
    small, large = degrees
    shape = (len(noises), len(ns))
    picks, prefers, agree = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, noise in enumerate(noises):
        for j, n in enumerate(ns):
            for r in range(repeats):
                x, y = make_data(int(n), noise, seed=seed + 1000 * r + j)
                x_t, y_t = make_data(n_test, noise, seed=seed + 1000 * r + j + 500_000)
                res = compare(x, y, x_t, y_t, degrees)
                by_bic = res[large]["bic"] < res[small]["bic"]
                by_test = res[large]["held_out"] > res[small]["held_out"]
                picks[i, j] += by_bic / repeats
                prefers[i, j] += by_test / repeats
                agree[i, j] += (by_bic == by_test) / repeats
    return {"bic_picks_large": picks, "held_out_prefers_large": prefers, "agree": agree}
