"""Monte Carlo gradients of an expectation: the score-function and the pathwise estimator.

We want the gradient, with respect to phi = (mu, log_var), of

    L(phi) = E_{z ~ N(mu, diag exp(log_var))} [ f(z) ]

and cannot differentiate through a plain sample. Two unbiased answers (Mohamed et al. 2020):

* the score-function (REINFORCE, log-derivative) estimator, f(z) * grad log q(z), which needs
  only values of f (Williams 1992), optionally with a baseline b subtracted from f;
* the pathwise (reparameterization) estimator, grad f(mu + sigma * eps), which needs the
  derivative of f and moves the randomness into eps ~ N(0, I) (Kingma & Welling 2014).

Both functions return one estimate built from ``num_samples`` draws, or ``num_estimates``
independent such estimates at once, so that their mean, variance and histogram can be measured.
They compute in float64. :func:`exact_grad` and :func:`quadrature_expectation` give the true
gradient to compare with. Used in chapter 3, the reparameterization trick.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch

from vaelib.checks import as_floats, as_tensor, check_finite, check_ndim, check_same_shape
from vaelib.reparam import reparameterize

DTYPE = torch.float64  # estimators work in float64: variances span many orders of magnitude


def _check_params(mu, log_var) -> tuple[torch.Tensor, torch.Tensor]:
    """mu and log_var as float64 tensors of shape (D,), checked; floats become shape (1,)."""
    mu = torch.atleast_1d(as_tensor("mu", mu, dtype=DTYPE)).detach()
    log_var = torch.atleast_1d(as_tensor("log_var", log_var, dtype=DTYPE)).detach()
    check_ndim("mu", mu, 1, "(D,)")
    check_same_shape("mu", mu, "log_var", log_var)
    check_finite("mu", mu)
    check_finite("log_var", log_var)
    return mu, log_var


def _check_counts(num_samples, num_estimates, minimum=1) -> int:
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < minimum:
        raise ValueError(f"num_samples must be an integer >= {minimum}, got {num_samples!r}")
    if num_estimates is None:
        return 1
    if not isinstance(num_estimates, int) or isinstance(num_estimates, bool) or num_estimates < 1:
        raise ValueError(f"num_estimates must be a positive integer or None, got {num_estimates!r}")
    return num_estimates


def _evaluate(f, z: torch.Tensor) -> torch.Tensor:
    """f(z) for z of shape (..., D), checked to have shape (...)."""
    fz = f(z)
    if not isinstance(fz, torch.Tensor) or fz.shape != z.shape[:-1]:
        got = tuple(fz.shape) if isinstance(fz, torch.Tensor) else type(fz).__name__
        raise ValueError(
            f"f must map z of shape (..., D) = {tuple(z.shape)} to one value per sample, shape "
            f"{tuple(z.shape[:-1])}, but returned {got}; sum over the last dimension inside f"
        )
    check_finite("f(z)", fz)
    return fz


def _shape(grads, num_estimates):
    return grads if num_estimates is not None else tuple(g[0] for g in grads)


def score_function_grad(f, mu, log_var, num_samples=1, *, num_estimates=None, baseline=None):
    """Score-function (REINFORCE) estimate of the gradient of E_q[f(z)], q = N(mu, diag sigma^2).

    With z_k ~ q and the scores of a diagonal Gaussian (chapter 3, eq. ``eq-ch3-score-gauss``)::

        grad_mu      log q(z) = (z - mu) / sigma^2
        grad_log_var log q(z) = ((z - mu)^2 / sigma^2 - 1) / 2

    the estimate is  1/K sum_k (f(z_k) - b_k) grad log q(z_k)  (Williams 1992, eq. 8;
    Mohamed et al. 2020, sec. 4). Only values of f are used: f need not be differentiable.

    Parameters
    ----------
    f : callable
        Maps z of shape (..., D) to values of shape (...).
    mu, log_var : Tensor, shape (D,)
        Mean and log-variance of q; floats are treated as D = 1.
    num_samples : int
        K, the draws averaged in one estimate.
    num_estimates : int, optional
        R: return R independent estimates stacked along a leading dimension.
    baseline : None, float or "loo"
        A control variate b subtracted from f. ``None`` is plain REINFORCE; a number is a fixed
        baseline; ``"loo"`` uses, for sample k, the mean of f over the other K - 1 samples
        (Kool et al. 2019). Both keep the estimate unbiased because E_q[grad log q] = 0 and b_k is
        independent of z_k. ``"loo"`` needs K >= 2.

    Returns
    -------
    grad_mu, grad_log_var : Tensor, shape (D,), or (R, D) with ``num_estimates``
    """
    mu, log_var = _check_params(mu, log_var)
    loo = isinstance(baseline, str)
    if loo and baseline != "loo":
        raise ValueError(f'baseline must be None, a number or "loo", got {baseline!r}')
    num = _check_counts(num_samples, num_estimates, minimum=2 if loo else 1)
    with torch.no_grad():
        z = reparameterize(mu.expand(num, -1), log_var.expand(num, -1), num_samples)  # (K, R, D)
        fz = _evaluate(f, z)  # (K, R)
        if loo:  # (sum_j f_j - f_k) / (K - 1), the mean over the other samples
            b = (fz.sum(0, keepdim=True) - fz) / (num_samples - 1)
        else:
            b = 0.0 if baseline is None else baseline
            b = as_tensor("baseline", b, dtype=DTYPE, device=mu.device)
            if b.dim() != 0:
                raise ValueError(f"a fixed baseline must be a number, got shape {tuple(b.shape)}")
            check_finite("baseline", b)
        weight = (fz - b).unsqueeze(-1)  # (K, R, 1)
        var = log_var.exp()
        score_mu = (z - mu) / var
        score_log_var = 0.5 * ((z - mu).pow(2) / var - 1.0)
        grads = ((weight * score_mu).mean(0), (weight * score_log_var).mean(0))  # (R, D) each
    return _shape(grads, num_estimates)


def pathwise_grad(f, mu, log_var, num_samples=1, *, num_estimates=None):
    """Pathwise (reparameterization) estimate of the gradient of E_q[f(z)], q = N(mu, diag sigma^2).

    Samples z = mu + sigma * eps with :func:`vaelib.reparam.reparameterize` and backpropagates
    through it (Kingma & Welling 2014, sec. 2.4; chapter 3, eq. ``eq-ch3-pathwise``)::

        grad_mu      = 1/K sum_k f'(z_k)
        grad_log_var = 1/K sum_k f'(z_k) * sigma * eps_k / 2

    Parameters
    ----------
    f : callable
        Maps z of shape (..., D) to values of shape (...); must be differentiable in torch and
        treat samples independently.
    mu, log_var : Tensor, shape (D,)
        Mean and log-variance of q; floats are treated as D = 1.
    num_samples : int
        K, the draws averaged in one estimate.
    num_estimates : int, optional
        R: return R independent estimates stacked along a leading dimension.

    Returns
    -------
    grad_mu, grad_log_var : Tensor, shape (D,), or (R, D) with ``num_estimates``
    """
    mu, log_var = _check_params(mu, log_var)
    num = _check_counts(num_samples, num_estimates)
    # One leaf per estimate, (R, D): the gradient of the sum over estimates w.r.t. leaf r is
    # estimate r's own gradient, because estimates share no samples.
    mu_r = mu.expand(num, -1).clone().requires_grad_(True)
    log_var_r = log_var.expand(num, -1).clone().requires_grad_(True)
    with torch.enable_grad():
        z = reparameterize(mu_r, log_var_r, num_samples)  # (K, R, D)
        fz = _evaluate(f, z)  # (K, R)
        if not fz.requires_grad:
            raise ValueError(
                "f(z) does not depend on z through torch operations; the pathwise "
                "estimator needs a differentiable f (use the score function)"
            )
        grads = torch.autograd.grad(fz.mean(0).sum(), (mu_r, log_var_r))
    return _shape(grads, num_estimates)


def exact_grad(expectation, mu, log_var) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of a known expectation L(mu, log_var) by autograd: the truth to compare with.

    Parameters
    ----------
    expectation : callable
        ``expectation(mu, log_var)`` returns the scalar E_q[f(z)] as a differentiable function,
        e.g. ``lambda mu, log_var: (mu**2 + log_var.exp()).sum()`` for f(z) = z^2
        (chapter 3, eq. ``eq-ch3-quadratic``), or a :func:`quadrature_expectation`.
    mu, log_var : Tensor, shape (D,)

    Returns
    -------
    grad_mu, grad_log_var : Tensor, shape (D,)
    """
    mu, log_var = _check_params(mu, log_var)
    mu, log_var = mu.clone().requires_grad_(True), log_var.clone().requires_grad_(True)
    with torch.enable_grad():
        value = expectation(mu, log_var)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ValueError("expectation(mu, log_var) must return a scalar tensor")
        grad_mu, grad_log_var = torch.autograd.grad(value.reshape(()), (mu, log_var))
    return grad_mu, grad_log_var


def quadrature_expectation(f, mu, log_var, step=0.05, width=8.0) -> torch.Tensor:
    """E_q[f(z)], q = N(mu, diag sigma^2), by the trapezoid rule over eps = (z - mu) / sigma.

    E_q[f] = sum_i w_i f(mu + sigma * eps_i) over the equally spaced points eps_i of
    [-width, width]^D with weights w_i proportional to the N(0, I) density. For f analytic near
    the real line the error falls exponentially in 1 / step (Trefethen & Weideman 2014); a
    Gauss-Hermite rule converges far more slowly for an f with features at the scale of a few
    hundredths of sigma. It is differentiable in ``mu`` and ``log_var``, so :func:`exact_grad` of
    it is the reference gradient when no closed form exists. It costs (2 width / step + 1) ** D
    evaluations of f: meant for D <= 2 (a grid of more than 2,000,000 points is refused).

    Parameters
    ----------
    f : callable
        Maps z of shape (..., D) to values of shape (...).
    mu, log_var : Tensor, shape (D,)
    step, width : float
        Grid spacing and half-width in units of sigma.

    Returns
    -------
    Tensor, shape ()
    """
    mu, log_var = as_floats(("mu", mu), ("log_var", log_var))  # keeps the autograd graph
    if mu.dim() != 1 or mu.shape != log_var.shape:
        raise ValueError(
            f"mu and log_var must both have shape (D,), got {tuple(mu.shape)} "
            f"and {tuple(log_var.shape)}"
        )
    dim = mu.shape[0]
    num = int(round(2 * width / step)) + 1
    if num**dim > 2_000_000:
        raise ValueError(f"the grid has {num}**{dim} points; use D <= 2 or a larger step")
    x = torch.linspace(-width, width, num, dtype=mu.dtype, device=mu.device)
    eps = torch.cartesian_prod(*[x] * dim).reshape(-1, dim)  # (num^D, D)
    log_w = -0.5 * eps.pow(2).sum(-1)
    w = torch.softmax(log_w, dim=0)  # the N(0, I) density on the grid, normalized to sum to 1
    z = mu + torch.exp(0.5 * log_var) * eps
    return (w * _evaluate(f, z)).sum()


@dataclass(frozen=True)
class GradientSamples:
    """R independent gradient estimates of one estimator, with their summary statistics.

    Attributes
    ----------
    grads : Tensor, shape (R, 2, D)
        Estimate r of the gradient with respect to mu (``grads[r, 0]``) and log_var
        (``grads[r, 1]``).
    """

    grads: torch.Tensor

    @property
    def mean(self) -> torch.Tensor:
        """The average estimate, shape (2, D)."""
        return self.grads.mean(0)

    @property
    def se(self) -> torch.Tensor:
        """Standard error of :attr:`mean`, shape (2, D)."""
        return self.grads.std(0) / self.grads.shape[0] ** 0.5

    @property
    def var(self) -> torch.Tensor:
        """Variance of one estimate summed over the D coordinates (the trace), shape (2,)."""
        return self.grads.var(0).sum(-1)

    def z_scores(self, truth) -> torch.Tensor:
        """(mean - truth) / se, shape (2, D): within a few units if the estimator is unbiased."""
        return (self.mean - torch.stack(tuple(truth))) / self.se


ESTIMATORS = {
    "score function": score_function_grad,
    "score function + baseline": partial(score_function_grad, baseline="loo"),
    "pathwise": pathwise_grad,
}


def measure(estimator, f, mu, log_var, num_samples, num_estimates) -> GradientSamples:
    """Run ``estimator`` (e.g. a value of :data:`ESTIMATORS`) ``num_estimates`` times.

    Parameters
    ----------
    estimator : callable
        ``estimator(f, mu, log_var, num_samples, num_estimates=R)`` returning two (R, D) tensors.
    f, mu, log_var, num_samples
        As for :func:`score_function_grad`.
    num_estimates : int
        R >= 2, the independent estimates to collect.

    Returns
    -------
    GradientSamples
    """
    if not isinstance(num_estimates, int) or num_estimates < 2:
        raise ValueError(
            f"num_estimates must be an integer >= 2 to measure a variance, got {num_estimates!r}"
        )
    grad_mu, grad_log_var = estimator(f, mu, log_var, num_samples, num_estimates=num_estimates)
    return GradientSamples(torch.stack((grad_mu, grad_log_var), dim=1))  # (R, 2, D)
