"""InfoNCE: at most log K for any critic, close to the truth with the optimal critic (chapter 5)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vaelib.estimators.contrastive import (
    QuadraticCritic,
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


@pytest.mark.parametrize("rho, dim", [(0.6, 3), (-0.9, 1), (0.2, 5)])
def test_gaussian_mi_is_the_entropy_difference_of_the_joint(rho, dim):
    """I(X; Y) = H(X) + H(Y) - H(X, Y) from the entropies of the Gaussians' covariances."""
    eye = torch.eye(dim, dtype=torch.float64)
    joint = torch.cat([torch.cat([eye, rho * eye], 1), torch.cat([rho * eye, eye], 1)])
    zeros = torch.zeros(2 * dim, dtype=torch.float64)
    h_joint = torch.distributions.MultivariateNormal(zeros, joint).entropy().item()
    h_one = torch.distributions.MultivariateNormal(zeros[:dim], eye).entropy().item()
    assert gaussian_mi(rho, dim) == pytest.approx(2 * h_one - h_joint, rel=1e-12)
    assert rho_for_mi(2 * h_one - h_joint, dim) == pytest.approx(abs(rho), rel=1e-12)


def test_rho_for_mi_known_values():
    # dim = 2, rho = 1/2: I = -log(3/4); dim = 1, I = log 2: 1 - rho^2 = 1/4, rho = sqrt(3)/2
    assert rho_for_mi(-math.log(0.75), 2) == pytest.approx(0.5, rel=1e-12)
    assert rho_for_mi(math.log(2.0), 1) == pytest.approx(math.sqrt(3) / 2, rel=1e-12)
    assert rho_for_mi(0.0, 3) == 0.0


def test_correlated_gaussians_have_unit_variance_and_correlation_rho():
    n, rho = 20_000, 0.7
    x, y = correlated_gaussians(n, rho, 2, batch_shape=(3,), seed=4)
    assert x.shape == y.shape == (3, n, 2) and x.dtype == y.dtype == torch.float64
    x, y = x.reshape(-1, 2), y.reshape(-1, 2)
    se = 4 / math.sqrt(3 * n)  # a few standard errors of a variance or correlation estimate
    for d in range(2):
        cov = torch.cov(torch.stack([x[:, d], y[:, d]]))
        assert cov[0, 0].item() == pytest.approx(1.0, abs=3 * se)
        assert cov[1, 1].item() == pytest.approx(1.0, abs=3 * se)
        assert cov[0, 1].item() == pytest.approx(rho, abs=2 * se)
    cross = torch.corrcoef(torch.stack([x[:, 0], y[:, 1]]))[0, 1].item()
    assert abs(cross) < 2 * se  # pairs are independent across dimensions
    a, b = correlated_gaussians(5, rho, 2, seed=4)
    assert torch.equal(correlated_gaussians(5, rho, 2, seed=4)[1], b)
    assert not torch.equal(correlated_gaussians(5, rho, 2, seed=5)[0], a)


def test_quadratic_critic_scores_loss_and_estimate_pair_by_pair():
    """f(x, y) = x^T W y - 1/2 sum_d v_d y_d^2 written out per pair; loss = -I_NCE, estimate
    = I_NCE per batch; the critic starts from W = 0 (no information) and a small v."""
    g = torch.Generator().manual_seed(6)
    critic = QuadraticCritic(3)
    assert torch.equal(critic.weight.detach(), torch.zeros(3, 3))
    assert (critic.log_v.detach().exp() < 0.1).all()
    with torch.no_grad():
        critic.weight.copy_(torch.randn(3, 3, generator=g))
        critic.log_v.copy_(torch.randn(3, generator=g))
    w, v = critic.weight.detach().double(), critic.log_v.detach().double().exp()
    x = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    y = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    want = torch.empty(2, 4, 4, dtype=torch.float64)
    for b in range(2):
        for i in range(4):
            for j in range(4):
                want[b, i, j] = sum(
                    x[b, i, p] * w[p, q] * y[b, j, q] for p in range(3) for q in range(3)
                ) - 0.5 * sum(v[q] * y[b, j, q] ** 2 for q in range(3))
    assert torch.allclose(critic.scores(x, y), want, atol=1e-6)

    def nce(s):  # log K + mean_i [s_ii - log sum_j exp s_ij]
        return (
            math.log(4)
            + sum(
                s[i, i].item() - math.log(sum(math.exp(s[i, j].item()) for j in range(4)))
                for i in range(4)
            )
            / 4
        )

    estimates = critic.estimate(x.float(), y.float())
    assert estimates.dtype == torch.float64 and estimates.shape == (2,)
    for b in range(2):
        assert estimates[b].item() == pytest.approx(nce(want[b]), abs=1e-5)
    terms = critic.loss(torch.cat([x[0], y[0]], 1).float())
    assert terms.loss.item() == pytest.approx(-nce(want[0]), abs=1e-5)
    assert terms.recon.item() == pytest.approx(terms.loss.item()) and terms.kl.item() == 0.0


def test_stacks_of_batches_and_batched_critic_scores():
    """Leading dimensions are batches: a (2, 3, K, K) stack gives the (2, 3) estimates of its
    matrices, and the critic's scores of a stack of batches are those of each batch."""
    g = torch.Generator().manual_seed(7)
    scores = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
    single = torch.tensor([[infonce(scores[a, b]).item() for b in range(3)] for a in range(2)])
    assert torch.allclose(infonce_batches(scores), single.double(), atol=1e-12)
    one = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    assert infonce_batches(one).item() == pytest.approx(infonce(one[0, 0]).item(), abs=1e-12)
    x, y = correlated_gaussians(6, 0.5, 2, batch_shape=(3,), seed=8)
    stacked = gaussian_critic_scores(x, y, 0.5)
    for b in range(3):
        assert torch.allclose(stacked[b], gaussian_critic_scores(x[b], y[b], 0.5), atol=1e-12)
    default, zero = correlated_gaussians(6, 0.5, 2), correlated_gaussians(6, 0.5, 2, seed=0)
    assert torch.equal(default[1], zero[1])  # seed 0 by default


@pytest.mark.parametrize("rho", [-1.5, -1.0, 1.0, 1.5])
def test_correlation_outside_the_open_interval_is_a_clear_error(rho):
    with pytest.raises(ValueError, match="strictly between -1 and 1"):
        gaussian_mi(rho, 2)


@pytest.mark.parametrize(
    "batch_size, num_steps, pairs, epochs",
    [
        (64, 150, 64 * 64, 2),
        (64, 10, 640, 1),
        (16, 300, 4096, 1),
        (8192, 3, 8192, 3),
        (2, 5, 10, 1),
        (17, 300, 17 * 240, 1),  # 4096 // 17 = 240 batches: 4,080 pairs, not more than 4,096
    ],
)
def test_train_critic_budget_and_data(monkeypatch, batch_size, num_steps, pairs, epochs):
    """num_steps batches of K fresh pairs, at most 4,096 pairs recycled over epochs beyond that
    (at least one batch): what train_critic hands to fit, recorded instead of training."""
    import vaelib.train

    calls = []
    monkeypatch.setattr(vaelib.train, "fit", lambda model, x, **kw: calls.append((x, kw)))
    critic = train_critic(batch_size, 0.5, 2, num_steps=num_steps, lr=0.02, seed=3)
    ((xy, kw),) = calls
    assert xy.shape == (pairs, 4) and xy.dtype == torch.float32
    assert kw["num_epochs"] == epochs and kw["batch_size"] == batch_size
    assert kw["lr"] == 0.02 and kw["seed"] == 3 and kw["progress"] is False
    x, y = correlated_gaussians(pairs, 0.5, 2, seed=3)
    assert torch.equal(xy, torch.cat([x, y], 1).float())
    assert isinstance(critic, QuadraticCritic) and critic.dim == 2
    calls.clear()
    train_critic(2, 0.5, 2)  # the defaults: 300 steps (here of 2 fresh pairs) at lr 0.05, seed 0
    ((xy, kw),) = calls
    assert kw["lr"] == 0.05 and kw["seed"] == 0 and kw["num_epochs"] == 1 and len(xy) == 600


@pytest.mark.parametrize("batch_size", [1, 0, 4.0])
def test_train_critic_needs_a_whole_batch_of_two_or_more(batch_size):
    with pytest.raises(ValueError, match="K >= 2"):
        train_critic(batch_size, 0.5, 2, num_steps=1)


@pytest.mark.parametrize(
    "scores, message",
    [(torch.zeros(1, 1), "K >= 2"), (torch.zeros(3, 4), "square"), (torch.zeros(3), "square")],
)
def test_bad_input_is_a_clear_error(scores, message):
    with pytest.raises(ValueError, match=message):
        infonce(scores)
    if scores.dim() == 2:  # the same matrix in a stack of batches
        with pytest.raises(ValueError, match=message):
            infonce_batches(scores.expand(2, 3, *scores.shape))
