"""Gaussian rate-distortion, the linear beta-VAE optimum, BIC and beta sweeps (chapter 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vaelib.models.linear_vae import LinearVAE
from vaelib.rate_distortion import (
    beta_sweep,
    bic,
    gaussian_rd,
    gaussian_rd_curve,
    gaussian_source,
    linear_beta_vae_optimum,
    rd_gap,
    rd_slope,
    reverse_water_filling,
    water_level,
)

VARIANCES = np.array([3.0, 1.0, 0.25])


@pytest.mark.parametrize("d", [0.01, 0.5, 1.9, 2.5])
def test_scalar_formula(d):
    expected = max(0.0, 0.5 * math.log(2.0 / d))
    assert gaussian_rd([2.0], d) == pytest.approx(expected, abs=1e-12)


def test_end_points():
    assert gaussian_rd(VARIANCES, 0.0) == math.inf
    assert gaussian_rd(VARIANCES, VARIANCES.sum()) == 0.0
    assert gaussian_rd(VARIANCES, 10.0) == 0.0


def test_water_filling_drops_the_small_components_first():
    theta = water_level(VARIANCES, 1.0)  # 0.25 is under water, the others share 0.75
    assert theta == pytest.approx(0.375)
    assert reverse_water_filling(VARIANCES, 1.0) == pytest.approx([0.375, 0.375, 0.25])
    assert reverse_water_filling(VARIANCES, 1.0).sum() == pytest.approx(1.0)


def brute_force_rd(variances, d, num=600):
    """Smallest sum_i max(0, 1/2 log(s_i / D_i)) over a grid of allocations with sum D_i = d."""
    grid = np.linspace(1e-4, d, num)
    d1, d2 = np.meshgrid(grid, grid, indexing="ij")
    alloc = np.stack([d1, d2, d - d1 - d2], axis=-1)[(d - d1 - d2) > 0]  # (M, 3), sum = d
    return float(np.maximum(0.0, 0.5 * np.log(variances / alloc)).sum(-1).min())


@pytest.mark.parametrize("d", [0.3, 1.0, 2.0, 3.5])
def test_water_filling_against_brute_force(d):
    exact = gaussian_rd(VARIANCES, d)
    brute = brute_force_rd(VARIANCES, d)
    assert brute >= exact - 1e-9  # no allocation beats water-filling
    assert brute == pytest.approx(exact, abs=2e-2)  # and the grid gets close to it


def test_slope_against_a_finite_difference():
    d, h = 1.0, 1e-6
    numeric = (gaussian_rd(VARIANCES, d + h) - gaussian_rd(VARIANCES, d - h)) / (2 * h)
    assert rd_slope(VARIANCES, d) == pytest.approx(numeric, rel=1e-5)
    assert rd_slope(VARIANCES, 5.0) == 0.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: gaussian_rd([1.0, -0.5], 0.1),
        lambda: gaussian_rd([1.0], -0.1),
        lambda: water_level([1.0], -1.0),
        lambda: linear_beta_vae_optimum([1.0], 0.0),
    ],
)
def test_bad_input_is_a_clear_error(call):
    with pytest.raises(ValueError, match="variances|distortion|beta"):
        call()


def test_linear_beta_vae_optimum_is_on_the_curve():
    for beta in (0.2, 1.0, 3.0, 10.0):
        opt = linear_beta_vae_optimum(VARIANCES, beta)
        assert rd_gap(VARIANCES, opt["distortion"], opt["rate"]) == pytest.approx(0.0, abs=1e-12)
        if beta / 2 < VARIANCES.max():  # some component is kept: the slope is -1 / beta
            assert rd_slope(VARIANCES, opt["distortion"]) == pytest.approx(-1 / beta)
    assert linear_beta_vae_optimum(VARIANCES, 10.0)["rate"] == 0.0


def test_exact_terms_match_monte_carlo():
    torch.manual_seed(0)
    model = LinearVAE(3, 2)
    d_exact, r_exact = model.exact_terms(VARIANCES)
    x = gaussian_source(VARIANCES, 400_000, seed=1)
    with torch.no_grad():
        terms = model.loss(x, beta=1.0)
    assert terms.recon.item() == pytest.approx(d_exact.item(), rel=1e-2)
    assert terms.kl.item() == pytest.approx(r_exact.item(), rel=1e-2)


@pytest.mark.parametrize("beta", [0.3, 1.0, 2.5])
def test_minimising_the_exact_loss_reaches_the_closed_form(beta):
    torch.manual_seed(0)
    model = LinearVAE(3).double()
    optimizer = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=500,
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        d, r = model.exact_terms(VARIANCES)
        loss = d + beta * r
        loss.backward()
        return loss

    optimizer.step(closure)
    d, r = (t.item() for t in model.exact_terms(VARIANCES))
    opt = linear_beta_vae_optimum(VARIANCES, beta)
    assert d + beta * r == pytest.approx(opt["distortion"] + beta * opt["rate"], abs=1e-4)
    assert d == pytest.approx(opt["distortion"], abs=2e-2)
    assert rd_gap(VARIANCES, d, r) >= -1e-9  # every linear-Gaussian code is on or above R(D)


def test_beta_sweep_trains_vectors_with_fit():
    x = gaussian_source(VARIANCES, 512)
    runs = beta_sweep(
        lambda: LinearVAE(3),
        x,
        [0.5, 4.0],
        num_epochs=30,
        batch_size=128,
        lr=0.05,
        input_shape=(3,),
        progress=False,
    )
    rates = [run["model"].exact_terms(VARIANCES)[1].item() for run in runs]
    assert rates[0] > rates[1]  # a larger beta buys a smaller rate
    with pytest.raises(ValueError, match="input_shape"):
        beta_sweep(lambda: LinearVAE(3), x, [1.0], num_epochs=1, input_shape=(4,))


def test_bic_arithmetic():
    assert bic(-100.0, 2, 50) == pytest.approx(100.0 + math.log(50))
    assert 0.5 * 2 * math.log(50) == pytest.approx(3.91, abs=5e-3)
    assert 0.5 * 6 * math.log(50) == pytest.approx(11.74, abs=5e-3)
    with pytest.raises(ValueError, match="n must"):
        bic(-1.0, 2, 0)


def test_curve_by_hand_and_components_of_zero_variance():
    """R(D) at three distortions of VARIANCES = (3, 1, 1/4), the water level found by hand."""
    by_hand = [
        0.5 * math.log(3 / 0.1) + 0.5 * math.log(1 / 0.1) + 0.5 * math.log(0.25 / 0.1),  # 3 x 0.1
        0.5 * math.log(3 / 0.375) + 0.5 * math.log(1 / 0.375),  # 0.25 under water, theta 0.375
        0.5 * math.log(3 / 2.0),  # theta = 2 - 0.25 - 1: only the largest is kept
        0.0,  # D above the total variance 4.25
    ]
    curve = gaussian_rd_curve(VARIANCES, [0.3, 1.0, 3.25, 5.0])
    assert curve.shape == (4,) and curve == pytest.approx(by_hand, rel=1e-12)
    assert water_level(VARIANCES, 0.3) == pytest.approx(0.1)
    assert water_level(VARIANCES, 3.25) == pytest.approx(2.0)
    assert water_level(VARIANCES, 5.0) == 3.0  # every component dropped: theta = max s_i
    assert rd_slope(VARIANCES, 1.0) == pytest.approx(-1 / (2 * 0.375))
    # a component of variance 0 costs nothing: the rate is the other component's
    assert gaussian_rd([2.0, 0.0], 0.5) == pytest.approx(0.5 * math.log(2 / 0.5))
    assert gaussian_rd([0.0, 0.0], 0.0) == 0.0 and gaussian_rd([0.0, 1.0], 0.0) == math.inf


def test_linear_beta_vae_optimum_terms_by_hand():
    opt = linear_beta_vae_optimum(VARIANCES, 1.0)  # theta = 1/2: D = (1/2, 1/2, 1/4)
    assert opt["per_component"] == pytest.approx([0.5, 0.5, 0.25])
    assert opt["distortion"] == pytest.approx(1.25)
    assert opt["rate"] == pytest.approx(0.5 * math.log(3 / 0.5) + 0.5 * math.log(1 / 0.5))
    assert opt["theta"] == 0.5 and opt["slope"] == -1.0
    assert linear_beta_vae_optimum(VARIANCES, 4.0)["slope"] == -0.25


def test_gaussian_source_has_the_given_variances():
    x = gaussian_source(VARIANCES, 40_000, seed=3)
    assert x.shape == (40_000, 3) and x.dtype == torch.float32
    var = x.double().var(0).numpy()
    # the sample variance of n normal draws has relative standard error sqrt(2 / n) = 0.7%
    assert var == pytest.approx(VARIANCES, rel=4 * math.sqrt(2 / 40_000))
    assert x.double().mean(0).abs().max().item() < 4 * math.sqrt(3 / 40_000)
    assert torch.equal(gaussian_source(VARIANCES, 5, seed=3), gaussian_source(VARIANCES, 5, seed=3))
    assert not torch.equal(gaussian_source(VARIANCES, 5, seed=4), gaussian_source(VARIANCES, 5, 3))


def test_beta_sweep_starts_every_beta_from_the_same_weights():
    x = gaussian_source(VARIANCES, 64)
    initial = []

    def make():
        model = LinearVAE(3)
        initial.append(model.encoder.weight.detach().clone())
        return model

    runs = beta_sweep(make, x, [2, 0.5], seed=7, num_epochs=1, batch_size=64, input_shape=(3,),
                      progress=False)  # fmt: skip
    assert [run["beta"] for run in runs] == [2.0, 0.5] and isinstance(runs[0]["beta"], float)
    assert torch.equal(initial[0], initial[1])
    torch.manual_seed(7)
    assert torch.equal(LinearVAE(3).encoder.weight, initial[0])  # seeded with ``seed``
    assert runs[0]["history"].beta == [2.0] and runs[0]["model"] is not runs[1]["model"]


def test_bic_edges_and_checks():
    assert bic(-5.0, 0, 10) == 5.0  # no parameters: the data's code length alone
    assert bic(-5.0, 3, 1) == 5.0  # one point: log 1 = 0
    assert bic(2.0, 4, np.int64(100)) == pytest.approx(-2.0 + 2 * math.log(100))
    for k in (-1, 2.5):
        with pytest.raises(ValueError, match="n_params"):
            bic(-1.0, k, 5)
    with pytest.raises(ValueError, match="n must"):
        bic(-1.0, 2, 1.5)


def test_slope_at_the_total_variance_and_default_seeds():
    # R(D) = 0 from D = sum_i s_i on: the slope there is 0 (the curve is flat from that point)
    assert rd_slope(VARIANCES, VARIANCES.sum()) == 0.0
    assert rd_slope(VARIANCES, 0.999 * VARIANCES.sum()) == pytest.approx(-1 / (2 * 3.0), rel=1e-2)
    assert torch.equal(gaussian_source(VARIANCES, 5), gaussian_source(VARIANCES, 5, seed=0))
    x, initial = gaussian_source(VARIANCES, 8), []

    def make():
        initial.append(LinearVAE(3).encoder.weight.detach().clone())
        return LinearVAE(3)

    beta_sweep(make, x, [1.0], num_epochs=1, batch_size=8, input_shape=(3,), progress=False)
    torch.manual_seed(0)
    assert torch.equal(initial[0], LinearVAE(3).encoder.weight)  # seed 0 by default
