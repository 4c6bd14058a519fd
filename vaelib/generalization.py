"""Information and generalization: the Xu & Raginsky (2017) bound on a toy where I(S; W) is exact.

A learner sees n samples S = (x_1, ..., x_n), x_i ~ N(mu, 1), and releases
W = mean(S) + N(0, s^2) noise. W depends on S only through the mean, so

    I(S; W) = 1/2 log(1 + 1 / (n s^2))  nats.

The loss l(w, x) = 1 - exp(-(x - w)^2 / 2) lies in [0, 1], so it is 1/2-sub-Gaussian for every
w (Hoeffding's lemma), which is the assumption of Xu & Raginsky's Theorem 1:

    E[L_mu(W) - L_S(W)] <= sqrt(2 sigma^2 I(S; W) / n),  sigma = 1/2,

with the population risk L_mu(w) = 1 - exp(-(w - mu)^2 / 4) / sqrt(2) in closed form. (A squared
error on Gaussian data is not sub-Gaussian, and the bound would not apply.)

Used in chapter 5, rate and distortion.
"""

from __future__ import annotations

import math

import numpy as np
import torch

SUB_GAUSSIAN_SIGMA = 0.5  # a loss with values in [0, 1] is 1/2-sub-Gaussian


def bounded_loss(w, x):
    """l(w, x) = 1 - exp(-(x - w)^2 / 2), in [0, 1]; broadcasts."""
    return 1.0 - torch.exp(-0.5 * (x - w) ** 2)


def population_risk(w, mu=0.0):
    """L_mu(w) = E_{x ~ N(mu, 1)} l(w, x) = 1 - exp(-(w - mu)^2 / 4) / sqrt(2)."""
    return 1.0 - torch.exp(-0.25 * (w - mu) ** 2) / math.sqrt(2.0)


def mutual_information(n, noise_std) -> float:
    """I(S; W) = 1/2 log(1 + 1 / (n s^2)) nats for the noisy sample mean."""
    if not noise_std > 0:
        raise ValueError(
            f"noise_std must be positive (with no noise I(S; W) is infinite), got {noise_std!r}"
        )
    return 0.5 * math.log1p(1.0 / (n * noise_std**2))


def xu_raginsky_bound(info, n, sigma=SUB_GAUSSIAN_SIGMA) -> float:
    """sqrt(2 sigma^2 I(S; W) / n): Xu & Raginsky (2017), Theorem 1."""
    return math.sqrt(2.0 * sigma**2 * info / n)


def noisy_mean_experiment(n, noise_stds, num_draws=20000, mu=0.0, seed=0) -> dict:
    """Measure the expected generalization gap of the noisy mean over many draws of S.

    Parameters
    ----------
    n : int
        Samples per data set.
    noise_stds : sequence of float
        The standard deviations s of the released noise.
    num_draws : int
        Independent data sets (and noise draws) per noise level.

    Returns
    -------
    dict of numpy arrays, one entry per noise level
        ``info`` (exact I(S; W), nats), ``bound``, ``gap`` (mean of L_mu(W) - L_S(W)),
        ``gap_se`` (its standard error), ``test_risk`` E[L_mu(W)] and ``train_risk`` E[L_S(W)].
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    generator = torch.Generator().manual_seed(seed)
    x = mu + torch.randn(num_draws, n, generator=generator, dtype=torch.float64)  # (T, n)
    eps = torch.randn(num_draws, generator=generator, dtype=torch.float64)  # the same eps per level
    rows = {k: [] for k in ("info", "bound", "gap", "gap_se", "test_risk", "train_risk")}
    for s in noise_stds:
        w = x.mean(1) + s * eps  # (T,)
        train = bounded_loss(w[:, None], x).mean(1)  # L_S(W), (T,)
        test = population_risk(w, mu)  # L_mu(W), (T,)
        gap = test - train
        info = mutual_information(n, s)
        rows["info"].append(info)
        rows["bound"].append(xu_raginsky_bound(info, n))
        rows["gap"].append(float(gap.mean()))
        rows["gap_se"].append(float(gap.std() / math.sqrt(num_draws)))
        rows["test_risk"].append(float(test.mean()))
        rows["train_risk"].append(float(train.mean()))
    return {k: np.array(v) for k, v in rows.items()}
