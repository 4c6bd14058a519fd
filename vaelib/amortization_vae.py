"""The amortization gap of a VAE, estimated by sampling (Cremer, Li & Duvenaud 2018).

For each image, q* (the best diagonal Gaussian) is approximated by gradient ascent on a Monte
Carlo ELBO from the encoder's output (:func:`optimize_q`); log p(x) is estimated by importance
sampling with q* as the proposal, and both ELBOs by sampling, each with its standard error
(:func:`estimate_gaps`). The split itself is :class:`vaelib.amortization.GapSplit`.

Used in chapter 4, section 4.2 (the amortization gap).
"""

from __future__ import annotations

import contextlib
import math
from typing import NamedTuple

import torch
from torch import nn

from vaelib.amortization import GapSplit
from vaelib.checks import as_tensor, check_finite, check_ndim, check_same_shape
from vaelib.elbo import elbo, log_importance_weights, maximize_elbo
from vaelib.train import evaluating


def _check_q(x, mu, log_var):
    mu = check_finite("mu", as_tensor("mu", mu))
    log_var = check_finite("log_var", as_tensor("log_var", log_var))
    check_ndim("mu", mu, 2, "(B, D)")
    check_same_shape("mu", mu, "log_var", log_var)
    if len(x) == 0:
        raise ValueError("x holds no examples: pass a batch of at least one image")
    if len(x) != len(mu):
        raise ValueError(f"x has {len(x)} examples but mu has {len(mu)} rows: one q per example")
    return mu, log_var


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def optimize_q(
    model, x, mu, log_var, *, num_steps, lr=1e-2, num_samples=1, batch_size=100, seed=0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit a diagonal Gaussian q per image by gradient ascent on its ELBO, from (mu, log_var).

    The ELBO is the Monte Carlo estimate of :func:`vaelib.elbo.elbo` (``num_samples``
    reparameterized samples, closed-form KL) and the ascent is :func:`vaelib.elbo.maximize_elbo`
    (Adam), run on ``batch_size`` images at a time with the model's weights frozen. The result
    approximates q* of Cremer et al. (2018), sec. 3 (their "optimal" q, FFG family).

    Parameters
    ----------
    model : VAE
        Any model with ``log_likelihood(x, z)``, z (K, B, D) -> (K, B).
    x : Tensor, shape (N, 1, 28, 28)
    mu, log_var : Tensor, shape (N, D)
        The starting point, usually the encoder's output.
    num_steps : int
        Adam steps per image.

    Returns
    -------
    mu, log_var : Tensor, shape (N, D)
        The fitted q per image (detached, on the CPU).
    """
    mu, log_var = _check_q(x, mu, log_var)
    _positive_int("num_steps", num_steps)
    _positive_int("num_samples", num_samples)
    device = next(model.parameters()).device
    fitted_mu, fitted_log_var = [], []
    with evaluating(model), frozen(model), torch.random.fork_rng(devices=_rng_devices(device)):
        torch.manual_seed(seed)
        with torch.enable_grad():
            for xb, mb, lb in zip(
                x.split(batch_size), mu.split(batch_size), log_var.split(batch_size)
            ):
                xb = xb.to(device)

                def elbo_fn(m, lv, xb=xb):
                    return elbo(model.log_likelihood, xb, m, lv, num_samples)

                m, lv, _ = maximize_elbo(elbo_fn, mb.to(device), lb.to(device), num_steps, lr)
                fitted_mu.append(m.cpu())
                fitted_log_var.append(lv.cpu())
    return torch.cat(fitted_mu), torch.cat(fitted_log_var)


def optimization_path(model, x, mu, log_var, steps, **kwargs) -> list:
    """The fitted q after each number of steps in ``steps`` (increasing), by chaining
    :func:`optimize_q` (each leg restarts Adam from where the last one stopped).

    Returns a list of (mu, log_var) pairs, one per entry of ``steps``; a 0 keeps the start.
    ``kwargs`` go to :func:`optimize_q` (lr, num_samples, batch_size, seed).
    """
    steps = list(steps)
    if not steps or any(b <= a for a, b in zip(steps, steps[1:])) or steps[0] < 0:
        raise ValueError(f"steps must be a non-empty increasing list of counts >= 0, got {steps}")
    path, done, q = [], 0, (mu, log_var)
    base_seed = kwargs.pop("seed", 0)
    for leg, target in enumerate(steps):
        if target > done:
            q = optimize_q(model, x, *q, num_steps=target - done, seed=base_seed + leg, **kwargs)
            done = target
        path.append(q)
    return path


def elbo_estimate(model, x, mu, log_var, *, num_samples, batch_size=50, chunk=250, seed=0):
    """The ELBO per image as the mean of ``num_samples`` log-weights, and its standard error.

    Returns two Tensors of shape (N,), float64, in nats.
    """
    mu, log_var = _check_q(x, mu, log_var)
    _positive_int("num_samples", num_samples)
    device = next(model.parameters()).device
    means, errors = [], []
    with evaluating(model), torch.random.fork_rng(devices=_rng_devices(device)):
        torch.manual_seed(seed)
        for i in range(0, len(x), batch_size):
            part = slice(i, i + batch_size)
            log_w = _log_weights(
                model, x[part].to(device), mu[part], log_var[part], num_samples, chunk
            )
            mean, se = _mean_and_se(log_w)
            means.append(mean.cpu())
            errors.append(se.cpu())
    return torch.cat(means), torch.cat(errors)


class GapEstimate(NamedTuple):
    """Monte Carlo estimates per image (shape (N,), float64, nats) with their standard errors.

    ``log_evidence`` uses the optimised q as proposal and shares its samples with
    ``elbo_optimal``; ``log_evidence_encoder`` is an independent estimate with the encoder's q
    as proposal (a check that the importance sampler has converged).
    """

    split: GapSplit
    log_evidence_se: torch.Tensor
    elbo_optimal_se: torch.Tensor
    elbo_amortized_se: torch.Tensor
    log_evidence_encoder: torch.Tensor
    log_evidence_encoder_se: torch.Tensor
    num_samples: int

    @property
    def total_se(self) -> torch.Tensor:
        """Standard error of log p(x) - ELBO(q_phi) (independent samples: added in quadrature)."""
        return torch.sqrt(self.log_evidence_se**2 + self.elbo_amortized_se**2)

    @property
    def approximation_se(self) -> torch.Tensor:
        """Standard error of the approximation gap, added in quadrature; the two estimates share
        their samples and are positively correlated, so this overstates it."""
        return torch.sqrt(self.log_evidence_se**2 + self.elbo_optimal_se**2)

    @property
    def amortization_se(self) -> torch.Tensor:
        """Standard error of the amortization gap (independent samples: added in quadrature)."""
        return torch.sqrt(self.elbo_optimal_se**2 + self.elbo_amortized_se**2)


def _log_weights(model, x, mu, log_var, num_samples, chunk):
    """log w (K, B) for q = N(mu, diag exp(log_var)), drawn ``chunk`` samples at a time."""
    pieces, left = [], num_samples
    while left > 0:
        k = min(chunk, left)
        pieces.append(log_importance_weights(model.log_likelihood, x, mu, log_var, k))
        left -= k
    return torch.cat(pieces)  # (K, B), float64


def _mean_and_se(log_w):
    """The ELBO estimate mean_k log w_k and its standard error; (K, B) -> (B,), (B,)."""
    return log_w.mean(0), log_w.std(0) / math.sqrt(log_w.shape[0])


def _log_mean_exp_and_se(log_w):
    """log mean_k w_k and its delta-method standard error sd(w) / (sqrt(K) mean(w)); (B,) each."""
    num = log_w.shape[0]
    log_mean = torch.logsumexp(log_w, dim=0) - math.log(num)
    ratio = torch.exp(log_w - log_w.max(0).values)  # w / max w, in (0, 1]
    return log_mean, ratio.std(0) / (ratio.mean(0) * math.sqrt(num))


def estimate_gaps(
    model, x, encoder_q, optimal_q, *, num_samples, batch_size=50, chunk=250, seed=0
) -> GapEstimate:
    """Estimate log p(x), ELBO(q*) and ELBO(q_phi) per image with ``num_samples`` samples each.

    log p(x) ~= log 1/K sum_k w_k with w_k = p(x, z_k) / q*(z_k | x), z_k ~ q* (importance
    sampling, Burda et al. 2016, eq. 8; log-sum-exp in float64). Its standard error is the delta
    method's sd(w) / (sqrt(K) mean(w)); it is biased low by about chi^2(p || q*) / 2K, so the
    approximation gap is, if anything, underestimated. Each ELBO is the mean of log w_k under its
    own q, with standard error sd(log w) / sqrt(K).

    Parameters
    ----------
    model : VAE
    x : Tensor, shape (N, 1, 28, 28)
    encoder_q, optimal_q : tuple of Tensor, shape (N, D) each
        (mu, log_var) of the encoder's q and of the optimised q.
    num_samples : int
        K per image and per q.

    Returns
    -------
    GapEstimate
    """
    enc_mu, enc_log_var = _check_q(x, *encoder_q)
    opt_mu, opt_log_var = _check_q(x, *optimal_q)
    check_same_shape("encoder mu", enc_mu, "optimal mu", opt_mu)
    _positive_int("num_samples", num_samples)
    device = next(model.parameters()).device
    out = {k: [] for k in ("lp", "lp_se", "opt", "opt_se", "enc", "enc_se", "lpe", "lpe_se")}
    with evaluating(model), torch.random.fork_rng(devices=_rng_devices(device)):
        torch.manual_seed(seed)
        for i in range(0, len(x), batch_size):
            part = slice(i, i + batch_size)
            xb = x[part].to(device)
            log_w = _log_weights(model, xb, opt_mu[part], opt_log_var[part], num_samples, chunk)
            for key, value in zip(("lp", "lp_se"), _log_mean_exp_and_se(log_w)):
                out[key].append(value.cpu())
            for key, value in zip(("opt", "opt_se"), _mean_and_se(log_w)):
                out[key].append(value.cpu())
            log_w = _log_weights(model, xb, enc_mu[part], enc_log_var[part], num_samples, chunk)
            for key, value in zip(("enc", "enc_se"), _mean_and_se(log_w)):
                out[key].append(value.cpu())
            for key, value in zip(("lpe", "lpe_se"), _log_mean_exp_and_se(log_w)):
                out[key].append(value.cpu())
    cat = {k: torch.cat(v) for k, v in out.items()}
    return GapEstimate(
        GapSplit(cat["lp"], cat["opt"], cat["enc"]),
        cat["lp_se"],
        cat["opt_se"],
        cat["enc_se"],
        cat["lpe"],
        cat["lpe_se"],
        num_samples,
    )


def mean_with_se(values, se) -> tuple[float, float]:
    """The mean over images of a per-image estimate and its Monte Carlo standard error,
    sqrt(sum se_i^2) / N (the draws of different images are independent); (N,), (N,) -> floats."""
    values, se = as_tensor("values", values), as_tensor("se", se)
    check_same_shape("values", values, "se", se)
    if values.numel() == 0:
        raise ValueError("values is empty: pass one estimate per image")
    return values.mean().item(), (se.pow(2).sum().sqrt() / values.numel()).item()


@contextlib.contextmanager
def frozen(model: nn.Module):
    """Hold a model's weights fixed (no gradients for them) inside a block, then restore."""
    flags = [p.requires_grad for p in model.parameters()]
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        yield model
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)


def _rng_devices(device: torch.device) -> list:
    return [device] if device.type == "cuda" else []
