"""Tests for vaelib.bimodal and vaelib.adversarial: the black-or-white pixel's optima by gradient
descent against their closed forms, and the adversarial toy against the mean."""

import math

import pytest
import torch

from vaelib.adversarial import mode_report, train_pixel_gan
from vaelib.bimodal import (
    fit_mixture,
    fit_point,
    mixture_nll,
    near_mode,
    pixel_optima,
    pixel_values,
)


@pytest.mark.parametrize("p", [0.2, 0.7, 0.9])
def test_mse_finds_the_mean_and_l1_the_median(p):
    x = pixel_values(2000, p, seed=1)
    assert fit_point(x, "mse", lr=0.01) == pytest.approx(x.mean().item(), abs=1e-3)
    assert fit_point(x, "l1", lr=0.01) == pytest.approx(pixel_optima(p)["l1"], abs=0.015)
    assert pixel_optima(p)["mse"] == p


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_the_mixture_finds_both_modes_and_their_frequencies(p):
    x = pixel_values(2000, p, seed=2)
    fit = fit_mixture(x, sigma=0.1, num_steps=300)
    torch.testing.assert_close(
        fit["mus"], torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-3, rtol=0
    )
    # the maximum-likelihood weights are the sample's frequencies of 0 and 1
    freq = x.double().mean().item()
    torch.testing.assert_close(
        fit["weights"], torch.tensor([1 - freq, freq], dtype=torch.float64), atol=1e-3, rtol=0
    )
    assert pixel_optima(p)["weights"] == pytest.approx((1 - p, p))


def test_mixture_fits_many_pixels_at_once():
    x = torch.stack([pixel_values(1000, p, seed=k) for k, p in enumerate((0.1, 0.5, 0.8))], dim=1)
    fit = fit_mixture(x, num_steps=300)
    assert fit["mus"].shape == (2, 3) and fit["weights"].shape == (2, 3)
    torch.testing.assert_close(fit["weights"][1], x.double().mean(dim=0), atol=1e-3, rtol=0)


def test_mixture_nll_against_torch_distributions():
    x = torch.tensor([[0.0, 0.3], [1.0, 0.9], [0.5, 0.1]], dtype=torch.float64)  # (N=3, P=2)
    mus = torch.tensor([[0.0, 0.2], [1.0, 0.7]], dtype=torch.float64)
    logits = torch.tensor([[0.3, -1.0], [0.0, 0.5]], dtype=torch.float64)
    expected = []
    for j in range(2):
        mix = torch.distributions.MixtureSameFamily(
            torch.distributions.Categorical(logits=logits[:, j]),
            torch.distributions.Normal(mus[:, j], 0.2),
        )
        expected.append(-mix.log_prob(x[:, j]).mean())
    torch.testing.assert_close(mixture_nll(x, mus, logits, 0.2), torch.stack(expected))


def test_l1_median_at_one_half_and_bad_input():
    assert pixel_optima(0.5)["l1"] == 0.5
    with pytest.raises(ValueError, match="probability"):
        pixel_values(10, 1.5)
    with pytest.raises(ValueError, match="non-empty"):
        fit_point(torch.zeros(0))
    with pytest.raises(ValueError, match="sigma"):
        fit_mixture(torch.zeros(5), sigma=0.0)


def test_near_mode():
    assert near_mode(torch.tensor([0.05, 0.5, 0.95, 1.2]), tol=0.1).tolist() == [
        True,
        False,
        True,
        False,
    ]


def test_mode_report_of_the_mean_and_of_an_independent_guess():
    p = 0.7
    mean = mode_report(torch.full((20000,), p), p)
    assert mean["near_mode"] == 0.0 and math.isnan(mean["wrong"])
    assert mean["sq_error"] == pytest.approx(p * (1 - p), abs=0.01)  # Var(x), the least possible
    guess = mode_report(pixel_values(20000, p, seed=9), p)  # sharp, with the right frequencies
    assert guess["near_mode"] == 1.0 and guess["white"] == pytest.approx(p, abs=0.01)
    assert guess["wrong"] == pytest.approx(2 * p * (1 - p), abs=0.01)
    assert guess["sq_error"] == pytest.approx(2 * p * (1 - p), abs=0.01)


def test_the_adversarial_generator_commits_to_the_modes():
    outputs = train_pixel_gan(0.7, num_steps=300, seed=0, num_outputs=1000)
    assert outputs.shape == (1000,) and ((outputs >= 0) & (outputs <= 1)).all()
    report = mode_report(outputs, 0.7)
    assert report["near_mode"] > 0.9  # sharp, where the MSE fit (0.7) is never near a mode
    assert report["sq_error"] > 0.7 * 0.3  # and pays for it in squared error
