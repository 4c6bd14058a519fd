"""How much information a VAE's code carries: the rate split into I_q(X; Z) and KL(q(z) || p(z)).

Over a finite data set {x_1, ..., x_N} with encoder q(z | x_n) = N(mu_n, diag sigma_n^2), the
aggregate posterior is the mixture q(z) = (1/N) sum_n q(z | x_n), and the rate splits exactly
(Hoffman & Johnson 2016):

    R = (1/N) sum_n KL(q(z | x_n) || p(z)) = I_q(X; Z) + KL(q(z) || p(z)),
    I_q(X; Z) = (1/N) sum_n E_{q(z | x_n)}[log q(z | x_n) - log q(z)].

Since q(z) >= q(z | x_n) / N, every term of I_q is at most log N: a code cannot carry more
information about which of N images it came from than log N nats. The same mixture machinery
gives I_q(Y; Z), the information about a label y (:func:`label_information`).

Used in chapter 5, rate and distortion.
"""

from __future__ import annotations

import math

import torch

from vaelib.checks import check_ndim, check_same_shape
from vaelib.losses import kl_std_normal

LOG_2PI = math.log(2.0 * math.pi)


def _check_codes(mu, log_var):
    check_ndim("mu", mu, 2, "(N, D)")
    check_same_shape("mu", mu, "log_var", log_var)
    if len(mu) < 2:
        raise ValueError(f"need the codes of at least 2 data points, got {len(mu)}")
    return mu.double(), log_var.double()


def diag_normal_log_prob(z, mu, log_var) -> torch.Tensor:
    """log N(z_m; mu_n, diag sigma_n^2) for every pair: z (M, D), mu (N, D) -> (M, N), float64."""
    # (z_md - mu_nd)^2 / s_nd directly, (M, N, D): the expanded form loses digits when the codes
    # lie far from 0 with tiny variances; callers pass z in chunks to bound the memory
    quad = ((z[:, None, :] - mu[None]).pow(2) * (-log_var).exp()[None]).sum(-1)  # (M, N)
    return -0.5 * (quad + log_var.sum(1) + mu.shape[1] * LOG_2PI)


def _sample_codes(mu, log_var, num_samples, seed):
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn((num_samples, *mu.shape), generator=generator, dtype=torch.float64)
    return mu + (0.5 * log_var).exp() * eps  # (S, N, D)


def rate_decomposition(mu, log_var, num_samples: int = 4, seed: int = 0, chunk: int = 64):
    """The rate and its split into I_q(X; Z) and KL(q(z) || p(z)), estimated by Monte Carlo.

    Parameters
    ----------
    mu, log_var : Tensor, shape (N, D)
        The encoder's outputs for N data points (e.g. from :func:`vaelib.latent.encode_dataset`).
    num_samples : int
        Samples of z per data point. log q(z) is the exact mixture density (a logsumexp over
        all N components), so the only noise is that of the samples.
    seed : int
        Seeds a private generator; the global random state is untouched.

    Returns
    -------
    dict of float
        ``rate`` (closed form, nats), ``mutual_info`` and ``marginal_kl`` (Monte Carlo, their
        sum estimates the rate), ``mutual_info_se`` (standard error), and ``log_n`` = log N.
    """
    mu, log_var = _check_codes(mu, log_var)
    n = len(mu)
    z = _sample_codes(mu, log_var, num_samples, seed)  # (S, N, D)
    own = -0.5 * (((z - mu) ** 2) / log_var.exp() + log_var + LOG_2PI).sum(-1)  # (S, N)
    prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)  # (S, N)
    flat = z.reshape(-1, mu.shape[1])  # (S, N, D) -> (S * N, D)
    mixture = torch.cat(
        [
            torch.logsumexp(diag_normal_log_prob(part, mu, log_var), dim=1) - math.log(n)
            for part in flat.split(chunk)
        ]
    ).reshape(own.shape)  # log q(z), (S, N)
    info_terms = (own - mixture).mean(0)  # (N,), each <= log N
    return {
        "rate": float(kl_std_normal(mu, log_var, reduction="batchmean")),
        "mutual_info": float(info_terms.mean()),
        "mutual_info_se": float(info_terms.std() / math.sqrt(n)),
        "marginal_kl": float((mixture - prior).mean()),
        "log_n": math.log(n),
    }


def label_information(mu, log_var, y, num_samples: int = 4, seed: int = 0, chunk: int = 64):
    """I_q(Y; Z): how much the code says about a label y, by the same mixture estimate.

    q(z | y = k) is the mixture of the posteriors of the data points with label k, and
    I_q(Y; Z) = E[log q(z | y) - log q(z)] <= H(Y) <= log K for K classes.

    Parameters
    ----------
    mu, log_var : Tensor, shape (N, D)
    y : Tensor, shape (N,)
        Integer labels.

    Returns
    -------
    dict of float
        ``label_info`` (nats), ``label_entropy`` H(Y) of the empirical labels, ``log_classes``.
    """
    mu, log_var = _check_codes(mu, log_var)
    if y.shape != (len(mu),):
        raise ValueError(f"y has shape {tuple(y.shape)}; expected ({len(mu)},), one label per row")
    classes, index, counts = torch.unique(y, return_inverse=True, return_counts=True)
    z = _sample_codes(mu, log_var, num_samples, seed).reshape(-1, mu.shape[1])  # (S * N, D)
    labels = index.repeat(num_samples)  # (S * N,), the label of each sample's data point
    log_counts = counts.double().log()
    terms = []
    for part, lab in zip(z.split(chunk), labels.split(chunk)):
        log_q = diag_normal_log_prob(part, mu, log_var)  # (M, N)
        per_class = (
            torch.stack(
                [torch.logsumexp(log_q[:, index == k], dim=1) for k in range(len(classes))], dim=1
            )
            - log_counts
        )  # log q(z | y = k), (M, K)
        marginal = torch.logsumexp(per_class + (log_counts - math.log(len(mu))), dim=1)
        terms.append(per_class.gather(1, lab[:, None]).squeeze(1) - marginal)
    p = counts.double() / len(mu)
    return {
        "label_info": float(torch.cat(terms).mean()),
        "label_entropy": float(-(p * p.log()).sum()),
        "log_classes": math.log(len(classes)),
    }
