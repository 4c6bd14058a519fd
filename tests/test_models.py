"""Tests for vaelib.models: shapes, the loss decomposition, the MLP reference, clear errors."""

import threading
import time

import pytest
import torch
import torchvision
from torch.distributions import Bernoulli, Normal, kl_divergence

from vaelib.losses import kl_std_normal
from vaelib.models import (
    VAE,
    ConvDecoder,
    ConvEncoder,
    MLPDecoder,
    MLPEncoder,
    ResNet18Encoder,
    conv_vae,
    encoders,
    mlp_vae,
    vae_loss,
)
from vaelib.models.vae import reconstruction_nll


@pytest.fixture
def x():
    return torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "encoder", [lambda: ResNet18Encoder(8), lambda: ConvEncoder(8), lambda: MLPEncoder(8)]
)
def test_encoder_shapes(encoder, x):
    mu, log_var = encoder()(x)
    assert mu.shape == (4, 8) and log_var.shape == (4, 8)


def test_resnet_default_latent_dim_and_stem(x):
    encoder = ResNet18Encoder()
    assert encoder.latent_dim == 128
    assert encoder.features.conv1.in_channels == 1
    assert encoder.features.conv1.stride == (2, 2)
    assert encoder(x)[0].shape == (4, 128)


def test_resnet_computes_channels_last_with_the_same_result(x):
    torch.manual_seed(0)
    encoder = ResNet18Encoder(8).eval()
    weight = encoder.features.layer1[0].conv1.weight  # (64, 64, 3, 3): the layouts differ
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    # A copy in the default layout (through a state dict) computes the same codes.
    plain = torchvision.models.resnet18(weights=None)
    plain.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    plain.fc = torch.nn.Identity()
    plain.load_state_dict({k: v.contiguous() for k, v in encoder.features.state_dict().items()})
    assert plain.layer1[0].conv1.weight.is_contiguous()
    with torch.no_grad():
        expected = encoder.head(plain.eval()(x)).chunk(2, dim=1)
        torch.testing.assert_close(encoder(x), expected, atol=1e-5, rtol=1e-5)
    # The layout survives saving and loading.
    fresh = ResNet18Encoder(8)
    fresh.load_state_dict(encoder.state_dict())
    assert fresh.features.layer1[0].conv1.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.fixture
def online(monkeypatch, tmp_path):
    """No VAELIB_OFFLINE, an empty torch.hub cache and no remembered download failure."""
    monkeypatch.delenv("VAELIB_OFFLINE", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(encoders, "_DOWNLOAD_FAILED", {})


def test_resnet_pretrained_falls_back_and_says_so(monkeypatch, online):
    calls = []

    def no_network(self, *args, **kwargs):
        calls.append(1)
        raise OSError("Name or service not known")

    monkeypatch.setattr(torchvision.models.ResNet18_Weights, "get_state_dict", no_network)
    encoder = ResNet18Encoder(4, pretrained=True)
    assert not encoder.pretrained
    assert encoder.weights_source.startswith("random initialisation")
    assert "could not download" in encoder.weights_source
    assert "Name or service" not in encoder.weights_source  # no build-machine message
    ResNet18Encoder(4, pretrained=True)
    assert len(calls) == 1  # a failed download is not tried again in the same process


def test_resnet_download_gives_up_after_its_time_limit(monkeypatch, online):
    release = threading.Event()

    def stalled(self, *args, **kwargs):  # a server that never answers
        release.wait(30)
        raise OSError("timed out")

    monkeypatch.setattr(torchvision.models.ResNet18_Weights, "get_state_dict", stalled)
    monkeypatch.setattr(encoders, "DOWNLOAD_TIMEOUT", 0.5)
    start = time.perf_counter()
    encoder = ResNet18Encoder(4, pretrained=True)
    elapsed = time.perf_counter() - start
    release.set()
    assert not encoder.pretrained and elapsed < 5.0


def test_resnet_offline_never_calls_the_network(monkeypatch, online):
    def network(self, *args, **kwargs):
        raise AssertionError("the network was tried although VAELIB_OFFLINE=1")

    monkeypatch.setenv("VAELIB_OFFLINE", "1")
    monkeypatch.setattr(torchvision.models.ResNet18_Weights, "get_state_dict", network)
    encoder = ResNet18Encoder(4, pretrained=True)
    assert not encoder.pretrained and "VAELIB_OFFLINE=1" in encoder.weights_source


def test_resnet_pretrained_sums_rgb_filters_into_one_channel(monkeypatch, online):
    imagenet = torchvision.models.resnet18(weights=None).state_dict()
    monkeypatch.setattr(
        torchvision.models.ResNet18_Weights, "get_state_dict", lambda self, *a, **k: imagenet
    )
    encoder = ResNet18Encoder(4, pretrained=True)
    assert encoder.pretrained and "ImageNet" in encoder.weights_source
    expected = imagenet["conv1.weight"].sum(dim=1, keepdim=True)
    torch.testing.assert_close(encoder.features.conv1.weight, expected)
    torch.testing.assert_close(
        encoder.features.layer4[1].conv2.weight, imagenet["layer4.1.conv2.weight"]
    )


def test_resnet_full_stem_keeps_the_resolution(x):
    encoder = ResNet18Encoder(4, stem="full")
    assert encoder.features.conv1.stride == (1, 1)
    assert isinstance(encoder.features.maxpool, torch.nn.Identity)
    assert encoder(x)[0].shape == (4, 4)
    with pytest.raises(ValueError, match="stem must be one of"):
        ResNet18Encoder(4, stem="cifar")


@pytest.mark.parametrize("decoder", [lambda: ConvDecoder(3), lambda: MLPDecoder(3)])
def test_decoder_shapes(decoder):
    assert decoder()(torch.randn(5, 3)).shape == (5, 1, 28, 28)


def test_vae_outputs(x):
    torch.manual_seed(0)
    model = conv_vae(latent_dim=3)
    out = model(x)
    assert out.logits.shape == x.shape and out.mu.shape == out.z.shape == (4, 3)
    assert model.reconstruct(x).shape == x.shape
    samples = model.sample(6, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (6, 1, 28, 28)
    # the decoder's means at z ~ N(0, I), drawn here independently from the same generator state
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = torch.sigmoid(model.decoder(z))
    torch.testing.assert_close(samples, expected)


def test_vae_samples_decode_draws_from_the_prior():
    """model.sample decodes z ~ N(0, I): the latents it decodes have the prior's moments."""
    model = conv_vae(latent_dim=3)
    seen = []
    model.decode = lambda z: seen.append(z) or torch.zeros(len(z), 1, 28, 28)
    model.sample(20_000, generator=torch.Generator().manual_seed(2))
    (z,) = seen
    assert z.shape == (20_000, 3)
    torch.testing.assert_close(z.mean(0), torch.zeros(3), atol=0.03, rtol=0)  # SE 0.007
    torch.testing.assert_close(torch.cov(z.T), torch.eye(3), atol=0.05, rtol=0)  # SE 0.01


def test_loss_decomposes_into_recon_plus_beta_kl(x):
    torch.manual_seed(0)
    logits, mu, log_var = torch.randn(4, 1, 28, 28), torch.randn(4, 5), torch.randn(4, 5)
    for beta in (0.0, 1.0, 4.0):
        terms = vae_loss(x, logits, mu, log_var, beta=beta)
        torch.testing.assert_close(terms.loss, terms.recon + beta * terms.kl, rtol=0, atol=0)
    # each term against torch.distributions, summed per image and averaged over the batch
    recon = -Bernoulli(logits=logits, validate_args=False).log_prob(x).sum(dim=(1, 2, 3)).mean()
    q, prior = Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)
    torch.testing.assert_close(terms.recon, recon)
    torch.testing.assert_close(terms.kl, kl_divergence(q, prior).sum(dim=1).mean())
    torch.testing.assert_close(terms.kl, kl_std_normal(mu, log_var))


def test_gaussian_reconstruction_is_fixed_variance_nll(x):
    logits = torch.randn(4, 1, 28, 28)
    got = reconstruction_nll(x, logits, likelihood="gaussian", sigma=0.3)
    expected = -Normal(torch.sigmoid(logits), 0.3).log_prob(x).sum(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(got, expected)


def test_pixel_mean_reconstruction_is_beta_784(x):
    logits, mu, log_var = torch.randn(4, 1, 28, 28), torch.randn(4, 2), torch.randn(4, 2)
    mean_loss = vae_loss(x, logits, mu, log_var, beta=1.0, recon_reduction="mean").loss
    sum_loss = vae_loss(x, logits, mu, log_var, beta=784.0).loss
    torch.testing.assert_close(mean_loss * 784, sum_loss)


def adam_run(x, reduction, beta, eps):
    torch.manual_seed(0)
    model = conv_vae(2, (4, 8), (8, 4), recon_reduction=reduction)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=eps)
    for _ in range(5):
        loss = model.loss(x, beta=beta).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_adam_trains_pixel_mean_loss_like_beta_784(x):
    """Adam ignores the loss's overall scale, so averaging over pixels acts as beta = 784."""
    # without Adam's eps the two trajectories are the same
    mean_loss, beta_784 = adam_run(x, "mean", 1.0, 1e-12), adam_run(x, "sum", 784.0, 1e-12)
    torch.testing.assert_close(mean_loss, beta_784, rtol=0, atol=1e-5)
    # with the default eps = 1e-8 they differ slightly, far less than from beta = 1
    same = (adam_run(x, "mean", 1.0, 1e-8) - adam_run(x, "sum", 784.0, 1e-8)).norm()
    other = (adam_run(x, "mean", 1.0, 1e-8) - adam_run(x, "sum", 1.0, 1e-8)).norm()
    assert same < 0.05 * other


def test_loss_can_override_the_reconstruction_reduction(x):
    torch.manual_seed(0)
    model = conv_vae(2, (4, 8), (8, 4), recon_reduction="mean")
    torch.manual_seed(1)
    trained_on = model.loss(x)
    torch.manual_seed(1)
    scored_on = model.loss(x, recon_reduction="sum")
    torch.testing.assert_close(scored_on.recon, 784 * trained_on.recon)
    torch.testing.assert_close(scored_on.kl, trained_on.kl)


def test_mlp_vae_is_pytorch_example_size():
    model = mlp_vae()
    assert model.latent_dim == 20 and model.likelihood == "bernoulli"
    # fc1 784-400, fc21/fc22 400-20, fc3 20-400, fc4 400-784, as in pytorch/examples vae
    assert sum(p.numel() for p in model.parameters()) == 652_824


@pytest.mark.parametrize("model", [lambda: ResNet18Encoder(4), lambda: conv_vae(4)])
@pytest.mark.parametrize(
    "shape, message",
    [
        ((2, 1, 32, 32), "28 x 28"),
        ((2, 3, 28, 28), "3 channels"),
        ((2, 784), "reshape"),
        ((1, 28, 28), r"\(B, 1, 28, 28\)"),
    ],
)
def test_bad_images_give_clear_errors(model, shape, message):
    m = model()
    call = m.encode if isinstance(m, VAE) else m
    with pytest.raises(ValueError, match=message):
        call(torch.rand(shape))


def test_bad_latents_and_options_give_clear_errors():
    with pytest.raises(ValueError, match="latent_dim=3"):
        ConvDecoder(3)(torch.randn(2, 4))
    with pytest.raises(ValueError, match="same latent_dim"):
        VAE(ConvEncoder(2), ConvDecoder(3))
    with pytest.raises(ValueError, match="likelihood"):
        conv_vae(2, likelihood="poisson")
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        ConvEncoder(0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        conv_vae(2).loss(torch.rand(2, 1, 28, 28), beta=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        conv_vae(2).encode(torch.full((2, 1, 28, 28), float("nan")))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_log_likelihood_matches_torch_distributions_per_sample(x, likelihood):
    torch.manual_seed(0)
    model = VAE(MLPEncoder(3, 16), MLPDecoder(3, 16), likelihood=likelihood, sigma=0.3)
    z = torch.randn(5, 4, 3)  # (K, B, D)
    got = model.log_likelihood(x, z)
    assert got.shape == (5, 4) and got.dtype == torch.float64
    with torch.no_grad():
        mean = torch.sigmoid(model.decoder(z.reshape(-1, 3))).view(5, 4, 1, 28, 28).double()
    if likelihood == "bernoulli":  # Bernoulli log-probability, written out for grey levels
        expected = x.double() * mean.log() + (1 - x.double()) * (1 - mean).log()
    else:
        expected = Normal(mean, 0.3).log_prob(x.double().expand_as(mean))
    torch.testing.assert_close(got, expected.flatten(2).sum(2), rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError, match="K samples per image"):
        model.log_likelihood(x, z[0])
