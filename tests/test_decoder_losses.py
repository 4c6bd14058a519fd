"""Tests for vaelib.decoder_losses: the Laplace NLL against torch.distributions, and its loss_fn
through vaelib.train.fit."""

import pytest
import torch

from vaelib.decoder_losses import laplace_loss, laplace_nll
from vaelib.models import mlp_vae
from vaelib.train import fit


def test_laplace_nll_matches_torch_distributions():
    torch.manual_seed(0)
    x, mean = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    expected = -torch.distributions.Laplace(mean, 0.2).log_prob(x).flatten(1).sum(1).mean()
    torch.testing.assert_close(laplace_nll(x, mean, 0.2), expected)
    with pytest.raises(ValueError, match="scale"):
        laplace_nll(x, mean, 0.0)
    with pytest.raises(ValueError, match="shape"):
        laplace_nll(x, mean[:2], 0.2)


def test_laplace_loss_trains_with_fit():
    torch.manual_seed(0)
    x = (torch.rand(64, 1, 28, 28) > 0.7).float()
    model = mlp_vae(4, hidden=32)
    history = fit(model, x, num_epochs=3, loss_fn=laplace_loss(0.1), progress=False, device="cpu")
    terms = laplace_loss(0.1)(model, x, 1.0)
    assert terms.loss.item() == pytest.approx(terms.recon.item() + terms.kl.item(), rel=1e-6)
    assert history.loss[-1] < history.loss[0]
