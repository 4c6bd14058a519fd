"""Gaussian negative log-likelihood and KL divergences between diagonal Gaussians.

Used in chapter 1 (Gaussian NLL), chapter 2 (the ELBO) and chapter 4 (the VAE loss).
"""

from __future__ import annotations

import math

import torch

from vaelib.checks import (
    as_floats,
    as_tensor,
    check_broadcast,
    check_finite,
    check_positive,
    check_reduction,
    check_same_shape,
)

LOG_2PI = math.log(2.0 * math.pi)


def reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce elementwise losses.

    ``"none"`` keeps the shape; ``"sum"`` and ``"mean"`` reduce over every element;
    ``"batchmean"`` sums over all but the first (batch) dimension and averages over the batch,
    the per-example convention of a VAE loss (nats per image).
    """
    check_reduction(reduction)
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean":
        return values.mean()
    # (B, ...) -> (B,) -> scalar
    return values.reshape(values.shape[0], -1).sum(dim=1).mean() if values.dim() else values


def _log_var_from(x: torch.Tensor, log_var, var) -> torch.Tensor:
    if var is not None and log_var is not None:
        raise ValueError("pass either log_var or var, not both")
    if var is not None:
        var = as_tensor("var", var, dtype=x.dtype, device=x.device)
        check_positive("var", var)
        log_var = torch.log(var)
    log_var = 0.0 if log_var is None else log_var
    log_var = as_tensor("log_var", log_var, dtype=x.dtype, device=x.device)
    check_finite("log_var", log_var)
    check_broadcast("x", x, "log_var", log_var)
    return log_var


def gaussian_nll(x, mu, log_var=None, *, var=None, reduction="mean", const=True) -> torch.Tensor:
    """Negative log-likelihood of ``x`` under a diagonal Gaussian N(mu, sigma^2).

    Elementwise (chapter 1, eq. ``nll``)::

        -log N(x | mu, sigma^2) = 1/2 log(2 pi) + 1/2 log sigma^2 + (x - mu)^2 / (2 sigma^2)

    the constant, the log-sigma "uncertainty penalty" and the error term.

    Parameters
    ----------
    x, mu : Tensor, same shape (B, ...)
        Targets and predicted means.
    log_var : Tensor or float, optional
        log sigma^2, broadcastable to ``x``; 0 (sigma = 1) when neither it nor ``var`` is given.
        A float gives the fixed-variance case; a tensor from a network the learned case.
    var : Tensor or float, optional
        sigma^2 itself, strictly positive; an alternative to ``log_var``.
    reduction : {"none", "sum", "mean", "batchmean"}
        See :func:`reduce`.
    const : bool
        Include the 1/2 log(2 pi) constant (``torch.nn.GaussianNLLLoss`` leaves it out).

    Returns
    -------
    Tensor
        The NLL in nats, reduced as asked.
    """
    x, mu = as_floats(("x", x), ("mu", mu))  # integer x: computed in floats, not truncated
    check_same_shape("x", x, "mu", mu)
    check_finite("x", x)
    check_finite("mu", mu)
    log_var = _log_var_from(x, log_var, var)
    # 1 / sigma^2, capped at the largest float: exp(-log_var) overflows in float32 for
    # log_var < -88, and 0 * inf would turn an exact fit (x == mu) into NaN.
    inv_var = torch.exp(-log_var).clamp(max=torch.finfo(x.dtype).max)
    nll = 0.5 * (log_var + (x - mu).pow(2) * inv_var)
    if const:
        nll = nll + 0.5 * LOG_2PI
    return reduce(nll, reduction)


def _check_gaussian(mu, log_var, prefix=""):
    mu, log_var = as_floats((f"mu{prefix}", mu), (f"log_var{prefix}", log_var))
    check_same_shape(f"mu{prefix}", mu, f"log_var{prefix}", log_var)
    check_finite(f"mu{prefix}", mu)
    check_finite(f"log_var{prefix}", log_var)
    return mu, log_var


def kl_std_normal(mu, log_var, reduction="batchmean") -> torch.Tensor:
    """KL( N(mu, diag(exp(log_var))) || N(0, I) ) in closed form.

    Kingma & Welling (2014), Appendix B, elementwise::

        1/2 (mu^2 + sigma^2 - 1 - log sigma^2)

    Parameters
    ----------
    mu, log_var : Tensor, shape (B, D)
        The encoder's outputs.
    reduction : {"none", "sum", "mean", "batchmean"}
        ``"batchmean"`` (the default) sums over latent dimensions and averages over the batch.

    Returns
    -------
    Tensor
        The KL in nats. Used in chapters 2 and 4.
    """
    mu, log_var = _check_gaussian(mu, log_var)
    kl = 0.5 * (mu.pow(2) + torch.exp(log_var) - 1.0 - log_var)
    return reduce(kl, reduction)


def kl_normal(mu_q, log_var_q, mu_p, log_var_p, reduction="batchmean") -> torch.Tensor:
    """KL( N(mu_q, diag sigma_q^2) || N(mu_p, diag sigma_p^2) ) in closed form.

    Elementwise::

        1/2 (log sigma_p^2 - log sigma_q^2 + (sigma_q^2 + (mu_q - mu_p)^2) / sigma_p^2 - 1)

    Parameters
    ----------
    mu_q, log_var_q : Tensor, shape (B, D)
        The approximating distribution q.
    mu_p, log_var_p : Tensor, broadcastable to (B, D)
        The reference distribution p.
    reduction : {"none", "sum", "mean", "batchmean"}

    Returns
    -------
    Tensor
        The KL in nats. With ``mu_p = 0`` and ``log_var_p = 0`` it equals :func:`kl_std_normal`.
    """
    mu_q, log_var_q = _check_gaussian(mu_q, log_var_q, "_q")
    mu_p = as_tensor("mu_p", mu_p, dtype=mu_q.dtype, device=mu_q.device)
    log_var_p = as_tensor("log_var_p", log_var_p, dtype=mu_q.dtype, device=mu_q.device)
    for name, t in (("mu_p", mu_p), ("log_var_p", log_var_p)):
        check_finite(name, t)
        check_broadcast("mu_q", mu_q, name, t)
    kl = 0.5 * (
        log_var_p
        - log_var_q
        + (torch.exp(log_var_q) + (mu_q - mu_p).pow(2)) * torch.exp(-log_var_p)
        - 1.0
    )
    return reduce(kl, reduction)
