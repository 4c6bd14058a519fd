"""MDL with polynomials, the Xu-Raginsky toy, and weight quantization (chapter 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from vaelib import generalization as gen
from vaelib.mdl import compare, fit_polynomial, make_data
from vaelib.quantize import gaussian_bits, quantize_step, quantize_uniform, quantized_copy


def test_polynomial_log_likelihood_matches_scipy():
    x, y = make_data(40, 0.3, seed=0)
    fit = fit_polynomial(x, y, 2)
    residual = y - np.polyval(fit["coef"], x)
    expected = stats.norm(0, math.sqrt(fit["var"])).logpdf(residual).sum()
    assert fit["log_lik"] == pytest.approx(expected, rel=1e-10)


def test_bic_prefers_the_polynomial_with_much_data_and_the_line_with_little():
    x, y = make_data(2000, 0.1, seed=1)
    xt, yt = make_data(2000, 0.1, seed=2)
    res = compare(x, y, xt, yt)
    assert res[5]["bic"] < res[1]["bic"] and res[5]["held_out"] > res[1]["held_out"]
    x, y = make_data(10, 2.0, seed=3)
    assert compare(x, y, xt, yt)[1]["bic"] < compare(x, y, xt, yt)[5]["bic"]


def test_population_risk_closed_form():
    w = torch.tensor([0.0, 0.7, -2.0], dtype=torch.float64)
    x = torch.randn(2_000_000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mc = gen.bounded_loss(w, x).mean(0)
    assert torch.allclose(mc, gen.population_risk(w), atol=2e-3)


def test_measured_gap_is_below_the_bound_and_shrinks_with_noise():
    out = gen.noisy_mean_experiment(5, [0.05, 1.0], num_draws=40_000)
    assert (out["gap"] <= out["bound"]).all()
    assert out["gap"][1] < out["gap"][0] and out["test_risk"][1] > out["test_risk"][0]
    assert out["info"][0] == pytest.approx(0.5 * math.log(1 + 1 / (5 * 0.05**2)))
    with pytest.raises(ValueError, match="noise_std"):
        gen.mutual_information(5, 0.0)


def test_uniform_quantizer_levels_and_error():
    w = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    for bits in (2, 4):
        q = quantize_uniform(w, bits)
        assert len(torch.unique(q)) <= 2**bits
        step = 2 * w.abs().max() / (2**bits - 1)
        assert (q - w).abs().max() <= step / 2 + 1e-6
    step = 0.05
    mse = (quantize_step(w, step) - w).pow(2).mean().item()
    assert mse == pytest.approx(step**2 / 12, rel=0.1)
    with pytest.raises(ValueError, match="bits"):
        quantize_uniform(w, 0)


def test_quantized_copy_leaves_the_model_alone():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    before = [p.clone() for p in model.parameters()]
    copy_, mse = quantized_copy(model, bits=2)
    assert set(mse) == {"0.weight", "1.weight"}
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert torch.equal(copy_[0].bias, model[0].bias)  # biases stay in full precision


def test_quantize_to_mse_hits_the_target():
    from vaelib.quantize import quantize_to_mse

    w = torch.randn(5000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for target in (1e-4, 0.05):
        assert (quantize_to_mse(w, target) - w).pow(2).mean().item() == pytest.approx(
            target, rel=0.05
        )
    with pytest.raises(ValueError, match="mse must"):
        quantize_to_mse(w, 10.0)


def test_gaussian_bits():
    assert gaussian_bits(1.0, 0.25) == pytest.approx(1.0)
    assert gaussian_bits(1.0, 2.0) == 0.0
