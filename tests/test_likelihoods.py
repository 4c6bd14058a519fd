"""vaelib.likelihoods and vaelib.information_units against torch.distributions, scipy's
numerical integration and closed forms (chapter 0, the background page)."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import integrate, stats

from vaelib import information_units as iu
from vaelib import likelihoods as lk

D = torch.distributions


def random_probs(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


# ---------------------------------------------------------------- information units


def test_entropy_matches_categorical():
    p = random_probs(5, 7)
    assert torch.allclose(iu.entropy(p), D.Categorical(probs=p).entropy(), atol=1e-12)


def test_entropy_handles_zero_probabilities():
    p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    assert iu.entropy(p).item() == pytest.approx(math.log(2), abs=1e-15)


def test_kl_matches_torch_and_cross_entropy_is_entropy_plus_kl():
    p, q = random_probs(4, 6, seed=1), random_probs(4, 6, seed=2)
    reference = D.kl_divergence(D.Categorical(probs=p), D.Categorical(probs=q))
    assert torch.allclose(iu.kl_divergence(p, q), reference, atol=1e-12)
    assert torch.allclose(iu.cross_entropy(p, q), iu.entropy(p) + reference, atol=1e-12)
    assert (iu.kl_divergence(p, q) > 0).all()
    assert iu.kl_divergence(p, p).abs().max().item() < 1e-14


def test_cross_entropy_matches_torch_functional():
    logits = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    target = torch.tensor([0, 4, 2])
    p = torch.nn.functional.one_hot(target, 5).double()
    ours = iu.cross_entropy(p, torch.softmax(logits, -1))
    reference = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    assert torch.allclose(ours, reference, atol=1e-12)


def test_nats_bits_and_bits_per_dim():
    assert iu.nats_to_bits(math.log(2)) == pytest.approx(1.0, abs=1e-15)
    assert iu.bits_to_nats(iu.nats_to_bits(3.7)) == pytest.approx(3.7, abs=1e-14)
    # a uniform over 256 levels in every dimension: exactly 8 bits per dimension
    nll = 784 * math.log(256)
    assert iu.nats_to_bits_per_dim(nll, 784) == pytest.approx(8.0, abs=1e-12)
    # entropy in bits of a fair coin from torch: 1
    coin = D.Bernoulli(probs=torch.tensor(0.5)).entropy()
    assert iu.nats_to_bits(coin).item() == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bits_per_dim_rejects_bad_dims(bad):
    with pytest.raises(ValueError, match="num_dims"):
        iu.nats_to_bits_per_dim(100.0, bad)


def test_probability_vectors_are_checked():
    with pytest.raises(ValueError, match="sum to 1"):
        iu.entropy(torch.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match="negative"):
        iu.kl_divergence(torch.tensor([1.2, -0.2]), torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="scalar"):
        iu.entropy(torch.tensor(1.0))


# ---------------------------------------------------------------- Bernoulli


def test_bernoulli_nll_matches_torch_bernoulli_on_binary_pixels():
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(8, 784, generator=g) > 0.7).double()
    logits = torch.randn(8, 784, generator=g, dtype=torch.float64)
    reference = -D.Bernoulli(logits=logits).log_prob(x).sum(dim=1).mean()
    assert lk.bernoulli_nll(x, logits).item() == pytest.approx(reference.item(), rel=1e-12)


def test_bce_on_grey_pixels_is_minimal_at_the_target_with_the_entropy():
    x = torch.tensor([0.0, 0.2, 0.5, 0.9, 1.0], dtype=torch.float64)
    grid = torch.linspace(-8, 8, 4001, dtype=torch.float64)
    bce = lk.bernoulli_nll(x[:, None].expand(5, 4001), grid[None, :].expand(5, 4001), "none")
    best = bce.min(dim=1).values
    assert torch.allclose(best, lk.binary_entropy(x), atol=5e-4)
    assert lk.binary_entropy(torch.tensor(0.5)).item() == pytest.approx(math.log(2))
    assert best[2].item() > 0.69  # a grey pixel's BCE never reaches zero


# ---------------------------------------------------------------- continuous Bernoulli


def quad_log_norm(lam: float) -> float:
    """log C(lambda) as 1 / the integral of lambda^x (1 - lambda)^(1 - x) over [0, 1]."""
    value, _ = integrate.quad(lambda x: lam**x * (1 - lam) ** (1 - x), 0.0, 1.0, epsabs=1e-14)
    return -math.log(value)


LAMBDAS = [
    1e-6,
    1e-3,
    0.05,
    0.3,
    0.49,
    0.4999,
    0.5 - 1e-9,
    0.5,
    0.5 + 1e-7,
    0.5001,
    0.51,
    0.8,
    0.999,
    1 - 1e-6,
]


@pytest.mark.parametrize("lam", LAMBDAS)
def test_continuous_bernoulli_normaliser_matches_numerical_integration(lam):
    ours = lk.continuous_bernoulli_log_norm(torch.tensor(lam, dtype=torch.float64)).item()
    assert ours == pytest.approx(quad_log_norm(lam), abs=1e-10)


def test_normaliser_takes_python_floats_in_double_precision():
    lam = 0.5 - 1e-7  # float32 would round this to 0.4999999
    ours = lk.continuous_bernoulli_log_norm(lam).item()
    assert ours == pytest.approx(quad_log_norm(lam), abs=1e-13)


def test_normaliser_is_two_at_one_half_and_smooth_across_the_switch():
    assert lk.continuous_bernoulli_log_norm(torch.tensor(0.5)).item() == pytest.approx(math.log(2))
    r = lk.TAYLOR_RADIUS
    lam = 0.5 - 0.5 * torch.tensor([r * (1 - 1e-12), r * (1 + 1e-12)], dtype=torch.float64)
    inside, outside = lk.continuous_bernoulli_log_norm(lam)
    assert abs(inside - outside).item() < 1e-13


def test_continuous_bernoulli_nll_matches_torch_log_prob():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(6, 50, generator=g, dtype=torch.float64)
    logits = 4 * torch.randn(6, 50, generator=g, dtype=torch.float64)
    logits[0, :10] = 1e-5  # lambda within torch's and our Taylor region
    reference = -D.ContinuousBernoulli(logits=logits).log_prob(x)
    ours = lk.continuous_bernoulli_nll(x, logits, reduction="none")
    assert torch.allclose(ours, reference, atol=1e-6)


@pytest.mark.parametrize("lam", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_normaliser_rejects_lambda_outside_the_open_interval(lam):
    with pytest.raises(ValueError, match="lam"):
        lk.continuous_bernoulli_log_norm(torch.tensor(lam))


def test_pixels_outside_the_unit_interval_are_rejected():
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        lk.bernoulli_nll(torch.tensor([[1.2]]), torch.tensor([[0.0]]))
    with pytest.raises(ValueError, match="broadcast"):
        lk.bernoulli_nll(torch.zeros(2, 3), torch.zeros(2, 4))


# ---------------------------------------------------------------- dequantization, discretized


@pytest.mark.parametrize(
    "mu, log_scale", [(0.3, -3.0), (0.0, -6.0), (1.0, -1.0), (2.0, -5.0), (-1.0, 0.5), (0.5, -9.0)]
)
def test_discretized_gaussian_masses_sum_to_one(mu, log_scale):
    log_mass = lk.discretized_gaussian_log_mass(torch.tensor(mu), torch.tensor(log_scale))
    assert log_mass.shape == (256,)
    assert torch.isfinite(log_mass).all()
    assert log_mass.exp().sum().item() == pytest.approx(1.0, abs=1e-12)


def test_discretized_gaussian_matches_scipy_cdf_differences():
    mu, sigma = 0.42, 0.07
    log_mass = lk.discretized_gaussian_log_mass(torch.tensor(mu), torch.tensor(math.log(sigma)))
    k = torch.arange(1, 255)
    lower, upper = (k - 0.5) / 255, (k + 0.5) / 255
    reference = stats.norm.cdf(upper.numpy(), mu, sigma) - stats.norm.cdf(lower.numpy(), mu, sigma)
    assert torch.allclose(log_mass[1:255].exp(), torch.from_numpy(reference), atol=1e-14)
    assert log_mass[0].exp().item() == pytest.approx(stats.norm.cdf(0.5 / 255, mu, sigma))


def test_discretized_gaussian_nll_picks_the_pixels_bin():
    x = torch.tensor([[0.0, 128 / 255, 1.0]])
    mu, log_scale = torch.tensor([[0.1, 0.5, 0.9]]), torch.full((1, 3), -2.0)
    masses = lk.discretized_gaussian_log_mass(mu, log_scale)
    expected = -(masses[0, 0, 0] + masses[0, 1, 128] + masses[0, 2, 255])
    assert lk.discretized_gaussian_nll(x, mu, log_scale).item() == pytest.approx(expected.item())
    # every level of a pixel, one at a time, against the full table of masses
    every = torch.arange(256, dtype=torch.float64)[:, None] / 255
    nll = lk.discretized_gaussian_nll(
        every, torch.tensor(0.7), torch.tensor(-2.5), reduction="none"
    )
    table = lk.discretized_gaussian_log_mass(torch.tensor(0.7), torch.tensor(-2.5))
    assert torch.allclose(-nll[:, 0], table, atol=1e-12)


def test_discretized_gaussian_rejects_pixels_off_the_grid():
    with pytest.raises(ValueError, match="not quantized"):
        lk.discretized_gaussian_nll(torch.tensor([[0.5]]), torch.tensor([[0.5]]), -2.0)


def test_dequantize_fills_each_level_s_bin():
    x = torch.arange(256, dtype=torch.float64) / 255
    y = lk.dequantize(x.repeat(20), generator=torch.Generator().manual_seed(6))
    levels = torch.arange(256, dtype=torch.float64).repeat(20)
    assert ((y >= levels / 256) & (y < (levels + 1) / 256)).all()


def test_uniform_density_on_the_cube_is_eight_bits_per_dim():
    # the uniform density on [0, 1]^D has NLL 0; on 256 levels that is D log 256 nats: 8 bits/dim
    nll = lk.unit_cube_to_bin_nll(0.0, 784)
    assert iu.nats_to_bits_per_dim(nll, 784) == pytest.approx(8.0)
    with pytest.raises(ValueError, match="num_bins"):
        lk.unit_cube_to_bin_nll(0.0, 784, num_bins=0)
