"""Encoders q(z | x) for 1 x 28 x 28 images: image -> (mu, log_var), each of shape (B, D).

The encoders share one interface (``forward(x) -> (mu, log_var)`` and a ``latent_dim``
attribute), so :class:`vaelib.models.vae.VAE` works with any of them:

* :class:`ResNet18Encoder`, torchvision's ResNet-18 (He et al. 2016) with a 1-channel stem and
  its classifier replaced by a projection to 2 * D numbers, the encoder of chapter 4's main model;
* :class:`ConvEncoder`, two strided convolutions, for fast runs and the 2-D latent experiments;
* :class:`MLPEncoder`, the 784-400 perceptron of PyTorch's example VAE, the reference model.

Used in chapters 4, 5 and 6.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from pathlib import Path

import torch
import torchvision
from torch import nn

from vaelib.checks import check_count, check_finite, check_ndim
from vaelib.reparam import clamp_log_var

IMAGE_SHAPE = (1, 28, 28)
STEMS = ("strided", "full")


def check_images(name: str, x, shape=IMAGE_SHAPE) -> torch.Tensor:
    """Raise a ``ValueError`` that says what to do unless ``x`` is a batch of (C, H, W) images.

    Parameters
    ----------
    x : Tensor, shape (B, C, H, W)
    shape : tuple of int
        The expected (C, H, W), (1, 28, 28) for MNIST.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, {', '.join(map(str, shape))})")
    layout = f"(B, {', '.join(map(str, shape))})"
    if x.dim() == 2 and x.shape[1] == shape[0] * shape[1] * shape[2]:
        raise ValueError(
            f"{name} has shape {tuple(x.shape)}: flattened images; reshape them with "
            f"{name}.view(-1, {', '.join(map(str, shape))})"
        )
    check_ndim(name, x, 4, layout)
    if x.shape[1] != shape[0]:
        raise ValueError(
            f"{name} has {x.shape[1]} channels but this model takes {shape[0]}-channel images "
            f"of shape {layout}; MNIST is grayscale, so use x[:, :1] or x.mean(1, keepdim=True)"
        )
    if tuple(x.shape[2:]) != tuple(shape[1:]):
        raise ValueError(
            f"{name} has images of size {tuple(x.shape[2:])} but this model takes "
            f"{shape[1]} x {shape[2]} images {layout}; resize or crop them to that size"
        )
    check_finite(name, x)
    return x


def check_latent_dim(latent_dim) -> None:
    """Raise ``ValueError`` unless ``latent_dim`` is a positive integer."""
    check_count("latent_dim", latent_dim)


def _split(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # (B, 2D) -> (B, D), (B, D); the one log_var clamp lives in vaelib.reparam
    mu, log_var = h.chunk(2, dim=1)
    return mu, clamp_log_var(log_var)


DOWNLOAD_TIMEOUT = 20.0  # seconds the whole download may take before the encoder gives up
_DOWNLOAD_FAILED: dict = {}  # url -> reason, so a failed download is tried once per process


def _offline() -> bool:
    """True when ``VAELIB_OFFLINE`` is set (read at call time, as vaelib.data reads it)."""
    value = os.environ.get("VAELIB_OFFLINE", "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def _cached_weights_file(weights) -> Path:
    """Where torch.hub keeps (or would keep) the weights file: ``$TORCH_HOME/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def _fetch_within(weights, seconds: float) -> bool:
    """Fetch ``weights`` into torch.hub's cache in a helper thread; False unless done in time.

    The thread bounds the whole attempt, name lookup included, which a socket timeout does
    not; an attempt still running after ``seconds`` is abandoned (it may finish in the cache).
    """
    outcome = []

    def attempt():
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # torch.hub's "Downloading: ..." line
                weights.get_state_dict(progress=False)
            outcome.append(True)
        except Exception:  # no network, refused, corrupt file: the caller falls back
            outcome.append(False)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(seconds)
    return bool(outcome and outcome[0])


def resnet18_weights(pretrained: bool):
    """ImageNet weights for ResNet-18 if asked for and obtainable, else ``None``.

    The network is a guest: with ``VAELIB_OFFLINE=1`` only torch.hub's cache is read; otherwise
    one download is attempted per process, the whole attempt limited to ``DOWNLOAD_TIMEOUT``
    seconds, and a failure is remembered.

    Returns
    -------
    weights : torchvision weights enum or None
    source : str
        A sentence for a reader saying which weights the encoder starts from.
    """
    if not pretrained:
        return None, "random initialisation (pretrained=False)"
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    if not _cached_weights_file(weights).is_file():
        if _offline():
            return None, (
                "random initialisation: pretrained ImageNet weights were asked for, but "
                "VAELIB_OFFLINE=1 forbids the download and torch.hub's cache has none"
            )
        if weights.url in _DOWNLOAD_FAILED:
            return None, _DOWNLOAD_FAILED[weights.url]
    if not _fetch_within(weights, DOWNLOAD_TIMEOUT):  # no network or no cache: say so, once
        _DOWNLOAD_FAILED[weights.url] = (
            "random initialisation: pretrained ImageNet weights were asked for, but torchvision "
            "could not download them"
        )
        return None, _DOWNLOAD_FAILED[weights.url]
    return weights, f"torchvision's ImageNet weights ({weights.name}, first conv summed over RGB)"


class ResNet18Encoder(nn.Module):
    """ResNet-18 adapted to 1 x 28 x 28 images: features -> Linear(512, 2D) -> (mu, log_var).

    Parameters
    ----------
    latent_dim : int
        D, the size of z (128 by default).
    pretrained : bool
        Try torchvision's ImageNet weights (``ResNet18_Weights.DEFAULT``). The 3-channel first
        convolution is replaced by a 1-channel one whose filters are the RGB filters summed.
        Where the weights cannot be obtained (offline) the network starts from random weights;
        ``weights_source`` says which happened.
    stem : {"strided", "full"}
        "strided" keeps ResNet's stride-2 7 x 7 convolution and max-pool, so a 28 x 28 image is
        7 x 7 after the stem and 1 x 1 after ``layer4``. "full" (the CIFAR-style stem: a 3 x 3
        stride-1 convolution, no max-pool) keeps all 28 x 28 pixels in ``layer1`` and costs
        about an order of magnitude more per step; chapter 4 measures the ratio.
    """

    def __init__(self, latent_dim: int = 128, pretrained: bool = False, stem: str = "strided"):
        super().__init__()
        check_latent_dim(latent_dim)
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        self.latent_dim, self.stem = latent_dim, stem
        weights, self.weights_source = resnet18_weights(pretrained)
        self.pretrained = weights is not None
        net = torchvision.models.resnet18(weights=weights)
        if stem == "strided":
            first = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
            if weights is not None:
                with torch.no_grad():  # (64, 3, 7, 7) -> (64, 1, 7, 7): grayscale = R = G = B
                    first.weight.copy_(net.conv1.weight.sum(dim=1, keepdim=True))
        else:
            first = nn.Conv2d(1, 64, kernel_size=3, stride=1, padding=1, bias=False)
            net.maxpool = nn.Identity()
        net.conv1 = first
        net.fc = nn.Identity()  # (B, 512) features instead of 1000 ImageNet logits
        # Channels-last ("NHWC") layout: the same arithmetic, measured 16% faster per training
        # step on one CPU core; the layout survives .to(device) and load_state_dict.
        self.features = net.to(memory_format=torch.channels_last)
        self.head = nn.Linear(512, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) -> mu, log_var, each (B, D)."""
        check_images("x", x)
        features = self.features(x.contiguous(memory_format=torch.channels_last))
        return _split(self.head(features))


class ConvEncoder(nn.Module):
    """A small convolutional encoder with the ResNet encoder's interface.

    conv 4x4 stride 2 (28 -> 14) -> ReLU -> conv 4x4 stride 2 (14 -> 7) -> ReLU -> flatten
    -> Linear to 2D -> (mu, log_var).

    Parameters
    ----------
    latent_dim : int
        D, the size of z (2 for the pictures of chapter 4).
    channels : tuple of two ints
        Channels after the first and the second convolution.
    """

    def __init__(self, latent_dim: int = 2, channels=(16, 32)):
        super().__init__()
        check_latent_dim(latent_dim)
        self.latent_dim = latent_dim
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1),
            nn.ReLU(),  # (B, c1, 14, 14)
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),
            nn.ReLU(),  # (B, c2, 7, 7)
            nn.Flatten(),  # (B, c2 * 49)
        )
        self.head = nn.Linear(c2 * 7 * 7, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) -> mu, log_var, each (B, D)."""
        check_images("x", x)
        return _split(self.head(self.features(x)))


MLP_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class MLPEncoder(nn.Module):
    """The encoder of PyTorch's example VAE: 784 -> 400 (ReLU) -> (mu, log_var) of size 20.

    ``activation="tanh"`` swaps the hidden ReLU for tanh (chapter 6 compares the two).
    """

    def __init__(self, latent_dim: int = 20, hidden: int = 400, activation: str = "relu"):
        super().__init__()
        check_latent_dim(latent_dim)
        if activation not in MLP_ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {tuple(MLP_ACTIVATIONS)}, got {activation!r}"
            )
        self.latent_dim = latent_dim
        act = MLP_ACTIVATIONS[activation]()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), act)
        self.head = nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) -> mu, log_var, each (B, D)."""
        check_images("x", x)
        return _split(self.head(self.features(x)))  # (B, 1, 28, 28) -> (B, 784) -> (B, 2D)
