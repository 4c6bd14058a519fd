"""Three objectives f(z) for studying gradient estimators, each with a way to get its true gradient.

* :func:`quadratic`, f(z) = sum_d z_d^2, with E_q[f] = sum_d mu_d^2 + sigma_d^2 in closed form;
* :func:`cosine`, f(z) = sum_d cos(z_d), bounded, with E_q[f] = sum_d cos(mu_d) exp(-sigma_d^2 / 2);
* :class:`RandomDecoderLoss`, the reconstruction loss of a fixed binary image under a tiny decoder
  with fixed random weights; its expectation comes from Gauss-Hermite quadrature.

q is N(mu, diag exp(log_var)). Used in chapter 3, the reparameterization trick, with
:mod:`vaelib.estimators.gradients`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vaelib.checks import as_tensor, check_finite


def quadratic(z: torch.Tensor) -> torch.Tensor:
    """f(z) = sum_d z_d^2 for z of shape (..., D); returns shape (...)."""
    return z.pow(2).sum(-1)


def quadratic_expectation(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """E_q[sum_d z_d^2] = sum_d mu_d^2 + sigma_d^2 (chapter 3, eq. ``eq-ch3-quadratic``)."""
    return (mu.pow(2) + log_var.exp()).sum()


def cosine(z: torch.Tensor) -> torch.Tensor:
    """f(z) = sum_d cos(z_d) for z of shape (..., D): a bounded objective; returns shape (...)."""
    return torch.cos(z).sum(-1)


def cosine_expectation(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """E_q[sum_d cos z_d] = sum_d cos(mu_d) exp(-sigma_d^2 / 2), the real part of E[exp(i z)]."""
    return (torch.cos(mu) * torch.exp(-0.5 * log_var.exp())).sum()


class RandomDecoderLoss(torch.nn.Module):
    """f(z): the Bernoulli reconstruction loss of a fixed target under a tiny random decoder.

    decoder(z) = W2 tanh(W1 z + b1) + b2 gives the logits of ``output_dim`` pixels; the weights are
    drawn once from ``seed`` and never trained. The target x is the decoder's own binarized output
    at ``z_target``, so f is smallest near there::

        f(z) = -sum_p [ x_p log s(l_p) + (1 - x_p) log(1 - s(l_p)) ],   l = decoder(z)

    the negative log-likelihood a VAE's decoder pays (chapter 4), here as a stand-in for a
    realistic, non-polynomial f.

    Parameters
    ----------
    latent_dim, hidden_dim, output_dim : int
        Sizes D, H and P (64 pixels: an 8 x 8 image).
    seed : int
        Seeds the weights (a private generator: the global seed is untouched).
    z_target : Tensor, shape (D,), optional
        Where the target is decoded; all ones by default.
    """

    def __init__(self, latent_dim=2, hidden_dim=32, output_dim=64, seed=0, z_target=None):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        dt = torch.float64

        def randn(*shape, scale=1.0):
            return scale * torch.randn(*shape, generator=gen, dtype=dt)

        self.register_buffer("w1", randn(hidden_dim, latent_dim, scale=1.5))
        self.register_buffer("b1", randn(hidden_dim, scale=0.5))
        self.register_buffer("w2", randn(output_dim, hidden_dim, scale=3.0 / hidden_dim**0.5))
        self.register_buffer("b2", randn(output_dim, scale=0.5))
        z_target = torch.ones(latent_dim, dtype=dt) if z_target is None else z_target
        z_target = as_tensor("z_target", z_target, dtype=dt)
        check_finite("z_target", z_target)
        if z_target.shape != (latent_dim,):
            raise ValueError(
                f"z_target must have shape ({latent_dim},), got {tuple(z_target.shape)}"
            )
        self.register_buffer("x", (self.logits(z_target) > 0).to(dt))  # (P,)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits, (..., D) -> (..., P)."""
        return torch.tanh(z @ self.w1.T + self.b1) @ self.w2.T + self.b2

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities, (..., D) -> (..., P)."""
        return torch.sigmoid(self.logits(z))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The loss f(z), (..., D) -> (...), in nats."""
        logits = self.logits(z)
        return F.binary_cross_entropy_with_logits(
            logits, self.x.expand_as(logits), reduction="none"
        ).sum(-1)
