"""vaelib.vae_information and what it needs: fit's callback, the MLP encoder's activation."""

import math

import pytest
import torch

from vaelib.models import MLPEncoder, mlp_vae
from vaelib.train import fit
from vaelib.vae_information import fit_recording, vae_information


def test_vae_information_against_closed_forms():
    mu = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    log_var = torch.full((200, 3), -1.0)
    out = vae_information(mu, log_var, torch.arange(200) % 4)
    assert out["h_zx"] == pytest.approx(1.5 * (math.log(2 * math.pi * math.e) - 1.0))
    rate = 0.5 * (mu.double() ** 2 + math.exp(-1.0) - 1 + 1.0).sum(1).mean().item()
    assert out["rate"] == pytest.approx(rate)
    assert 0 <= out["ixt_bd"] <= out["ixt_kl"] <= math.log(200)
    assert out["rate"] >= out["ixt_bd"]


def test_fit_calls_back_after_every_epoch():
    seen = []
    model = mlp_vae(latent_dim=2, hidden=16)
    fit(
        model,
        torch.rand(32, 1, 28, 28),
        num_epochs=3,
        batch_size=16,
        progress=False,
        device=torch.device("cpu"),
        callback=lambda epoch, m: seen.append((epoch, m is model)),
    )
    assert seen == [(1, True), (2, True), (3, True)]


def test_fit_recording_series():
    x = torch.rand(40, 1, 28, 28)
    y = torch.arange(40) % 2
    model = mlp_vae(latent_dim=2, hidden=16, activation="tanh")
    history, series = fit_recording(
        model,
        x,
        x[:20],
        y[:20],
        beta=lambda e: 0.0 if e < 1 else 2.0,
        num_epochs=2,
        batch_size=20,
        progress=False,
        device=torch.device("cpu"),
    )
    assert series["epoch"].tolist() == [0, 1, 2]
    assert series["beta"].tolist() == [0.0, 0.0, 2.0]
    assert (series["rate"] >= series["ixt_bd"] - 1e-9).all()
    assert len(history.loss) == 2


def test_mlp_encoder_activation():
    assert isinstance(MLPEncoder(2, 8, "tanh").features[2], torch.nn.Tanh)
    assert isinstance(MLPEncoder(2, 8).features[2], torch.nn.ReLU)
    with pytest.raises(ValueError, match="activation"):
        MLPEncoder(2, 8, "gelu")
