"""The reparameterization trick: z = mu + sigma * eps, eps ~ N(0, I).

Used in chapter 3 (gradients through a sampling node) and chapter 4 (the VAE).
"""

from __future__ import annotations

import torch

from vaelib.checks import as_floats, check_finite, check_same_shape

# The one documented place where log-variances are clamped. exp(-30/2) ~ 3e-7 and
# exp(20/2) ~ 2e4 bound sigma far from 0 and infinity, so exp(log_var) neither underflows to a
# zero variance nor overflows, while leaving every value a trained model uses untouched.
LOG_VAR_MIN, LOG_VAR_MAX = -30.0, 20.0


def clamp_log_var(log_var: torch.Tensor) -> torch.Tensor:
    """Clamp a predicted log-variance to [LOG_VAR_MIN, LOG_VAR_MAX] (see the note above)."""
    return log_var.clamp(LOG_VAR_MIN, LOG_VAR_MAX)


def reparameterize(mu, log_var, num_samples: int | None = None) -> torch.Tensor:
    """Draw z ~ N(mu, diag(exp(log_var))) as a differentiable function of mu and log_var.

    z = mu + exp(log_var / 2) * eps with eps ~ N(0, I) (Kingma & Welling 2014, sec. 2.4): the
    randomness sits in eps, outside the parameters, so gradients flow to mu and log_var.

    Parameters
    ----------
    mu, log_var : Tensor, shape (B, D)
        Mean and log-variance (any matching shape works).
    num_samples : int, optional
        Draw this many samples per distribution: the result gets a leading dimension.

    Returns
    -------
    Tensor
        Shape of ``mu``, or (num_samples, *mu.shape).
    """
    mu, log_var = as_floats(("mu", mu), ("log_var", log_var))  # integers: drawn in floats
    check_same_shape("mu", mu, "log_var", log_var)
    check_finite("mu", mu)
    check_finite("log_var", log_var)
    shape = mu.shape
    if num_samples is not None:
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
        shape = (num_samples, *mu.shape)
    eps = torch.randn(shape, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * log_var) * eps
