"""The evidence lower bound (ELBO) and the importance-weighted bound, estimated by sampling.

For a model with prior p(z) = N(0, I), likelihood p(x | z) and an encoder
q(z | x) = N(mu, diag(exp(log_var)))::

    log p(x) = E_q[log p(x | z)] - KL(q || p(z)) + KL(q || p(z | x))     (chapter 2, eq-ch2-decomp)
    ELBO     = E_q[log p(x | z)] - KL(q || p(z))                          (reconstruction - rate)
    IWAE_K   = E[log 1/K sum_k p(x, z_k) / q(z_k | x)],  z_k ~ q          (Burda et al. 2016, eq. 8)

The estimators take the likelihood as a function ``log_likelihood(x, z)`` that maps x (B, ...)
and samples z (K, B, D) to log p(x | z) of shape (K, B): a bound method such as
``LinearGaussian.log_likelihood`` or a VAE decoder's. Log-weights are summed in float64 and
combined with ``torch.logsumexp``. Also here: the discrete joint table that explains the word
"marginal". Used in chapter 2, the ELBO.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch

from vaelib.checks import as_floats, as_tensor, check_finite, check_ndim, check_same_shape
from vaelib.losses import gaussian_nll, kl_std_normal, reduce
from vaelib.reparam import reparameterize

LogLikelihood = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def check_num_samples(num_samples) -> int:
    """Raise ``ValueError`` unless the number of samples K is an integer >= 1."""
    return _positive_int("num_samples (K)", num_samples)


def _check_q(x, mu, log_var):
    x = as_tensor("x", x)
    mu, log_var = as_floats(("mu", mu), ("log_var", log_var))
    check_ndim("mu", mu, 2, "(B, D)")
    check_same_shape("mu", mu, "log_var", log_var)
    check_finite("mu", mu)
    check_finite("log_var", log_var)
    if x.dim() == 0 or x.shape[0] != mu.shape[0]:
        raise ValueError(
            f"x has shape {tuple(x.shape)} but mu has shape {tuple(mu.shape)}; "
            "they need the same batch size B (one q per example)"
        )
    return x, mu, log_var


def log_normal_diag(z, mu, log_var) -> torch.Tensor:
    """log N(z | mu, diag(exp(log_var))), summed over the last dimension.

    z : Tensor, shape (..., B, D); mu, log_var : Tensor, shape (B, D). Returns shape (..., B).
    """
    z, mu, log_var = as_floats(("z", z), ("mu", mu), ("log_var", log_var))
    check_finite("z", z)  # named here: inside gaussian_nll, z would be called "x"
    mu, log_var = mu.expand_as(z), log_var.expand_as(z)
    return -gaussian_nll(z, mu, log_var, reduction="none").sum(-1)


def log_std_normal(z) -> torch.Tensor:
    """log N(z | 0, I), summed over the last dimension: the prior log-density."""
    z = check_finite("z", as_tensor("z", z))  # named here: inside gaussian_nll it is "x"
    return -gaussian_nll(z, torch.zeros_like(z), reduction="none").sum(-1)


def _log_lik(log_likelihood: LogLikelihood, x, z) -> torch.Tensor:
    values = log_likelihood(x, z)
    if not isinstance(values, torch.Tensor) or values.shape != z.shape[:-1]:
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(
            f"log_likelihood(x, z) must return log p(x | z) of shape (K, B) = "
            f"{tuple(z.shape[:-1])} for z of shape {tuple(z.shape)}, got {shape}; "
            "sum over the data dimensions but not over samples or examples"
        )
    return values.to(torch.float64)


def elbo_terms(log_likelihood: LogLikelihood, x, mu, log_var, num_samples: int = 1):
    """Monte Carlo reconstruction term and closed-form rate of the ELBO.

    reconstruction ~= 1/K sum_k log p(x | z_k), z_k = mu + sigma * eps_k (reparameterized),
    rate = KL(q(z | x) || N(0, I)) in closed form (Kingma & Welling 2014, eq. 10).

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(x, z)`` with z of shape (K, B, D) returns log p(x | z), shape (K, B).
    x : Tensor, shape (B, ...)
    mu, log_var : Tensor, shape (B, D)
        The encoder's q(z | x) = N(mu, diag(exp(log_var))).
    num_samples : int
        K >= 1, the samples per example.

    Returns
    -------
    reconstruction, rate : Tensor, shape (B,) each, float64
    """
    x, mu, log_var = _check_q(x, mu, log_var)
    z = reparameterize(mu, log_var, check_num_samples(num_samples))  # (K, B, D)
    reconstruction = _log_lik(log_likelihood, x, z).mean(0)
    rate = kl_std_normal(mu, log_var, reduction="none").sum(-1).to(torch.float64)
    return reconstruction, rate


def elbo(log_likelihood: LogLikelihood, x, mu, log_var, num_samples=1, reduction="none"):
    """Monte Carlo estimate of the ELBO, reconstruction - rate (see :func:`elbo_terms`).

    Unbiased for the exact ELBO; its standard deviation falls like 1 / sqrt(K).
    Returns shape (B,) for ``reduction="none"``, else reduced (see :func:`vaelib.losses.reduce`).
    """
    reconstruction, rate = elbo_terms(log_likelihood, x, mu, log_var, num_samples)
    return reduce(reconstruction - rate, reduction)


def log_importance_weights(log_likelihood: LogLikelihood, x, mu, log_var, num_samples: int):
    """log w_k = log p(x | z_k) + log p(z_k) - log q(z_k | x) for z_k ~ q; shape (K, B), float64.

    Their mean over k is an ELBO estimate; their log-mean-exp is the IWAE bound.
    """
    x, mu, log_var = _check_q(x, mu, log_var)
    z = reparameterize(mu, log_var, check_num_samples(num_samples))  # (K, B, D)
    log_p_x_z = _log_lik(log_likelihood, x, z)
    z64 = z.to(torch.float64)
    return log_p_x_z + log_std_normal(z64) - log_normal_diag(z64, mu, log_var)


def iwae_bound(log_likelihood: LogLikelihood, x, mu, log_var, num_samples, reduction="none"):
    """The importance-weighted bound with K samples (Burda et al. 2016, eq. 8).

    IWAE_K = log 1/K sum_k w_k = logsumexp_k(log w_k) - log K. Its expectation is a lower bound on
    log p(x) that never decreases with K (their Theorem 1) and reaches log p(x) as K -> infinity;
    K = 1 is the ELBO. With q = p(z) it is the naive estimate by sampling from the prior.

    Returns shape (B,) (float64) for ``reduction="none"``, else reduced.
    """
    log_w = log_importance_weights(log_likelihood, x, mu, log_var, num_samples)
    return reduce(log_mean_exp(log_w, dim=0), reduction)


def log_mean_exp(values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log(mean(exp(values))) along ``dim``, computed stably as logsumexp - log n."""
    return torch.logsumexp(values, dim=dim) - math.log(values.shape[dim])


def iwae_curve(log_likelihood: LogLikelihood, x, mu, log_var, num_samples, num_repeats: int):
    """IWAE_K estimates for one example at every K in ``num_samples``, ``num_repeats`` times each.

    Each repeat draws max(K) importance weights once and IWAE_K uses the first K of them (nested
    estimates), so the whole curve costs as much as its largest K.

    Parameters
    ----------
    x : Tensor, shape (1, ...); mu, log_var : Tensor, shape (1, D)
        One example and its q.
    num_samples : sequence of int
        The values of K, each >= 1.

    Returns
    -------
    Tensor, shape (len(num_samples), num_repeats), float64
    """
    ks = [check_num_samples(k) for k in num_samples]
    _positive_int("num_repeats", num_repeats)
    if not ks:
        raise ValueError("num_samples must list at least one K")
    k_max, rows, done = max(ks), [], 0
    chunk = max(1, 2**19 // k_max)  # repeats per call: keeps (K_max, chunk, P) tensors small
    while done < num_repeats:
        n = min(chunk, num_repeats - done)
        x_n, mu_n, log_var_n = (t.expand(n, *t.shape[1:]) for t in _one_example(x, mu, log_var))
        log_w = log_importance_weights(log_likelihood, x_n, mu_n, log_var_n, k_max)  # (K_max, n)
        rows.append(torch.stack([log_mean_exp(log_w[:k]) for k in ks]))  # (len(ks), n)
        done += n
    return torch.cat(rows, dim=1)


def kl_monte_carlo(mu, log_var, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo estimate of KL(q || N(0, I)) = E_q[log q(z) - log p(z)] and its standard error.

    mu, log_var : Tensor, shape (B, D). ``num_samples`` K >= 2. Returns (estimate, standard
    error), shape (B,) each; compare with the closed form :func:`vaelib.losses.kl_std_normal`.
    """
    if check_num_samples(num_samples) < 2:
        raise ValueError(f"num_samples (K) must be >= 2 for a standard error, got {num_samples}")
    mu = as_tensor("mu", mu)
    _, mu, log_var = _check_q(mu, mu, log_var)  # mu stands in for x: only its batch size counts
    z = reparameterize(mu, log_var, num_samples).to(torch.float64)  # (K, B, D)
    values = log_normal_diag(z, mu, log_var) - log_std_normal(z)  # (K, B)
    return values.mean(0), values.std(0) / math.sqrt(num_samples)


def _one_example(x, mu, log_var):
    x, mu, log_var = _check_q(x, mu, log_var)
    if mu.shape[0] != 1:
        raise ValueError(f"pass one example: mu must have shape (1, D), got {tuple(mu.shape)}")
    return x, mu, log_var


def repeat_estimate(
    estimator, log_likelihood: LogLikelihood, x, mu, log_var, num_samples, num_repeats
):
    """Independent runs of ``estimator`` (:func:`elbo` or :func:`iwae_bound`) for one example.

    Vectorised: the example is repeated ``num_repeats`` times along the batch.

    x : Tensor, shape (1, ...); mu, log_var : Tensor, shape (1, D). Returns shape (num_repeats,).
    """
    _positive_int("num_repeats", num_repeats)
    # (1, ...) -> (R, ...): each row is an independent estimate of the same quantity
    x, mu, log_var = (t.expand(num_repeats, *t.shape[1:]) for t in _one_example(x, mu, log_var))
    return estimator(log_likelihood, x, mu, log_var, num_samples)


def maximize_elbo(elbo_fn, mu, log_var, num_steps: int = 500, lr: float = 0.05):
    """Fit q = N(mu, diag(exp(log_var))) by gradient ascent on the ELBO (Adam).

    What training an encoder does for one x, without ever computing p(z | x).

    Parameters
    ----------
    elbo_fn : callable
        ``elbo_fn(mu, log_var)`` returns the ELBO per example, shape (B,): exact (e.g.
        ``lambda mu, log_var: model.elbo(x, mu, log_var)``) or a Monte Carlo estimate.
    mu, log_var : Tensor, shape (B, D)
        Where to start.

    Returns
    -------
    mu, log_var : Tensor, shape (B, D)
        The fitted parameters (detached).
    history : Tensor, shape (num_steps,)
        The summed ELBO at each step.
    """
    mu, log_var = as_floats(("mu", mu), ("log_var", log_var))  # integers cannot require grad
    mu = mu.detach().clone().requires_grad_(True)
    log_var = log_var.detach().clone().requires_grad_(True)
    check_same_shape("mu", mu, "log_var", log_var)
    optimizer = torch.optim.Adam([mu, log_var], lr=lr)
    history = []
    for _ in range(check_num_samples(num_steps)):
        optimizer.zero_grad()
        value = elbo_fn(mu, log_var).sum()
        (-value).backward()
        optimizer.step()
        history.append(value.detach())
    return mu.detach(), log_var.detach(), torch.stack(history)


class JointTable(NamedTuple):
    """A discrete joint p(x, z) with its margins. Rows index x, columns index z."""

    joint: torch.Tensor  # (X, Z), p(x_i, z_j)
    p_x: torch.Tensor  # (X,), the row sums: the marginal likelihood, written in the margin
    p_z: torch.Tensor  # (Z,), the column sums: the prior
    posterior: torch.Tensor  # (X, Z), p(z_j | x_i) = p(x_i, z_j) / p(x_i) (Bayes' rule)


def joint_table(prior, likelihood) -> JointTable:
    """The joint p(x, z) = p(x | z) p(z) of a discrete model, and its margins.

    Parameters
    ----------
    prior : Tensor, shape (Z,)
        p(z_j), non-negative, summing to 1.
    likelihood : Tensor, shape (X, Z)
        Column j is p(x | z_j): non-negative, each column summing to 1.
    """
    prior = check_finite("prior", as_tensor("prior", prior, dtype=torch.float64))
    likelihood = as_tensor("likelihood", likelihood, dtype=torch.float64)
    check_ndim("prior", prior, 1, "(Z,)")
    check_ndim("likelihood", likelihood, 2, "(X, Z)")
    check_finite("likelihood", likelihood)
    if likelihood.shape[1] != prior.shape[0]:
        raise ValueError(
            f"likelihood has {likelihood.shape[1]} columns but prior has {prior.shape[0]} "
            "entries; column j must be p(x | z_j)"
        )
    if (prior < 0).any() or not torch.isclose(prior.sum(), prior.new_tensor(1.0)):
        raise ValueError(f"prior must be non-negative and sum to 1, got sum {prior.sum():.6g}")
    col = likelihood.sum(0)
    if (likelihood < 0).any() or not torch.allclose(col, torch.ones_like(col)):
        raise ValueError(
            "likelihood must be non-negative with every column (a p(x | z_j)) summing to 1"
        )
    joint = likelihood * prior  # (X, Z) * (Z,) -> (X, Z)
    p_x = joint.sum(1)
    return JointTable(joint, p_x, joint.sum(0), joint / p_x[:, None])
