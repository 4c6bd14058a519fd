"""The exact variance of the score-function estimator, to compare its measured variance with.

For q = N(mu, diag sigma^2) (one sigma per coordinate) and z = mu + sigma * eps, one sample of the
score-function estimate of grad_mu E_q[f] is f(z) * eps / sigma (chapter 3, eq.
``eq-ch3-score-gauss``). Its variance, summed over the D coordinates of mu and averaged over K
independent samples, is

    Var = ( E_q[ f(z)^2 sum_d eps_d^2 / sigma_d^2 ] - |grad_mu E_q[f]|^2 ) / K

(Mohamed et al. 2020, sec. 4.3). As sigma shrinks, f(z) -> f(mu) and the first term grows like
f(mu)^2 D / sigma^2: the 1/sigma^2 law of the score function. Used in chapter 3.
"""

from __future__ import annotations

import torch

from vaelib.estimators.gradients import _check_params, exact_grad, quadrature_expectation


def score_function_variance(f, mu, log_var, num_samples=1, step=0.05, width=8.0) -> torch.Tensor:
    """Exact variance (trace over mu's coordinates) of the plain score-function estimate of grad_mu.

    Both expectations are computed by :func:`quadrature_expectation` on a grid of eps, so this is
    meant for D <= 2, like the quadrature itself.

    Parameters
    ----------
    f : callable
        Maps z of shape (..., D) to values of shape (...).
    mu, log_var : Tensor, shape (D,)
        Mean and log-variance of q; floats are treated as D = 1.
    num_samples : int
        K, the draws averaged in one estimate (the variance is divided by K).
    step, width : float
        Grid spacing and half-width of the quadrature, in units of sigma.

    Returns
    -------
    Tensor, shape ()
        The variance of one estimate, summed over the D coordinates, in float64.
    """
    mu, log_var = _check_params(mu, log_var)
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    var = log_var.exp()

    def squared_weight(z):  # f(z)^2 sum_d (z_d - mu_d)^2 / sigma_d^4, shape (...)
        return f(z).pow(2) * ((z - mu).pow(2) / var.pow(2)).sum(-1)

    second_moment = quadrature_expectation(squared_weight, mu, log_var, step=step, width=width)
    grad_mu, _ = exact_grad(
        lambda m, lv: quadrature_expectation(f, m, lv, step=step, width=width), mu, log_var
    )
    return (second_moment - grad_mu.pow(2).sum()) / num_samples
