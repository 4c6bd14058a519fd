"""The variational autoencoder: an encoder q(z | x), a decoder p(x | z), and the beta-ELBO loss.

Per image, in nats (Kingma & Welling 2014, eq. 10, with a weight beta on the KL):

    loss(x) = -E_q[log p(x | z)] + beta * KL(q(z | x) || N(0, I))

The expectation is estimated with one reparameterized sample z = mu + sigma * eps
(:func:`vaelib.reparam.reparameterize`); the KL is in closed form
(:func:`vaelib.losses.kl_std_normal`).
Both terms are sums over their dimensions (pixels, latent coordinates) and means over the batch.

Used in chapters 4, 5 and 6.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from vaelib.losses import gaussian_nll, kl_std_normal
from vaelib.models.decoders import ConvDecoder, check_latents
from vaelib.models.encoders import ConvEncoder, ResNet18Encoder, check_images
from vaelib.reparam import reparameterize

LIKELIHOODS = ("bernoulli", "gaussian")
RECON_REDUCTIONS = ("sum", "mean")


class LossTerms(NamedTuple):
    """The loss and its two parts, each a scalar in nats per image: loss = recon + beta * kl."""

    loss: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


class VAEOutput(NamedTuple):
    """One pass through a VAE: decoder logits (B, 1, 28, 28), mu and log_var (B, D), z (B, D)."""

    logits: torch.Tensor
    mu: torch.Tensor
    log_var: torch.Tensor
    z: torch.Tensor


def reconstruction_nll(x, logits, likelihood="bernoulli", sigma=1.0, recon_reduction="sum"):
    """-log p(x | z) per image, averaged over the batch (nats per image).

    Bernoulli: sum over pixels of the binary cross-entropy between x in [0, 1] and
    sigmoid(logits). Gaussian with fixed sigma: sum over pixels of
    1/2 log(2 pi sigma^2) + (x - sigmoid(logits))^2 / (2 sigma^2) (chapter 1's NLL).

    Parameters
    ----------
    x, logits : Tensor, shape (B, 1, 28, 28)
    likelihood : {"bernoulli", "gaussian"}
    sigma : float
        The Gaussian decoder's fixed standard deviation (ignored for Bernoulli).
    recon_reduction : {"sum", "mean"}
        "sum" over pixels is the ELBO. "mean" over pixels is what many public examples do; it
        divides the reconstruction term by 784, which is the same as multiplying beta by 784.
    """
    _check_choice("likelihood", likelihood, LIKELIHOODS)
    _check_choice("recon_reduction", recon_reduction, RECON_REDUCTIONS)
    if likelihood == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma!r}")
        log_var = torch.full_like(x, 2.0 * math.log(sigma))
        nll = gaussian_nll(x, torch.sigmoid(logits), log_var, reduction="none")
    per_image = nll.flatten(1).sum(dim=1)  # (B, 1, 28, 28) -> (B,)
    if recon_reduction == "mean":
        per_image = per_image / nll[0].numel()
    return per_image.mean()


def vae_loss(
    x, logits, mu, log_var, beta=1.0, likelihood="bernoulli", sigma=1.0, recon_reduction="sum"
) -> LossTerms:
    """The beta-ELBO loss per image: recon + beta * KL(q(z | x) || N(0, I)).

    Parameters
    ----------
    x, logits : Tensor, shape (B, 1, 28, 28)
        Images and the decoder's logits for one sample z per image.
    mu, log_var : Tensor, shape (B, D)
        The encoder's outputs.
    beta : float
        Weight of the KL term: 1 is the ELBO, 0 a plain autoencoder with a noisy code.
    likelihood, sigma, recon_reduction
        See :func:`reconstruction_nll`.

    Returns
    -------
    LossTerms
        ``loss``, ``recon`` and ``kl``, scalars in nats per image.
    """
    if not beta >= 0:
        raise ValueError(f"beta must be non-negative, got {beta!r}")
    recon = reconstruction_nll(x, logits, likelihood, sigma, recon_reduction)
    kl = kl_std_normal(mu, log_var, reduction="batchmean")  # sum over D, mean over B
    return LossTerms(recon + beta * kl, recon, kl)


class VAE(nn.Module):
    """A VAE made of any encoder x -> (mu, log_var) and decoder z -> logits.

    Parameters
    ----------
    encoder : nn.Module
        ``encoder(x)`` with x (B, 1, 28, 28) returns (mu, log_var), each (B, D); it has an
        attribute ``latent_dim`` = D. E.g. :class:`~vaelib.models.encoders.ResNet18Encoder`.
    decoder : nn.Module
        ``decoder(z)`` with z (B, D) returns logits (B, 1, 28, 28).
    likelihood : {"bernoulli", "gaussian"}
        p(x | z); the decoder's mean is sigmoid(logits) in both cases.
    sigma : float
        The fixed standard deviation of the Gaussian likelihood.
    recon_reduction : {"sum", "mean"}
        How the reconstruction term reduces over pixels; see :func:`reconstruction_nll`.
    """

    def __init__(self, encoder, decoder, likelihood="bernoulli", sigma=1.0, recon_reduction="sum"):
        super().__init__()
        _check_choice("likelihood", likelihood, LIKELIHOODS)
        _check_choice("recon_reduction", recon_reduction, RECON_REDUCTIONS)
        if encoder.latent_dim != decoder.latent_dim:
            raise ValueError(
                f"the encoder has latent_dim={encoder.latent_dim} but the decoder has "
                f"latent_dim={decoder.latent_dim}; build both with the same latent_dim"
            )
        self.encoder, self.decoder = encoder, decoder
        self.likelihood, self.sigma, self.recon_reduction = likelihood, sigma, recon_reduction

    @property
    def latent_dim(self) -> int:
        """D, the size of z."""
        return self.encoder.latent_dim

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, 28, 28) -> mu, log_var of q(z | x), each (B, D)."""
        return self.encoder(check_images("x", x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> the decoder's mean image sigmoid(logits), (B, 1, 28, 28), in [0, 1]."""
        return torch.sigmoid(self.decoder(check_latents("z", z, self.latent_dim)))

    def forward(self, x: torch.Tensor) -> VAEOutput:
        """Encode, draw one z per image by reparameterization, decode to logits."""
        mu, log_var = self.encode(x)
        z = reparameterize(mu, log_var)
        return VAEOutput(self.decoder(z), mu, log_var, z)

    def loss(self, x: torch.Tensor, beta: float = 1.0, recon_reduction=None) -> LossTerms:
        """The beta-ELBO loss of a batch, in nats per image; see :func:`vae_loss`.

        ``recon_reduction`` overrides the model's own (e.g. "sum" to score, on the ELBO, a model
        trained with the pixel mean).
        """
        out = self(x)
        reduction = recon_reduction or self.recon_reduction
        return vae_loss(
            x, out.logits, out.mu, out.log_var, beta, self.likelihood, self.sigma, reduction
        )

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z) summed over pixels, for K samples of z per image: shape (K, B), float64.

        The likelihood function that :func:`vaelib.elbo.iwae_bound` takes. Always the summed
        (ELBO) reconstruction, whatever ``recon_reduction`` the model trains with.

        Parameters
        ----------
        x : Tensor, shape (B, 1, 28, 28)
        z : Tensor, shape (K, B, D)
        """
        check_images("x", x)
        if z.dim() != 3 or z.shape[1] != len(x) or z.shape[2] != self.latent_dim:
            raise ValueError(
                f"z has shape {tuple(z.shape)}; log_likelihood takes K samples per image, "
                f"shape (K, {len(x)}, {self.latent_dim})"
            )
        num_samples = z.shape[0]
        logits = self.decoder(z.reshape(-1, self.latent_dim).to(x.device, x.dtype))
        logits = logits.view(num_samples, *x.shape)  # (K * B, 1, 28, 28) -> (K, B, 1, 28, 28)
        target = x.expand_as(logits)
        if self.likelihood == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        else:
            log_var = torch.full_like(target, 2.0 * math.log(self.sigma))
            nll = gaussian_nll(target, torch.sigmoid(logits), log_var, reduction="none")
        return -nll.flatten(2).sum(dim=2).to(torch.float64)  # (K, B, 1, 28, 28) -> (K, B)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's mean at the posterior mean, decode(mu(x)): (B, 1, 28, 28)."""
        mu, _ = self.encode(x)
        return self.decode(mu)

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode z ~ N(0, I): (num_samples, 1, 28, 28) mean images."""
        device = next(self.parameters()).device
        z = torch.randn(num_samples, self.latent_dim, generator=generator)
        return self.decode(z.to(device))


def resnet_vae(
    latent_dim=128, pretrained=False, decoder_channels=(128, 64), stem="strided", **kwargs
) -> VAE:
    """Chapter 4's main model: a ResNet-18 encoder and a convolutional decoder.

    ``kwargs`` go to :class:`VAE` (``likelihood``, ``sigma``, ``recon_reduction``).
    """
    encoder = ResNet18Encoder(latent_dim, pretrained=pretrained, stem=stem)
    return VAE(encoder, ConvDecoder(latent_dim, decoder_channels), **kwargs)


def conv_vae(latent_dim=2, encoder_channels=(16, 32), decoder_channels=(32, 16), **kwargs) -> VAE:
    """A small convolutional VAE with the same interface, for fast runs and 2-D latents."""
    encoder = ConvEncoder(latent_dim, encoder_channels)
    return VAE(encoder, ConvDecoder(latent_dim, decoder_channels), **kwargs)


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
