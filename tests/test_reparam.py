"""Tests for vaelib.reparam: the reparameterization trick and the one log_var clamp (chapter 3)."""

import math

import pytest
import torch

from vaelib.config import set_seed
from vaelib.losses import kl_std_normal
from vaelib.reparam import LOG_VAR_MAX, LOG_VAR_MIN, clamp_log_var, reparameterize

F64 = torch.float64


def test_shapes_and_dtype():
    mu, log_var = torch.zeros(4, 3, dtype=F64), torch.zeros(4, 3, dtype=F64)
    assert reparameterize(mu, log_var).shape == (4, 3)
    z = reparameterize(mu, log_var, num_samples=5)
    assert z.shape == (5, 4, 3) and z.dtype == F64


def test_samples_have_the_right_mean_and_variance():
    set_seed(0)
    mu = torch.tensor([[-1.0, 0.5, 3.0]], dtype=F64)
    log_var = torch.tensor([[0.0, math.log(0.25), math.log(4.0)]], dtype=F64)
    n = 200_000
    z = reparameterize(mu, log_var, num_samples=n)[:, 0]  # (n, 3)
    sigma = torch.exp(0.5 * log_var[0])
    assert torch.allclose(z.mean(0), mu[0], atol=5 * (sigma / n**0.5).max().item())
    assert torch.allclose(z.var(0), sigma**2, rtol=0.02)


def test_per_sample_derivatives_are_the_chain_rule():
    """dz/dmu = 1 and dz/dlog_var = sigma * eps / 2 = (z - mu) / 2, per sample, by autograd."""
    set_seed(1)
    mu = torch.tensor([0.3, -2.0], dtype=F64, requires_grad=True)
    log_var = torch.tensor([0.4, -1.0], dtype=F64, requires_grad=True)
    z = reparameterize(mu, log_var)
    for d in range(2):
        g_mu, g_lv = torch.autograd.grad(z[d], (mu, log_var), retain_graph=True)
        assert g_mu[d].item() == pytest.approx(1.0)
        assert g_lv[d].item() == pytest.approx(0.5 * (z[d] - mu[d]).item(), rel=1e-12)
        assert g_mu[1 - d].item() == 0.0 and g_lv[1 - d].item() == 0.0


@pytest.mark.parametrize(
    "f, expectation",
    [
        (lambda z: z.pow(2), lambda mu, log_var: mu.pow(2) + log_var.exp()),
        (torch.cos, lambda mu, log_var: torch.cos(mu) * torch.exp(-0.5 * log_var.exp())),
    ],
    ids=["quadratic", "cosine"],
)
def test_gradient_through_samples_matches_gradient_of_analytic_expectation(f, expectation):
    """The mean of autograd gradients through reparameterize equals autograd of E_q[f]."""
    set_seed(2)
    mu0 = torch.tensor([1.0, -0.5], dtype=F64)
    log_var0 = torch.tensor([0.0, math.log(0.3)], dtype=F64)
    n = 50_000
    # One (mu, log_var) leaf per sample, so autograd returns n per-sample gradients.
    mu = mu0.expand(n, 2).clone().requires_grad_(True)
    log_var = log_var0.expand(n, 2).clone().requires_grad_(True)
    g_mu, g_lv = torch.autograd.grad(f(reparameterize(mu, log_var)).sum(), (mu, log_var))

    mu_t, lv_t = mu0.clone().requires_grad_(True), log_var0.clone().requires_grad_(True)
    t_mu, t_lv = torch.autograd.grad(expectation(mu_t, lv_t).sum(), (mu_t, lv_t))
    for sample, truth in ((g_mu, t_mu), (g_lv, t_lv)):
        se = sample.std(0) / n**0.5
        assert ((sample.mean(0) - truth).abs() < 4 * se).all(), (sample.mean(0), truth, se)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"log_var has shape \(4, 3\) but mu has shape \(4, 2\)"):
        reparameterize(torch.zeros(4, 2), torch.zeros(4, 3))


def test_nan_is_a_clear_error():
    with pytest.raises(ValueError, match="mu contains NaN"):
        reparameterize(torch.tensor([float("nan")]), torch.zeros(1))
    with pytest.raises(ValueError, match="log_var contains an infinite value"):
        reparameterize(torch.zeros(1), torch.tensor([float("inf")]))


@pytest.mark.parametrize("num_samples", [0, -3, 2.5])
def test_bad_num_samples(num_samples):
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        reparameterize(torch.zeros(2), torch.zeros(2), num_samples=num_samples)


def test_non_tensor_input_is_a_clear_error():
    with pytest.raises(TypeError, match="mu must be a tensor or a number"):
        reparameterize("zero", torch.zeros(1))


def test_clamp_bounds_and_its_gradient():
    """The chapter's claims: the clamp keeps the KL finite, and has zero gradient outside."""
    raw = torch.tensor([LOG_VAR_MIN - 5, -1.0, LOG_VAR_MAX + 80], requires_grad=True)
    clamped = clamp_log_var(raw)
    assert clamped.tolist() == [LOG_VAR_MIN, -1.0, LOG_VAR_MAX]
    clamped.sum().backward()
    assert raw.grad.tolist() == [0.0, 1.0, 0.0]
    big = torch.tensor([[100.0]])  # float32
    assert torch.isinf(kl_std_normal(torch.zeros_like(big), big))
    assert torch.isfinite(kl_std_normal(torch.zeros_like(big), clamp_log_var(big)))
    # sigma stays strictly positive and finite at both bounds, in float32
    bounds = torch.tensor([LOG_VAR_MIN, LOG_VAR_MAX])
    sigma = torch.exp(0.5 * bounds)
    assert (sigma > 0).all() and torch.isfinite(torch.exp(bounds)).all()
    # the documented bounds: sigma from about 3e-7 to 2e4
    assert sigma.tolist() == pytest.approx([3.06e-7, 2.2026e4], rel=1e-3)
