"""A linear-Gaussian VAE for vectors, whose rate and distortion are exact on a Gaussian source.

Encoder q(z | x) = N(A x + c, diag sigma^2) with sigma the same for every x; decoder
x_hat = W z + b with a Gaussian likelihood of variance 1/2, so that -log p(x | z) is the squared
error ||x - x_hat||^2 plus the constant n/2 log pi, which we drop. The beta-VAE loss is then

    loss = E_q ||x - W z - b||^2 + beta * KL(q(z | x) || N(0, I)),

distortion plus beta times rate, and on a source x ~ N(0, diag s) both terms have closed forms
(:meth:`LinearVAE.exact_terms`). It is trained with :func:`vaelib.train.fit` like the image VAEs.

Used in chapter 5, where a beta sweep of this model traces the Gaussian R(D) curve.
"""

from __future__ import annotations

import torch
from torch import nn

from vaelib.losses import kl_std_normal
from vaelib.models.encoders import check_latent_dim
from vaelib.models.vae import LossTerms
from vaelib.reparam import clamp_log_var, reparameterize


class LinearVAE(nn.Module):
    """Linear encoder and decoder with one learned posterior log-variance per latent dimension.

    Parameters
    ----------
    data_dim : int
        n, the size of x.
    latent_dim : int, optional
        D, the size of z (n by default).
    """

    def __init__(self, data_dim: int, latent_dim: int | None = None):
        super().__init__()
        check_latent_dim(data_dim)
        latent_dim = data_dim if latent_dim is None else latent_dim
        check_latent_dim(latent_dim)
        self.data_dim, self.latent_dim = data_dim, latent_dim
        self.encoder = nn.Linear(data_dim, latent_dim)  # mu = A x + c
        self.log_var = nn.Parameter(torch.zeros(latent_dim))  # the same for every x
        self.decoder = nn.Linear(latent_dim, data_dim)  # x_hat = W z + b

    def _check(self, x):
        if x.dim() != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (B, {self.data_dim})")
        return x

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, n) -> mu, log_var of q(z | x), each (B, D)."""
        mu = self.encoder(self._check(x))
        return mu, clamp_log_var(self.log_var).expand_as(mu)

    def loss(self, x: torch.Tensor, beta: float = 1.0) -> LossTerms:
        """Squared error with one reparameterized z per row, plus beta times the closed-form KL."""
        mu, log_var = self.encode(x)
        x_hat = self.decoder(reparameterize(mu, log_var))
        recon = (x - x_hat).pow(2).sum(dim=1).mean()
        kl = kl_std_normal(mu, log_var, reduction="batchmean")
        return LossTerms(recon + beta * kl, recon, kl)

    def exact_terms(self, variances) -> tuple[torch.Tensor, torch.Tensor]:
        """Distortion and rate on the source x ~ N(0, diag s), in closed form (float64).

        With S = diag s, sigma^2 = exp(log_var) and M = I - W A::

            D = tr(M S M^T) + ||W c + b||^2 + sum_k sigma_k^2 ||W[:, k]||^2
            R = 1/2 sum_k ((A S A^T)_kk + c_k^2 + sigma_k^2 - 1 - log sigma_k^2)

        Returns
        -------
        distortion, rate : Tensor, scalars
            The expected squared error and E_x KL(q(z | x) || N(0, I)) in nats.
        """
        s = torch.as_tensor(variances, dtype=torch.float64, device=self.log_var.device)
        if s.shape != (self.data_dim,):
            raise ValueError(f"variances has shape {tuple(s.shape)}; expected ({self.data_dim},)")
        a, c = self.encoder.weight.double(), self.encoder.bias.double()
        w, b = self.decoder.weight.double(), self.decoder.bias.double()
        log_var = clamp_log_var(self.log_var).double()
        m = torch.eye(self.data_dim, dtype=torch.float64, device=s.device) - w @ a
        distortion = (m.pow(2) * s).sum() + (w @ c + b).pow(2).sum()
        distortion = distortion + (w.pow(2) * log_var.exp()).sum()
        code_var = (a.pow(2) * s).sum(dim=1)  # (A S A^T)_kk
        rate = 0.5 * (code_var + c.pow(2) + log_var.exp() - 1.0 - log_var).sum()
        return distortion, rate
