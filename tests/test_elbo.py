"""Tests for vaelib.elbo and vaelib.models.linear_gaussian (chapter 2, the ELBO).

Known answers: torch.distributions for densities and KLs, 1-D quadrature for the evidence, Bayes'
rule for the posterior, the closed-form maximum likelihood for EM. The claims chapter 2 makes in
prose are asserted here at a small size.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vaelib import elbo as E
from vaelib.losses import kl_std_normal
from vaelib.models.linear_gaussian import LinearGaussian, fit_em

matplotlib.use("Agg")
F64 = torch.float64


def randn(*shape, seed=None):
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.randn(*shape, generator=gen, dtype=F64)


@pytest.fixture
def toy():
    """The chapter's D = 2, P = 3 model with a correlated posterior, one observation, a rough q."""
    model = LinearGaussian([[1.0, 0.8], [0.6, 1.0], [-0.4, 0.3]], [0.5, -0.5, 0.0], 0.5)
    x = torch.tensor([[1.5, 0.8, -0.3]], dtype=F64)
    post_mu, post_cov = model.posterior(x)
    mu = post_mu + torch.tensor([[0.3, -0.3]], dtype=F64)
    log_var = torch.log(torch.diagonal(post_cov)).unsqueeze(0) + math.log(1.5)
    return model, x, mu, log_var


@pytest.fixture
def toy1():
    """The chapter's D = 1 model, whose posterior for x1 is N(1, 0.5)."""
    return LinearGaussian([[1.2], [0.9]], [0.0, 0.0], 1.5), torch.tensor([[2.25, 2.0]], dtype=F64)


# ---------------------------------------------------------------- the model's exact quantities


def test_log_evidence_matches_torch_multivariate_normal():
    model = LinearGaussian.random(5, 3, sigma=0.7, seed=1)
    x, _ = model.sample(8, seed=2)
    reference = MultivariateNormal(model.b, model.W @ model.W.T + 0.49 * torch.eye(5, dtype=F64))
    torch.testing.assert_close(model.log_evidence(x), reference.log_prob(x), rtol=1e-12, atol=1e-12)


def test_log_evidence_matches_quadrature_in_one_dimension(toy1):
    model, x = toy1
    z = torch.linspace(-10, 10, 200_001, dtype=F64)[:, None, None]  # (Z, B=1, D=1)
    log_joint = model.log_likelihood(x, z) + model.log_prior(z)  # (Z, 1)
    quadrature = torch.logsumexp(log_joint, dim=0) + math.log(20 / 200_000)
    assert abs(quadrature.item() - model.log_evidence(x).item()) < 1e-9


def test_posterior_satisfies_bayes_rule():
    """log p(x | z) + log p(z) - log p(z | x) = log p(x) for every z."""
    model = LinearGaussian.random(4, 2, sigma=0.3, seed=3)
    x, _ = model.sample(6, seed=4)
    mu, cov = model.posterior(x)
    z = randn(6, 2, seed=5)
    candidate = model.log_likelihood(x, z) + model.log_prior(z)
    candidate = candidate - MultivariateNormal(mu, cov).log_prob(z)
    torch.testing.assert_close(candidate, model.log_evidence(x), rtol=1e-12, atol=1e-10)


def test_log_likelihood_matches_torch_normal():
    model = LinearGaussian.random(3, 2, sigma=0.4, seed=6)
    x, z = randn(5, 3, seed=7), randn(7, 5, 2, seed=8)  # K = 7 codes per example
    reference = Normal(z @ model.W.T + model.b, 0.4).log_prob(x).sum(-1)
    torch.testing.assert_close(model.log_likelihood(x, z), reference)


def test_sample_has_the_model_covariance():
    model = LinearGaussian.random(3, 2, sigma=0.5, seed=9)
    x, z = model.sample(200_000, seed=10)
    assert z.shape == (200_000, 2)
    torch.testing.assert_close(torch.cov(x.T), model.marginal_cov(), atol=0.03, rtol=0.02)


# ---------------------------------------------------------------- the identity (eq-ch2-decomp)


def test_elbo_identity_holds_to_round_off_over_random_models_and_q():
    """log p(x) - ELBO = KL(q || p(z | x)), relative error below 1e-6 (here ~1e-12), float64."""
    worst = 0.0
    for seed in range(40):
        gen = torch.Generator().manual_seed(seed)
        data_dim, latent_dim = (int(v) for v in torch.randint(1, 7, (2,), generator=gen))
        sigma = 0.05 + 3 * torch.rand((), generator=gen, dtype=F64).item()
        model = LinearGaussian.random(data_dim, latent_dim, sigma=sigma, seed=seed)
        x, _ = model.sample(10, seed=100 + seed)
        mu, log_var = 2 * randn(10, latent_dim, seed=200 + seed), 2 * randn(10, latent_dim)
        exact = model.log_evidence(x)
        gap = model.elbo(x, mu, log_var) + model.kl_to_posterior(x, mu, log_var) - exact
        worst = max(worst, (gap.abs() / exact.abs()).max().item())
    assert worst < 1e-6, worst


def test_identity_with_a_full_covariance_q_and_diagonal_forms_agree(toy):
    model, x, mu, log_var = toy
    a = randn(2, 2, seed=11)
    cov = a @ a.T + 0.1 * torch.eye(2, dtype=F64)
    identity = model.elbo(x, mu, cov=cov) + model.kl_to_posterior(x, mu, cov=cov)
    torch.testing.assert_close(identity, model.log_evidence(x), rtol=1e-10, atol=1e-10)
    as_full = torch.diag_embed(torch.exp(log_var))
    torch.testing.assert_close(model.elbo(x, mu, log_var), model.elbo(x, mu, cov=as_full))


def test_elbo_is_tight_exactly_at_the_posterior_and_lower_elsewhere(toy1):
    model, x = toy1
    mu, cov = model.posterior(x)
    assert mu.item() == pytest.approx(1.0) and cov.item() == pytest.approx(0.5)
    log_var = torch.log(cov).reshape(1, 1)
    best = model.elbo(x, mu, log_var)
    assert abs(best.item() - model.log_evidence(x).item()) < 1e-12
    for d_mu, d_lv in [(0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1), (0.05, 0.05)]:
        assert model.elbo(x, mu + d_mu, log_var + d_lv).item() < best.item() - 1e-4


def test_maximising_the_elbo_finds_the_posterior_without_seeing_it(toy1):
    model, x = toy1
    start = torch.zeros(1, 1, dtype=F64)
    mu, log_var, history = E.maximize_elbo(lambda m, v: model.elbo(x, m, v), start, start)
    post_mu, post_cov = model.posterior(x)
    assert abs(mu.item() - post_mu.item()) < 1e-6
    assert abs(log_var.item() - math.log(post_cov.item())) < 1e-6
    assert history[-1] > history[0] and history.shape == (500,)


def test_one_step_of_maximize_elbo_is_adams_first_step():
    """Adam's first step moves every parameter by lr (0.05) along the sign of its gradient, and
    the history records the ELBO summed over the batch (here -KL(q || N(0, I)), two examples)."""
    mu0 = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=F64)
    log_var0 = torch.tensor([[0.5, -1.0], [2.0, -0.3]], dtype=F64)
    neg_kl = lambda m, v: -kl_std_normal(m, v, reduction="none").sum(-1)
    mu, log_var, history = E.maximize_elbo(neg_kl, mu0, log_var0, num_steps=1)
    # d(-KL)/dmu = -mu and d(-KL)/dlog_var = (1 - sigma^2) / 2: the signs of -mu and -log_var
    torch.testing.assert_close(mu, mu0 - 0.05 * mu0.sign(), rtol=0, atol=1e-7)
    torch.testing.assert_close(log_var, log_var0 - 0.05 * log_var0.sign(), rtol=0, atol=1e-7)
    q = Normal(mu0, (0.5 * log_var0).exp())
    expected = -kl_divergence(q, Normal(0.0, 1.0)).sum()
    torch.testing.assert_close(history, expected.reshape(1))


def test_best_diagonal_q_is_mean_field_optimum_and_leaves_a_gap(toy):
    model, x, _, _ = toy
    mu, log_var = model.mean_field_posterior(x)
    gap = model.kl_to_posterior(x, mu, log_var).item()
    assert gap > 0.1  # the posterior's correlation (-0.68) is out of reach of a diagonal q
    for i in range(2):
        for delta in (0.05, -0.05):
            step = torch.zeros(1, 2, dtype=F64)
            step[0, i] = delta
            assert model.kl_to_posterior(x, mu + step, log_var).item() > gap
            assert model.kl_to_posterior(x, mu, log_var + step).item() > gap
    # with orthogonal columns in W the posterior is diagonal and the gap closes
    orthogonal = LinearGaussian([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [0.0, 0.0, 0.0], 0.5)
    mf = orthogonal.mean_field_posterior(x)
    assert orthogonal.kl_to_posterior(x, *mf).item() < 1e-12


def test_over_confident_q_reconstructs_better_but_has_a_lower_elbo(toy):
    model, x, _, _ = toy
    mu, cov = model.posterior(x)
    assert model.expected_log_likelihood(x, mu, cov=cov / 10) > model.expected_log_likelihood(
        x, mu, cov=cov
    )
    assert model.elbo(x, mu, cov=cov / 10) < model.elbo(x, mu, cov=cov)


def test_expected_log_likelihood_matches_monte_carlo(toy):
    model, x, mu, log_var = toy
    torch.manual_seed(0)
    z = mu + torch.exp(0.5 * log_var) * randn(400_000, 1, 2)
    samples = model.log_likelihood(x, z)[:, 0]
    z_score = (samples.mean() - model.expected_log_likelihood(x, mu, log_var)) / (
        samples.std() / math.sqrt(len(samples))
    )
    assert abs(z_score.item()) < 4


# ---------------------------------------------------------------- KL to the prior


def test_closed_form_kl_matches_torch_and_monte_carlo():
    mu, log_var = randn(6, 4, seed=12), randn(6, 4, seed=13)
    closed = kl_std_normal(mu, log_var, reduction="none").sum(-1)
    q = Normal(mu, torch.exp(0.5 * log_var))
    reference = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    torch.testing.assert_close(closed, reference, rtol=1e-12, atol=1e-12)
    torch.manual_seed(1)
    estimate, std_err = E.kl_monte_carlo(mu, log_var, 100_000)
    assert ((estimate - closed).abs() / std_err).max() < 4
    # the standard error itself, against the exact one: Var[log q(z) - log p(z)] for z ~ q is
    # sum_d (sigma_d^2 - 1)^2 / 2 + mu_d^2 sigma_d^2 (a quadratic form in Gaussian z)
    var = torch.exp(log_var)
    exact_se = torch.sqrt(((var - 1).pow(2) / 2 + mu.pow(2) * var).sum(-1) / 100_000)
    torch.testing.assert_close(std_err, exact_se, rtol=0.05, atol=0)


def test_kl_monte_carlo_standard_error_is_the_spread_of_repeats():
    """With K = 4 samples, R = 20000 independent estimates: their spread is the reported SE."""
    mu, log_var = torch.tensor([[0.5, -1.0]], dtype=F64), torch.tensor([[0.4, -0.6]], dtype=F64)
    torch.manual_seed(2)
    repeats = 20_000
    estimates, std_errs = E.kl_monte_carlo(
        mu.expand(repeats, 2), log_var.expand(repeats, 2), num_samples=4
    )
    # E[se^2] = Var[estimate] exactly (the unbiased sample variance over K)
    ratio = std_errs.pow(2).mean() / estimates.var()
    assert ratio.item() == pytest.approx(1.0, abs=0.06), ratio
    closed = kl_std_normal(mu, log_var, reduction="sum")
    assert (estimates.mean() - closed).abs() < 4 * estimates.std() / math.sqrt(repeats)


# ---------------------------------------------------------------- Monte Carlo ELBO


def test_monte_carlo_elbo_is_unbiased_within_its_standard_error(toy):
    model, x, mu, log_var = toy
    exact = model.elbo(x, mu, log_var).item()
    torch.manual_seed(2)
    for k in (1, 4):
        runs = E.repeat_estimate(E.elbo, model.log_likelihood, x, mu, log_var, k, 40_000)
        assert abs(runs.mean().item() - exact) < 4 * runs.std().item() / math.sqrt(len(runs))
    # the all-Monte-Carlo form (IWAE with K = 1) estimates the same ELBO
    runs = E.repeat_estimate(E.iwae_bound, model.log_likelihood, x, mu, log_var, 1, 40_000)
    assert abs(runs.mean().item() - exact) < 4 * runs.std().item() / math.sqrt(len(runs))


def _linear_ll(x, z):
    """log N(x | 2 z, I) summed over the data dimensions, x (B, P), z (K, B, P)."""
    return Normal(2.0 * z, 1.0).log_prob(x).sum(-1)


def test_default_elbo_is_one_reparameterized_sample_recomputed_by_hand():
    """By default the ELBO uses K = 1: log p(x | mu + sigma eps) - KL, with eps the next draw."""
    x = torch.tensor([[0.5, -1.0], [2.0, 0.3], [0.0, 1.0]], dtype=F64)
    mu, log_var = randn(3, 2, seed=4), randn(3, 2, seed=5) * 0.5
    sigma = (0.5 * log_var).exp()
    torch.manual_seed(11)
    eps = torch.randn(1, 3, 2, dtype=F64)
    reconstruction = Normal(2.0 * (mu + sigma * eps), 1.0).log_prob(x).sum(-1)[0]
    rate = kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0)).sum(-1)
    torch.manual_seed(11)
    got = E.elbo_terms(_linear_ll, x, mu, log_var)
    torch.testing.assert_close(got, (reconstruction, rate))
    torch.manual_seed(11)
    torch.testing.assert_close(E.elbo(_linear_ll, x, mu, log_var), reconstruction - rate)


def test_kl_monte_carlo_with_two_samples_recomputed_by_hand():
    """K = 2 is the smallest K with a standard error: the mean of the two log-ratios and half
    their distance (the sample SD of two values over sqrt(2))."""
    mu, log_var = randn(3, 2, seed=6), randn(3, 2, seed=7)
    sigma = (0.5 * log_var).exp()
    torch.manual_seed(12)
    z = mu + sigma * torch.randn(2, 3, 2, dtype=F64)
    log_ratio = (Normal(mu, sigma).log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1)  # (2, B)
    torch.manual_seed(12)
    estimate, std_err = E.kl_monte_carlo(mu, log_var, 2)
    torch.testing.assert_close(estimate, log_ratio.mean(0))
    torch.testing.assert_close(std_err, (log_ratio[0] - log_ratio[1]).abs() / 2)


def test_monte_carlo_elbo_spread_falls_like_one_over_root_k(toy):
    model, x, mu, log_var = toy
    torch.manual_seed(3)
    ks = [1, 4, 16, 64, 256]
    stds = [
        E.repeat_estimate(E.elbo, model.log_likelihood, x, mu, log_var, k, 2000).std().item()
        for k in ks
    ]
    slope = np.polyfit(np.log(ks), np.log(stds), 1)[0]
    assert -0.56 < slope < -0.44, slope


def test_elbo_terms_split_into_reconstruction_and_closed_form_rate(toy):
    model, x, mu, log_var = toy
    torch.manual_seed(4)
    recon, rate = E.elbo_terms(model.log_likelihood, x, mu, log_var, 8)
    torch.testing.assert_close(rate, model.kl_to_prior(x, mu, log_var))
    torch.manual_seed(4)
    total = E.elbo(model.log_likelihood, x, mu, log_var, 8)
    torch.testing.assert_close(total, recon - rate)
    assert recon.dtype == F64 and total.shape == (1,)


def test_log_weights_are_constant_at_the_exact_posterior(toy1):
    """Exercise 1: with q = p(z | x) every log-weight equals log p(x)."""
    model, x = toy1
    mu, cov = model.posterior(x)
    log_w = E.log_importance_weights(model.log_likelihood, x, mu, torch.log(cov).reshape(1, 1), 50)
    assert (log_w - model.log_evidence(x)).abs().max() < 1e-12


# ---------------------------------------------------------------- the importance-weighted bound


def test_iwae_is_non_decreasing_in_k_and_approaches_log_evidence(toy):
    model, x, mu, log_var = toy
    torch.manual_seed(5)
    ks = [1, 2, 4, 16, 64, 256]
    runs = E.iwae_curve(model.log_likelihood, x, mu, log_var, ks, 4000)
    means, se = runs.mean(1), runs.std(1) / math.sqrt(runs.shape[1])
    log_p = model.log_evidence(x).item()
    assert (means[1:] - means[:-1] > -3 * se[1:]).all(), means  # non-decreasing within noise
    assert (means <= log_p + 3 * se).all()  # a lower bound
    assert means[-1] - means[0] > 1.0  # ELBO gap ~1.3 nats, almost closed at K = 256
    assert log_p - means[-1] < 0.02
    exact_elbo = model.elbo(x, mu, log_var).item()
    assert abs(means[0] - exact_elbo) < 4 * se[0]  # K = 1 is the ELBO


def test_iwae_bound_tightens_the_elbo_towards_log_evidence(toy):
    model, x, mu, log_var = toy
    torch.manual_seed(9)
    runs = E.repeat_estimate(E.iwae_bound, model.log_likelihood, x, mu, log_var, 64, 4000)
    log_p, elbo = model.log_evidence(x).item(), model.elbo(x, mu, log_var).item()
    assert runs.dtype == F64 and runs.shape == (4000,)
    assert elbo + 1.0 < runs.mean().item() < log_p  # gap ~1.3 nats at K = 1, ~0.015 at K = 64
    assert log_p - runs.mean().item() < 0.05
    torch.manual_seed(10)
    one = E.iwae_bound(model.log_likelihood, x, mu, log_var, 16)
    torch.manual_seed(10)
    log_w = E.log_importance_weights(model.log_likelihood, x, mu, log_var, 16)
    torch.testing.assert_close(one, torch.logsumexp(log_w, 0) - math.log(16))


def test_iwae_gap_follows_the_chi_square_prediction_at_large_k(toy):
    """log p(x) - IWAE_K ~ chi^2(p(z|x) || q) / 2K (the chapter's eq-ch2-iwae-bias)."""
    model, x, mu, log_var = toy
    torch.manual_seed(6)
    log_p = model.log_evidence(x)
    log_w = E.log_importance_weights(model.log_likelihood, x, mu, log_var, 1_000_000)
    chi2 = (torch.exp(2 * (log_w - log_p)).mean() - 1).item()
    runs = E.iwae_curve(model.log_likelihood, x, mu, log_var, [8, 32], 20_000)
    gap = (log_p - runs.mean(1)).numpy()
    predicted = chi2 / (2 * np.array([8, 32]))
    assert np.all(gap / predicted > 0.6) and np.all(gap / predicted < 1.4), (gap, predicted)


def test_iwae_curve_uses_nested_prefixes_of_one_draw(toy):
    model, x, mu, log_var = toy
    torch.manual_seed(7)
    curve = E.iwae_curve(model.log_likelihood, x, mu, log_var, [1, 3, 8], 1)
    torch.manual_seed(7)
    log_w = E.log_importance_weights(model.log_likelihood, x, mu, log_var, 8)[:, 0]
    expected = torch.stack([log_w[0], E.log_mean_exp(log_w[:3]), E.log_mean_exp(log_w)])
    torch.testing.assert_close(curve[:, 0], expected)


def test_iwae_curve_in_several_chunks_has_every_repeat():
    """K_max = 2**10 leaves 2**9 repeats per call: 513 repeats come in calls of 512 and 1. With
    q = p(z) and a constant p(x | z) = 1 every weight is 1, so every IWAE_K is log p(x) = 0."""
    constant = lambda x, z: z.new_zeros(z.shape[:-1])
    zero = torch.zeros(1, 1, dtype=F64)
    curve = E.iwae_curve(constant, zero, zero, zero, [1, 2**10], 513)
    torch.testing.assert_close(curve, torch.zeros(2, 513, dtype=F64), rtol=0, atol=1e-12)


def test_log_mean_exp_is_stable():
    values = torch.tensor([1000.0, 1000.0 + math.log(3)], dtype=F64)
    assert E.log_mean_exp(values).item() == pytest.approx(1000 + math.log(2))


def test_prior_sampling_needs_more_samples_in_more_dimensions():
    """Figure fig-ch2-prior-sampling: q = p(z) works in one dimension, fails in eight."""
    torch.manual_seed(8)
    errors = {}
    for dim in (1, 8):
        model = LinearGaussian.random(16, dim, sigma=0.5, seed=dim)
        x, _ = model.sample(1, seed=100 + dim)
        zeros = torch.zeros(1, dim, dtype=F64)
        runs = E.iwae_curve(model.log_likelihood, x, zeros, zeros, [1000], 10)
        errors[dim] = (runs - model.log_evidence(x)).abs().median().item()
    assert errors[1] < 0.2 and errors[8] > 5.0, errors


# ---------------------------------------------------------------- EM


def test_em_never_decreases_log_evidence_and_obeys_the_bound_chain():
    true = LinearGaussian.random(6, 2, sigma=0.5, seed=3)
    x, _ = true.sample(300, seed=2)
    history = fit_em(LinearGaussian.random(6, 2, sigma=2.0, seed=4), x, 30)
    log_p, after_m = history.log_evidence, history.elbo_after_m
    assert len(history.models) == 31 and after_m.shape == (30,)
    assert (after_m >= log_p[:-1] - 1e-10).all()  # the M-step raises the bound
    assert (log_p[1:] >= after_m - 1e-10).all()  # the bound stays below log p(x)
    # the fixed point is the closed-form maximum likelihood (Tipping & Bishop 1999)
    ml = LinearGaussian.fit_ml(x, 2)
    assert 0 <= ml.log_evidence(x).mean() - log_p[-1] < 1e-3


def test_closed_form_ml_beats_perturbed_models():
    true = LinearGaussian.random(5, 2, sigma=0.4, seed=5)
    x, _ = true.sample(400, seed=6)
    ml = LinearGaussian.fit_ml(x, 2)
    best = ml.log_evidence(x).mean()
    assert best >= true.log_evidence(x).mean()
    for seed in range(5):
        W = ml.W + 0.01 * randn(5, 2, seed=seed)
        b = ml.b + 0.01 * randn(5, seed=50 + seed)
        for model in (LinearGaussian(W, ml.b, ml.sigma), LinearGaussian(ml.W, b, ml.sigma)):
            assert model.log_evidence(x).mean() < best
        assert LinearGaussian(ml.W, ml.b, ml.sigma * 1.01).log_evidence(x).mean() < best


def test_em_step_keeps_fixed_parameters():
    model = LinearGaussian([[0.3]], [0.2], 0.5)
    x, _ = LinearGaussian([[2.0]], [0.2], 0.5).sample(100, seed=1)
    new = model.em_step(x, learn_offset=False, learn_noise=False)
    assert new.b.item() == 0.2 and new.sigma.item() == 0.5 and new.W.item() > 0.3


# ---------------------------------------------------------------- the joint table


def test_joint_table_margins_and_posterior():
    prior = torch.tensor([0.5, 0.3, 0.2])
    likelihood = torch.tensor([[0.80, 0.20, 0.10], [0.15, 0.70, 0.20], [0.05, 0.10, 0.70]])
    table = E.joint_table(prior, likelihood)
    assert table.p_x[1].item() == pytest.approx(0.5 * 0.15 + 0.3 * 0.7 + 0.2 * 0.2)
    torch.testing.assert_close(table.p_z, prior.to(F64))
    assert table.p_x.sum().item() == pytest.approx(1.0)
    torch.testing.assert_close(table.posterior.sum(1), torch.ones(3, dtype=F64))
    assert table.posterior[1, 1].item() == pytest.approx(0.21 / 0.325)


def test_joint_table_with_an_impossible_latent_value():
    """A prior entry of 0 is allowed: that column of the joint and of the posterior is 0."""
    prior = torch.tensor([0.6, 0.4, 0.0])
    likelihood = torch.tensor([[0.9, 0.2, 0.5], [0.1, 0.8, 0.5]])
    table = E.joint_table(prior, likelihood)
    torch.testing.assert_close(table.p_x, torch.tensor([0.62, 0.38], dtype=F64))
    torch.testing.assert_close(table.posterior[:, 2], torch.zeros(2, dtype=F64))
    assert table.posterior[0, 0].item() == pytest.approx(0.54 / 0.62)


# ---------------------------------------------------------------- bad input


def _q(batch=2, dim=2):
    return torch.zeros(batch, dim, dtype=F64), torch.zeros(batch, dim, dtype=F64)


@pytest.mark.parametrize("k", [0, -3, 2.5, True, "4"])
def test_bad_number_of_samples(toy, k):
    model, x, mu, log_var = toy
    for estimator in (E.elbo, E.iwae_bound):
        with pytest.raises(ValueError, match=r"num_samples \(K\) must be an integer >= 1"):
            estimator(model.log_likelihood, x, mu, log_var, k)


def test_mismatched_shapes_give_clear_errors(toy):
    model, x, mu, log_var = toy
    with pytest.raises(ValueError, match="log_var has shape"):
        E.elbo(model.log_likelihood, x, mu, torch.zeros(1, 3, dtype=F64))
    with pytest.raises(ValueError, match="same batch size"):
        E.iwae_bound(model.log_likelihood, x.expand(3, -1), mu, log_var, 2)
    with pytest.raises(ValueError, match=r"mu must have shape \(B, D\)"):
        E.elbo(model.log_likelihood, x, mu[0], log_var[0])
    with pytest.raises(ValueError, match="data_dim is 3"):
        model.log_evidence(torch.zeros(2, 4, dtype=F64))
    with pytest.raises(ValueError, match=r"mu has shape \(1, 3\) but must be \(B, D\) = \(1, 2\)"):
        model.elbo(x, torch.zeros(1, 3, dtype=F64), torch.zeros(1, 3, dtype=F64))
    with pytest.raises(ValueError, match="must end in"):
        model.log_likelihood(x, torch.zeros(5, 2, 2, dtype=F64))
    with pytest.raises(ValueError, match="one example"):
        E.repeat_estimate(E.elbo, model.log_likelihood, x.expand(2, -1), *_q(), 1, 10)


def test_log_likelihood_with_the_wrong_output_shape(toy):
    _, x, mu, log_var = toy
    summed = lambda x, z: torch.zeros(())  # summed over samples and examples: wrong
    with pytest.raises(ValueError, match=r"must return log p\(x \| z\) of shape \(K, B\)"):
        E.elbo(summed, x, mu, log_var, 3)


def test_bad_variances_and_values(toy):
    model, x, mu, log_var = toy
    for sigma in (0.0, -1.0):
        with pytest.raises(ValueError, match="sigma must be strictly positive"):
            LinearGaussian([[1.0]], [0.0], sigma)
    with pytest.raises(ValueError, match="contains NaN"):
        E.elbo(model.log_likelihood, x, mu, torch.full_like(log_var, math.nan))
    with pytest.raises(ValueError, match="contains NaN"):
        model.log_evidence(torch.full((1, 3), math.nan, dtype=F64))
    with pytest.raises(ValueError, match="positive definite"):
        model.elbo(x, mu, cov=-torch.eye(2, dtype=F64))
    with pytest.raises(ValueError, match="exactly one of log_var"):
        model.elbo(x, mu, log_var, cov=torch.eye(2, dtype=F64))
    with pytest.raises(ValueError, match="exactly one of log_var"):
        model.elbo(x, mu)


def test_densities_name_the_argument_that_holds_a_nan():
    z, mu, log_var = randn(3, 2, 2, seed=0), randn(2, 2, seed=1), randn(2, 2, seed=2)
    bad = lambda t: torch.where(torch.arange(t.numel()).reshape(t.shape) == 1, math.nan, t)
    with pytest.raises(ValueError, match="^z contains NaN"):
        E.log_normal_diag(bad(z), mu, log_var)
    with pytest.raises(ValueError, match="^mu contains NaN"):
        E.log_normal_diag(z, bad(mu), log_var)
    with pytest.raises(ValueError, match="^z contains NaN"):
        E.log_std_normal(bad(z))


def test_bad_model_and_fitting_arguments():
    with pytest.raises(ValueError, match=r"W must have shape \(P, D\)"):
        LinearGaussian([1.0, 2.0], [0.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="b has 3 entries but W has 2 rows"):
        LinearGaussian([[1.0], [2.0]], [0.0, 0.0, 0.0], 1.0)
    x = randn(20, 3, seed=0)
    with pytest.raises(ValueError, match=r"latent_dim must be in \[1, P\)"):
        LinearGaussian.fit_ml(x, 3)
    with pytest.raises(ValueError, match="num_steps must be an integer >= 1"):
        fit_em(LinearGaussian.random(3, 1), x, 0)
    with pytest.raises(ValueError, match=">= 2 for a standard error"):
        E.kl_monte_carlo(*_q(), 1)
    with pytest.raises(ValueError, match="num_repeats must be an integer >= 1"):
        E.iwae_curve(lambda x, z: z.sum(-1), x[:1], *_q(1), [1, 2], 0)


def test_bad_joint_tables():
    likelihood = torch.eye(2)
    with pytest.raises(ValueError, match="prior must be non-negative and sum to 1"):
        E.joint_table(torch.tensor([0.7, 0.7]), likelihood)
    with pytest.raises(ValueError, match="column j must be p"):
        E.joint_table(torch.tensor([0.5, 0.3, 0.2]), likelihood)
    with pytest.raises(ValueError, match="every column"):
        E.joint_table(torch.tensor([0.5, 0.5]), torch.tensor([[0.5, 0.5], [0.1, 0.1]]))


# ---------------------------------------------------------------- the chapter's figures


def test_figures_draw(toy, toy1):
    import matplotlib.pyplot as plt

    from vaelib import elbo_plots as P

    model, x, mu, log_var = toy
    table = E.joint_table(torch.tensor([0.5, 0.5]), torch.eye(2))
    runs = E.iwae_curve(model.log_likelihood, x, mu, log_var, [1, 2, 4], 20)
    log_p, elbo = model.log_evidence(x).item(), model.elbo(x, mu, log_var).item()
    m1, x1 = toy1
    small, _ = LinearGaussian([[2.0]], [0.0], 0.5).sample(20, seed=0)
    bounds = fit_em(LinearGaussian([[0.3]], [0.0], 0.5), small, 3, learn_offset=False)
    history = fit_em(LinearGaussian.random(3, 1, seed=1), model.sample(30, seed=1)[0], 3)
    figures = [
        P.draw_joint_table(table, ["a", "b"], ["u", "v"]),
        P.draw_prior_sampling([1, 2, 4], {"D = 1": runs.abs()}),
        P.draw_elbo_landscape(m1, x1, np.linspace(0, 2, 5), np.linspace(-1, 0, 4)),
        P.draw_q_frame(m1, x1, 1.0, -0.3, (-1, 3), (-6, -3)),
        P.draw_mc_spread([1, 2, 4], list(runs), elbo, log_p),
        P.draw_iwae_frame([1, 2, 4], runs, 2, log_p, elbo, (log_p - 3, log_p + 1)),
        P.draw_iwae_gap([1, 2, 4], log_p - runs.mean(1), runs.std(1), 2.0),
        P.draw_em(bounds, small, np.linspace(0, 3, 10), history, history.log_evidence[-1] + 1),
    ]
    assert all(isinstance(f, plt.Figure) for f in figures)
    plt.close("all")
    with pytest.raises(ValueError, match="scalar model"):
        P.draw_em(history, small, np.linspace(0, 3, 10), history, 0.0)


def test_one_dimensional_x_is_a_batch_and_a_scalar_x_is_refused():
    mu, log_var = torch.zeros(3, 2, dtype=F64), torch.zeros(3, 2, dtype=F64)

    def log_lik(x, z):  # x (B,), z (K, B, D) -> (K, B)
        return -0.5 * (z.sum(-1) - x).pow(2)

    assert E.elbo(log_lik, torch.zeros(3, dtype=F64), mu, log_var, 2).shape == (3,)
    with pytest.raises(ValueError, match="same batch size"):
        E.elbo(log_lik, torch.tensor(0.0), mu, log_var, 2)
