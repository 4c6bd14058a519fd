"""The rate split R = I_q(X; Z) + KL(q(z) || p(z)) and the label information (chapter 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import trapezoid

from vaelib.code_information import label_information, rate_decomposition

MU = torch.tensor([[-1.5], [0.2], [1.0]], dtype=torch.float64)
LOG_VAR = torch.tensor([[-1.0], [-2.0], [0.3]], dtype=torch.float64)


def quadrature_terms():
    """I_q, KL(q(z) || p(z)) and the rate of a 1-D, 3-point model by numerical integration."""
    z = np.linspace(-12, 12, 200_001)
    mu, var = MU.numpy()[:, 0], LOG_VAR.exp().numpy()[:, 0]
    comp = (
        np.exp(-0.5 * (z[None] - mu[:, None]) ** 2 / var[:, None])
        / np.sqrt(2 * np.pi * var)[:, None]
    )
    q = comp.mean(0)
    p = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        info = np.mean([trapezoid(np.where(c > 0, c * np.log(c / q), 0.0), z) for c in comp])
        marginal_kl = trapezoid(np.where(q > 0, q * np.log(q / p), 0.0), z)
    rate = np.mean(0.5 * (mu**2 + var - 1 - np.log(var)))
    return info, marginal_kl, rate


def test_the_split_holds_to_rounding():
    info, marginal_kl, rate = quadrature_terms()
    assert info + marginal_kl == pytest.approx(rate, abs=1e-8)
    assert 0 < info < math.log(3)


def test_monte_carlo_estimates_match_quadrature():
    info, marginal_kl, rate = quadrature_terms()
    mu, log_var = MU.repeat(50, 1), LOG_VAR.repeat(50, 1)  # 150 points: 50 copies of each
    out = rate_decomposition(mu, log_var, num_samples=200, seed=0)
    # 50 copies of 3 points: q(z) is the same mixture, I_q is the same, log N is log 150
    assert out["rate"] == pytest.approx(rate, abs=1e-12)
    assert out["mutual_info"] == pytest.approx(info, abs=4 * out["mutual_info_se"] + 5e-3)
    assert out["mutual_info"] + out["marginal_kl"] == pytest.approx(rate, abs=2e-2)


def test_information_never_exceeds_log_n():
    # far-apart points with tiny variance: every code identifies its point, I_q -> log N
    mu = torch.arange(50, dtype=torch.float64)[:, None].repeat(1, 2) * 100
    log_var = torch.full_like(mu, -10.0)
    out = rate_decomposition(mu, log_var, num_samples=2)
    assert out["mutual_info"] <= out["log_n"] + 1e-12
    assert out["mutual_info"] == pytest.approx(math.log(50), abs=1e-9)


def test_label_information_is_at_most_the_label_entropy():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (300,), generator=g)
    mu = 10.0 * y[:, None].double() + torch.randn(300, 2, generator=g, dtype=torch.float64)
    out = label_information(mu, torch.zeros(300, 2, dtype=torch.float64), y)
    assert out["label_info"] <= out["label_entropy"] + 1e-9
    assert out["label_info"] == pytest.approx(out["label_entropy"], abs=1e-3)  # separated classes
    mixed = label_information(mu[torch.randperm(300, generator=g)], torch.zeros(300, 2), y)
    assert mixed["label_info"] < 0.1  # codes shuffled against labels say little about them
    with pytest.raises(ValueError, match="one label per row"):
        label_information(mu, torch.zeros(300, 2), y[:10])
