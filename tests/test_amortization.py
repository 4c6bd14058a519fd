"""The gap split of vaelib.amortization (exact, linear-Gaussian) and vaelib.amortization_vae
(sampled), checked against closed forms and torch.distributions."""

import math

import pytest
import torch
from torch import nn
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vaelib import amortization_vae as AV
from vaelib.amortization import LinearEncoder, exact_gap_split
from vaelib.models.linear_gaussian import LinearGaussian
from vaelib.train import fit

D64 = torch.float64


def toy():
    """Chapter 2's model: a correlated posterior, so the diagonal family has a gap."""
    return LinearGaussian(W=[[1.0, 0.8], [0.6, 1.0], [-0.4, 0.3]], b=[0.5, -0.5, 0.0], sigma=0.5)


def random_q(batch, dim, seed):
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, dim, generator=gen, dtype=D64)
    return mu, torch.randn(batch, dim, generator=gen, dtype=D64)


def true_posterior_kl(model, x, mu, log_var):
    """KL(q || p(z | x)) from torch.distributions and the posterior of Bishop eq. 12.42."""
    precision = torch.eye(model.latent_dim, dtype=D64) + model.W.T @ model.W / model.sigma**2
    cov = torch.linalg.inv(precision)
    post_mu = (x - model.b) @ model.W @ cov / model.sigma**2
    q = MultivariateNormal(mu, torch.diag_embed(log_var.exp()))
    return kl_divergence(q, MultivariateNormal(post_mu, cov))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_split_adds_up_and_each_part_is_nonnegative(seed):
    model = LinearGaussian.random(5, 3, sigma=0.3 + seed * 0.4, seed=seed)
    x, _ = model.sample(40, seed=seed)
    mu, log_var = random_q(40, 3, seed)
    split = exact_gap_split(model, x, mu, log_var)
    marginal = MultivariateNormal(
        model.b, model.W @ model.W.T + model.sigma**2 * torch.eye(5, dtype=D64)
    )
    torch.testing.assert_close(split.log_evidence, marginal.log_prob(x), rtol=1e-12, atol=1e-10)
    # the total is chapter 2's gap KL(q || p(z | x)), computed independently
    torch.testing.assert_close(
        split.total, true_posterior_kl(model, x, mu, log_var), rtol=1e-9, atol=1e-9
    )
    torch.testing.assert_close(
        split.approximation + split.amortization, split.total, rtol=0, atol=1e-10
    )
    assert (split.approximation >= -1e-12).all()
    assert (split.amortization >= -1e-10).all()
    assert (split.amortization > 1e-3).all()  # random encoders are far from the best q


def test_approximation_gap_is_kl_of_the_best_diagonal_q_and_nothing_beats_it():
    model = toy()
    x, _ = model.sample(30, seed=4)
    best_mu, best_log_var = model.mean_field_posterior(x)
    split = exact_gap_split(model, x, best_mu, best_log_var)
    torch.testing.assert_close(split.amortization, torch.zeros(30, dtype=D64), rtol=0, atol=1e-12)
    torch.testing.assert_close(
        split.approximation, true_posterior_kl(model, x, best_mu, best_log_var)
    )
    assert (split.approximation > 0.01).all()  # correlated posterior: the diagonal family misses
    for scale in (1e-3, 1e-1):  # any nudge of q* lowers its ELBO: a positive amortization gap
        nudged_mu, nudged_log_var = random_q(30, 2, seed=5)
        nudged = exact_gap_split(
            model, x, best_mu + scale * nudged_mu, best_log_var + scale * nudged_log_var
        )
        assert (nudged.amortization > 0).all()


def test_a_gaussian_posterior_in_the_family_has_no_approximation_gap():
    model = LinearGaussian(W=[[1.2], [0.9]], b=[0.0, 0.0], sigma=1.5)  # D = 1: diagonal is exact
    x = torch.tensor([[2.25, 2.0], [-1.0, 0.5]], dtype=D64)
    split = exact_gap_split(model, x, torch.zeros(2, 1, dtype=D64), torch.zeros(2, 1, dtype=D64))
    torch.testing.assert_close(split.approximation, torch.zeros(2, dtype=D64), rtol=0, atol=1e-12)
    torch.testing.assert_close(split.amortization, split.total, rtol=0, atol=1e-12)


def test_linear_encoder_loss_is_the_exact_negative_elbo_and_training_closes_the_amortization_gap():
    model = toy()
    x, _ = model.sample(1000, seed=1)
    torch.manual_seed(0)
    encoder = LinearEncoder(model)
    mu, log_var = encoder.encode(x)
    torch.testing.assert_close(encoder.loss(x).loss, -model.elbo(x, mu, log_var).mean())
    before = encoder.gap_split(x)
    fit(
        encoder,
        x,
        num_epochs=40,
        batch_size=100,
        lr=3e-2,
        input_shape=(3,),
        device=torch.device("cpu"),
        progress=False,
    )
    after = encoder.gap_split(x)
    assert after.amortization.mean() < 1e-3 * before.amortization.mean()
    torch.testing.assert_close(after.approximation, before.approximation, rtol=0, atol=1e-12)


class LinearAsVAE(nn.Module):
    """The linear-Gaussian model behind the VAE interface the sampled estimators use."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.unused = nn.Parameter(torch.zeros(1, dtype=D64))  # so the module has a device

    def log_likelihood(self, x, z):
        return self.model.log_likelihood(x, z)


def test_sampled_estimates_agree_with_the_exact_values_within_their_standard_errors():
    # A nearly uncorrelated posterior, so that the best diagonal q is a good proposal and the
    # delta-method standard error of the importance-sampling estimate can be trusted.
    model = LinearGaussian.random(6, 2, sigma=0.5, seed=3)
    x, _ = model.sample(20, seed=7)
    best = model.mean_field_posterior(x)
    enc_mu, enc_log_var = random_q(20, 2, seed=8)
    enc = (best[0] + 0.2 * enc_mu, best[1] + 0.2 * enc_log_var)
    est = AV.estimate_gaps(
        LinearAsVAE(model), x, enc, best, num_samples=4000, batch_size=7, chunk=300
    )
    exact = exact_gap_split(model, x, *enc)
    for estimate, se, truth in (
        (est.split.log_evidence, est.log_evidence_se, exact.log_evidence),
        (est.log_evidence_encoder, est.log_evidence_encoder_se, exact.log_evidence),
        (est.split.elbo_optimal, est.elbo_optimal_se, exact.elbo_optimal),
        (est.split.elbo_amortized, est.elbo_amortized_se, exact.elbo_amortized),
    ):
        z = (estimate - truth) / se
        assert z.abs().max() < 4.5, z
    assert (est.split.approximation >= 0).all()  # log-mean-exp >= mean on the same samples
    mean, se = AV.mean_with_se(est.split.amortization, est.amortization_se)
    assert abs(mean - exact.amortization.mean().item()) < 4 * se


def test_mean_with_se_adds_errors_in_quadrature():
    mean, se = AV.mean_with_se(torch.tensor([1.0, 3.0]), torch.tensor([0.3, 0.4]))
    assert mean == pytest.approx(2.0) and se == pytest.approx(0.25)


def test_optimize_q_reaches_the_best_diagonal_q():
    model = toy()
    x, _ = model.sample(10, seed=3)
    start = (torch.zeros(10, 2, dtype=D64), torch.zeros(10, 2, dtype=D64))
    mu, log_var = AV.optimize_q(
        LinearAsVAE(model), x, *start, num_steps=400, lr=5e-2, num_samples=16
    )
    split = exact_gap_split(model, x, mu, log_var)
    assert split.amortization.max() < 0.05
    assert exact_gap_split(model, x, *start).amortization.min() > 1.0
    path = AV.optimization_path(
        LinearAsVAE(model), x, *start, [0, 50, 400], lr=5e-2, num_samples=16
    )
    assert torch.equal(path[0][0], start[0]) and len(path) == 3
    gaps = [exact_gap_split(model, x, *q).amortization.mean() for q in path]
    assert gaps[0] > gaps[1] > gaps[2]


def test_optimize_q_leaves_the_model_trainable():
    wrapped = LinearAsVAE(toy())
    x, _ = wrapped.model.sample(3, seed=0)
    AV.optimize_q(
        wrapped, x, torch.zeros(3, 2, dtype=D64), torch.zeros(3, 2, dtype=D64), num_steps=2
    )
    assert wrapped.unused.requires_grad and wrapped.training


def test_elbo_estimate_matches_the_closed_form():
    model = toy()
    x, _ = model.sample(5, seed=2)
    mu, log_var = random_q(5, 2, seed=3)
    mean, se = AV.elbo_estimate(LinearAsVAE(model), x, mu, log_var, num_samples=5000)
    assert ((mean - model.elbo(x, mu, log_var)) / se).abs().max() < 4.5


def test_the_delta_method_error_of_log_mean_exp():
    # w = exp(log_w) with log_w ~ N(0, s^2): sd(w) / mean(w) = sqrt(exp(s^2) - 1)
    s, k = 0.3, 200_000
    log_w = Normal(0.0, s).sample((k, 1)).to(D64)
    _, se = AV._log_mean_exp_and_se(log_w)
    assert se.item() == pytest.approx(math.sqrt(math.exp(s**2) - 1) / math.sqrt(k), rel=0.02)


def test_clear_errors_on_bad_input():
    model = toy()
    x, _ = model.sample(4, seed=0)
    mu, log_var = random_q(4, 2, seed=0)
    with pytest.raises(ValueError, match="LinearGaussian"):
        exact_gap_split("not a model", x, mu, log_var)
    with pytest.raises(ValueError, match="mu has shape"):
        exact_gap_split(model, x, mu[:3], log_var[:3])
    with pytest.raises(ValueError, match="NaN"):
        exact_gap_split(model, x, mu.clone().fill_(float("nan")), log_var)
    with pytest.raises(ValueError, match="LinearGaussian"):
        LinearEncoder(nn.Linear(3, 2))
    wrapped = LinearAsVAE(model)
    with pytest.raises(ValueError, match="no examples"):
        AV.optimize_q(wrapped, x[:0], mu[:0], log_var[:0], num_steps=1)
    with pytest.raises(ValueError, match="one q per example"):
        AV.estimate_gaps(wrapped, x, (mu[:3], log_var[:3]), (mu[:3], log_var[:3]), num_samples=2)
    with pytest.raises(ValueError, match="num_samples"):
        AV.estimate_gaps(wrapped, x, (mu, log_var), (mu, log_var), num_samples=0)
    with pytest.raises(ValueError, match="num_steps"):
        AV.optimize_q(wrapped, x, mu, log_var, num_steps=0)
    with pytest.raises(ValueError, match="log_var"):
        AV.optimize_q(wrapped, x, mu, log_var[:, :1], num_steps=1)
    with pytest.raises(ValueError, match="increasing"):
        AV.optimization_path(wrapped, x, mu, log_var, [10, 5])
    with pytest.raises(ValueError, match="empty"):
        AV.mean_with_se(torch.zeros(0), torch.zeros(0))
