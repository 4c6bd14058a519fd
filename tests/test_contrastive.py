"""InfoNCE: at most log K for any critic, close to the truth with the optimal critic (chapter 5)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vaelib.estimators.contrastive import (
    correlated_gaussians,
    gaussian_critic_scores,
    gaussian_mi,
    infonce,
    infonce_batches,
    rho_for_mi,
    train_critic,
)


def test_matches_cross_entropy_form():
    scores = torch.randn(7, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ce = F.cross_entropy(scores, torch.arange(7))
    assert infonce(scores).item() == pytest.approx(math.log(7) - ce.item(), abs=1e-12)


@pytest.mark.parametrize("k", [2, 5, 64])
def test_never_exceeds_log_k_for_any_critic(k):
    g = torch.Generator().manual_seed(k)
    scores = 50.0 * torch.randn(200, k, k, generator=g, dtype=torch.float64)
    scores = scores + 1e3 * torch.eye(k, dtype=torch.float64)  # a critic that "knows" the pairs
    assert (infonce_batches(scores) <= math.log(k) + 1e-12).all()
    assert infonce_batches(scores).max().item() == pytest.approx(math.log(k), abs=1e-9)


def test_optimal_critic_is_the_log_density_ratio():
    rho, dim = 0.6, 3
    x, y = correlated_gaussians(5, rho, dim, seed=1)
    scores = gaussian_critic_scores(x, y, rho)
    cond = torch.distributions.Normal(rho * x[:, None, :], math.sqrt(1 - rho**2))
    marginal = torch.distributions.Normal(0.0, 1.0)
    expected = (cond.log_prob(y[None, :, :]) - marginal.log_prob(y[None, :, :])).sum(-1)
    assert torch.allclose(scores, expected, atol=1e-10)


def test_optimal_critic_matches_the_true_mi_within_its_standard_error():
    dim, mi, k = 2, 0.3, 512
    rho = rho_for_mi(mi, dim)
    assert gaussian_mi(rho, dim) == pytest.approx(mi)
    x, y = correlated_gaussians(k, rho, dim, batch_shape=(40,), seed=2)
    estimates = infonce_batches(gaussian_critic_scores(x, y, rho))
    se = estimates.std().item() / math.sqrt(len(estimates))
    assert abs(estimates.mean().item() - mi) < 3 * se + 1e-3


def test_saturates_at_log_k_when_the_mi_is_large():
    dim, k = 8, 16
    rho = rho_for_mi(12.0, dim)
    x, y = correlated_gaussians(k, rho, dim, batch_shape=(50,), seed=3)
    estimate = infonce_batches(gaussian_critic_scores(x, y, rho)).mean().item()
    assert math.log(k) - 0.05 < estimate <= math.log(k)


def test_a_trained_critic_learns_a_positive_bound():
    rho = rho_for_mi(1.0, 4)
    critic = train_critic(64, rho, 4, num_steps=150, lr=0.05, seed=0)
    x, y = correlated_gaussians(64, rho, 4, batch_shape=(40,), seed=9)
    estimate = critic.estimate(x, y).mean().item()
    assert 0.5 < estimate < 1.0 + 0.05


@pytest.mark.parametrize(
    "scores, message",
    [(torch.zeros(1, 1), "K >= 2"), (torch.zeros(3, 4), "square"), (torch.zeros(3), "square")],
)
def test_bad_input_is_a_clear_error(scores, message):
    with pytest.raises(ValueError, match=message):
        infonce(scores)
