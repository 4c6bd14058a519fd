"""Reconstruction losses beyond the VAE's own Bernoulli and Gaussian likelihoods, as ``loss_fn``
arguments of :func:`vaelib.train.fit`.

:func:`laplace_loss` is the absolute error (L1) as a likelihood: a Laplace decoder with a fixed
scale b, whose negative log-likelihood per pixel is

    -log Laplace(x | x_hat, b) = log(2 b) + |x - x_hat| / b,

minimised, for a code that several images share, by their pixelwise median rather than their
mean (chapter 1; :mod:`vaelib.bimodal`).

Used in section 4.1 (why VAE images blur).
"""

from __future__ import annotations

import math

import torch

from vaelib.losses import kl_std_normal, reduce
from vaelib.models.vae import LossTerms


def laplace_nll(x, mean, scale, reduction="batchmean") -> torch.Tensor:
    """``log(2 b) + |x - mean| / b`` elementwise, reduced as asked (nats).

    Parameters
    ----------
    x, mean : Tensor, same shape (B, ...)
    scale : float
        b > 0, the fixed scale of the Laplace distribution.
    reduction : {"none", "sum", "mean", "batchmean"}
        See :func:`vaelib.losses.reduce`; "batchmean" gives nats per image.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if x.shape != mean.shape:
        raise ValueError(f"x has shape {tuple(x.shape)} but mean has shape {tuple(mean.shape)}")
    return reduce(math.log(2.0 * scale) + (x - mean).abs() / scale, reduction)


def laplace_loss(scale=0.1):
    """A ``loss_fn`` for :func:`vaelib.train.fit`: Laplace reconstruction plus beta times the KL.

    The decoder's mean is ``sigmoid(logits)``, as for the Bernoulli and Gaussian decoders.

    Parameters
    ----------
    scale : float
        The Laplace scale b: the smaller, the more the reconstruction weighs against the KL.

    Returns
    -------
    callable
        ``loss_fn(model, x, beta) -> LossTerms`` (nats per image).
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")

    def loss_fn(model, x, beta):
        out = model(x)
        recon = laplace_nll(x, torch.sigmoid(out.logits), scale)  # (B, 1, 28, 28) -> scalar
        kl = kl_std_normal(out.mu, out.log_var, reduction="batchmean")
        return LossTerms(recon + beta * kl, recon, kl)

    return loss_fn
