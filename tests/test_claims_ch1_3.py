"""The qualitative claims of chapters 1-3, checked on the same library code at a small size.

Chapter 1: a shared sigma settles at sigma^2 = MSE; without a floor the learned-sigma NLL spikes,
with one it does not. Chapter 2: a q too wide by some factor costs more than one too narrow by
the same factor. Chapter 3: the score-function variance follows its exact value, which grows like
f(mu)^2 / sigma^2, across a range of sigma, not at one point.
"""

import math
from functools import cache

import numpy as np
import pytest
import torch

from vaelib.estimators.gradients import ESTIMATORS, measure
from vaelib.estimators.objectives import cosine, quadratic
from vaelib.estimators.variance import score_function_variance
from vaelib.models.linear_gaussian import LinearGaussian
from vaelib.regression import MeanVarianceNet, fit_mean_variance, hard_regions_data, jump_events

# --- chapter 1 -----------------------------------------------------------------------------------


@cache
def trained(mode, floor=None, num_epochs=400):
    """Chapter 1's network on its data, trained as the chapter does (seeded, full batch)."""
    x, y, _ = hard_regions_data(n=1024, seed=0)
    torch.manual_seed(1)
    model = MeanVarianceNet(hidden=64, variance=mode, log_var_min=floor)
    history = fit_mean_variance(model, x, y, num_epochs=num_epochs, lr=3e-3)
    return model, history, x, y


def test_jump_events_merges_nearby_jumps_and_counts_separate_ones():
    curve = np.zeros(400)
    curve[[10, 12, 200]] = 5.0  # jumps at steps 9, 11 (one event) and 199 (another)
    assert jump_events(curve, threshold=1.0, min_gap=50) == [(9, 11), (199, 199)]
    assert jump_events(curve, threshold=1.0, min_gap=1) == [(9, 9), (11, 11), (199, 199)]
    assert jump_events(curve, threshold=10.0) == []
    # the recoveries of the same curve are jumps of its negative
    assert jump_events(-curve, threshold=1.0, min_gap=50) == [(10, 12), (200, 200)]


def test_jump_events_refuses_bad_input():
    with pytest.raises(ValueError, match="one curve"):
        jump_events(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="threshold > 0"):
        jump_events(np.zeros(3), threshold=0.0)


def test_shared_sigma_settles_at_the_mse_once_the_mean_stops_moving():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(512, 1, generator=gen) * 6.0 - 3.0
    y = torch.sin(1.5 * x) + 0.1 * torch.randn(512, 1, generator=gen)  # noise: the MSE levels off
    torch.manual_seed(1)
    model = MeanVarianceNet(hidden=32, variance="shared")
    history = fit_mean_variance(model, x, y, num_epochs=1500, lr=1e-2)
    with torch.no_grad():
        mu, log_var = model(x)
    mse = ((y - mu) ** 2).mean().item()
    assert mse == pytest.approx(0.01, rel=0.3)  # the mean fits the curve, not the noise
    assert torch.allclose(log_var, log_var[0])  # one sigma for every point
    assert math.exp(model.shared_log_var.item()) == pytest.approx(mse, rel=0.05)
    # and the NLL is then the closed form 1/2 (log(2 pi MSE) + 1) of exercise 2
    assert history["nll"][-1] == pytest.approx(0.5 * (math.log(2 * math.pi * mse) + 1), abs=0.02)


def test_without_a_floor_the_nll_spikes_and_with_one_it_does_not():
    _, unfloored, _, _ = trained("learned")
    _, floored, _, _ = trained("learned", -6.0)  # the floor of chapter 1
    assert len(jump_events(unfloored["nll"])) >= 1
    assert min(unfloored["sigma_min"]) < 0.03  # the spikes come with sigma collapsing
    assert jump_events(floored["nll"]) == []
    assert min(floored["sigma_min"]) >= math.exp(-3.0) - 1e-6


# --- chapter 2 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_too_wide_q_costs_more_than_an_equally_too_narrow_one(seed):
    model = LinearGaussian.random(2, 1, sigma=0.3 + seed, seed=seed)
    x, _ = model.sample(1, seed=seed)
    post_mu, post_cov = model.posterior(x)
    log_sigma = 0.5 * math.log(post_cov.item())
    for d in (0.1, 0.5, 1.0, 2.0):
        log_vars = (torch.tensor([[2 * (log_sigma + s)]], dtype=torch.float64) for s in (d, -d))
        wide, narrow = (model.kl_to_posterior(x, post_mu, log_var) for log_var in log_vars)
        # KL(N(m, s^2) || N(m, s*^2)) with s = s* e^{+-d}: -+d + (e^{+-2d} - 1) / 2
        assert wide.item() == pytest.approx(-d + (math.exp(2 * d) - 1) / 2, rel=1e-9)
        assert narrow.item() == pytest.approx(d + (math.exp(-2 * d) - 1) / 2, rel=1e-9)
        assert wide.item() > narrow.item()


# --- chapter 3 -----------------------------------------------------------------------------------

SIGMAS = [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]


def quadratic_sf_variance(mu, sigma):
    """Var of z^2 eps / sigma, z = mu + sigma eps: mu^4 / sigma^2 + 14 mu^2 + 15 sigma^2."""
    return mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2


@pytest.mark.parametrize("sigma", SIGMAS)
def test_exact_score_function_variance_matches_the_closed_form(sigma):
    log_var = torch.tensor([2 * math.log(sigma)])
    exact = score_function_variance(quadratic, torch.tensor([1.0]), log_var, num_samples=4)
    assert exact.item() == pytest.approx(quadratic_sf_variance(1.0, sigma) / 4, rel=1e-6)


def test_measured_score_function_variance_follows_the_exact_one_across_sigma():
    torch.manual_seed(0)
    mu, num_estimates = torch.tensor([1.0]), 20_000
    for sigma in SIGMAS:
        log_var = torch.tensor([2 * math.log(sigma)])
        g = measure(ESTIMATORS["score function"], quadratic, mu, log_var, 1, num_estimates)
        grads = g.grads[:, 0, 0]
        centred = grads - grads.mean()
        se = math.sqrt(((centred**4).mean() - centred.var() ** 2).item() / num_estimates)
        assert abs(g.var[0].item() - quadratic_sf_variance(1.0, sigma)) < 4 * se, sigma
    # the growth is 1/sigma^2: sigma^2 Var tends to f(mu)^2 = 1 as sigma shrinks
    scaled = [s**2 * quadratic_sf_variance(1.0, s) for s in (0.01, 0.02, 0.05)]
    assert scaled[0] < scaled[1] < scaled[2] and scaled[0] == pytest.approx(1.0, abs=2e-3)


def test_score_function_variance_of_a_bounded_f_grows_like_f_mu_squared_over_sigma_squared():
    mu = torch.tensor([1.0])
    for sigma in (0.02, 0.05):
        exact = score_function_variance(cosine, mu, torch.tensor([2 * math.log(sigma)]))
        assert sigma**2 * exact.item() == pytest.approx(math.cos(1.0) ** 2, rel=0.05)


def test_score_function_variance_refuses_bad_sample_counts():
    with pytest.raises(ValueError, match="num_samples"):
        score_function_variance(quadratic, torch.tensor([1.0]), torch.tensor([0.0]), num_samples=0)
