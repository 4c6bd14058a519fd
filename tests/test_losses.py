"""vaelib.losses against PyTorch's references and closed forms."""

import math

import pytest
import torch

from vaelib.losses import gaussian_nll, kl_normal, kl_std_normal, reduce


@pytest.fixture
def xs():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    mu = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    log_var = torch.randn(8, 5, generator=gen, dtype=torch.float64)
    return x, mu, log_var


def test_gaussian_nll_matches_normal_log_prob(xs):
    x, mu, log_var = xs
    expected = -torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).log_prob(x)
    torch.testing.assert_close(gaussian_nll(x, mu, log_var, reduction="none"), expected)


def test_gaussian_nll_var_and_log_var_agree(xs):
    x, mu, log_var = xs
    torch.testing.assert_close(
        gaussian_nll(x, mu, var=torch.exp(log_var)), gaussian_nll(x, mu, log_var)
    )


def test_gaussian_nll_matches_torch_gaussian_nll_loss(xs):
    x, mu, log_var = xs
    var = torch.exp(log_var)
    expected = torch.nn.GaussianNLLLoss(reduction="mean")(mu, x, var)
    torch.testing.assert_close(gaussian_nll(x, mu, log_var, const=False), expected)


def test_unit_variance_nll_is_scaled_mse_plus_constant(xs):
    x, mu, _ = xs
    n = x.numel()
    mse = torch.nn.functional.mse_loss(mu, x)
    expected = n / 2 * math.log(2 * math.pi) + n / 2 * mse
    torch.testing.assert_close(gaussian_nll(x, mu, reduction="sum"), expected)


def test_scalar_log_var_broadcasts(xs):
    x, mu, _ = xs
    full = torch.full_like(x, -1.5)
    torch.testing.assert_close(gaussian_nll(x, mu, -1.5), gaussian_nll(x, mu, full))


def test_reductions():
    values = torch.arange(12.0).reshape(3, 4)
    assert reduce(values, "sum").item() == 66.0
    assert reduce(values, "mean").item() == 5.5
    assert reduce(values, "batchmean").item() == 22.0
    assert reduce(values, "none") is values
    with pytest.raises(ValueError, match="reduction must be one of"):
        reduce(values, "average")


def test_kl_std_normal_matches_torch(xs):
    _, mu, log_var = xs
    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p)
    torch.testing.assert_close(kl_std_normal(mu, log_var, reduction="none"), expected)
    torch.testing.assert_close(kl_std_normal(mu, log_var), expected.sum(dim=1).mean())


def test_kl_normal_matches_torch_and_reduces_to_std(xs):
    x, mu, log_var = xs
    mu_p, log_var_p = x, log_var.flip(0)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(mu_p, torch.exp(0.5 * log_var_p))
    expected = torch.distributions.kl_divergence(q, p)
    torch.testing.assert_close(kl_normal(mu, log_var, mu_p, log_var_p, reduction="none"), expected)
    torch.testing.assert_close(kl_normal(mu, log_var, 0.0, 0.0), kl_std_normal(mu, log_var))


def test_kl_is_zero_only_at_the_prior():
    zeros = torch.zeros(4, 3)
    assert kl_std_normal(zeros, zeros).item() == 0.0
    assert kl_std_normal(zeros + 0.1, zeros).item() > 0.0


def test_gaussian_nll_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"mu has shape \(4, 3\) but x has shape \(4, 2\)"):
        gaussian_nll(torch.zeros(4, 2), torch.zeros(4, 3))


def test_gaussian_nll_rejects_log_var_that_does_not_broadcast():
    with pytest.raises(ValueError, match="does not broadcast"):
        gaussian_nll(torch.zeros(4, 2), torch.zeros(4, 2), torch.zeros(4, 3))


def test_gaussian_nll_rejects_nan():
    x = torch.zeros(3)
    x[1] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN"):
        gaussian_nll(x, torch.zeros(3))


@pytest.mark.parametrize("var", [0.0, -1.0])
def test_gaussian_nll_rejects_non_positive_variance(var):
    with pytest.raises(ValueError, match="var must be strictly positive"):
        gaussian_nll(torch.zeros(3), torch.zeros(3), var=torch.tensor([1.0, var, 1.0]))


def test_gaussian_nll_rejects_both_parameterisations():
    with pytest.raises(ValueError, match="either log_var or var"):
        gaussian_nll(torch.zeros(3), torch.zeros(3), 0.0, var=1.0)


def test_kl_rejects_mismatched_and_nan():
    with pytest.raises(ValueError, match="log_var has shape"):
        kl_std_normal(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="log_var contains an infinite value"):
        kl_std_normal(torch.zeros(2), torch.tensor([0.0, float("inf")]))
    with pytest.raises(ValueError, match="does not broadcast"):
        kl_normal(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 4), 0.0)
