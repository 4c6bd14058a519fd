"""vaelib.regression: the learned-variance toy of chapter 1 and the claims its prose makes."""

from functools import cache

import pytest
import torch

from vaelib.regression import MeanVarianceNet, fit_mean_variance, hard_regions_data


@cache
def train(mode, floor=None, num_epochs=2000):
    """The chapter's experiment at half its size (about 2 s per model on one core)."""
    x, y, hard = hard_regions_data(n=512, seed=0)
    torch.manual_seed(1)
    model = MeanVarianceNet(hidden=64, variance=mode, log_var_min=floor)
    history = fit_mean_variance(model, x, y, num_epochs=num_epochs, lr=3e-3)
    with torch.no_grad():
        mu, log_var = model(x)
    return history, ((y - mu) ** 2)[hard].mean().item(), torch.exp(0.5 * log_var), hard


def test_fixed_variance_is_sigma_one_and_nll_tracks_mse():
    history, _, sigma, _ = train("fixed", num_epochs=50)
    assert torch.all(sigma == 1.0)
    nll, mse = history["nll"][-1], history["mse"][-1]
    assert nll == pytest.approx(
        0.5 * torch.log(torch.tensor(2 * torch.pi)).item() + mse / 2, rel=1e-4
    )


def test_learned_variance_cheats_in_the_hard_region():
    _, mse_fixed, _, _ = train("fixed")
    _, mse_learned, sigma, hard = train("learned")
    assert mse_learned > 5 * mse_fixed  # the mean stops fitting the wiggle...
    assert sigma[hard].mean() > 2 * sigma[~hard].mean()  # ...and sigma grows there instead


def test_floor_bounds_sigma_and_nll():
    history, _, sigma, _ = train("learned", floor=-4.0)
    assert sigma.min() >= torch.exp(torch.tensor(-2.0)) - 1e-6
    unfloored, _, _, _ = train("learned")
    assert unfloored["sigma_min"][-1] < history["sigma_min"][-1]


def test_bad_inputs():
    with pytest.raises(ValueError, match="variance must be one of"):
        MeanVarianceNet(variance="diagonal")
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1\)"):
        MeanVarianceNet()(torch.zeros(5))
