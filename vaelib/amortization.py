"""The amortization gap: how much of the ELBO's gap an encoder loses by being one network for all x.

Cremer, Li & Duvenaud (2018) split the gap between log p(x) and the ELBO of an encoder q_phi:

    log p(x) - ELBO(q_phi)
        = [log p(x) - ELBO(q*)]          the approximation gap: q* is the best q in the family
        + [ELBO(q*) - ELBO(q_phi)]       the amortization gap: the encoder misses q*

where q* = argmax over diagonal Gaussians q of ELBO(q), found for each x separately. Both parts
are >= 0: the first is KL(q* || p(z | x)), the second because q* maximises the ELBO over a family
that contains the encoder's output.

* On chapter 2's linear-Gaussian model every term is exact (:func:`exact_gap_split`): q* is the
  mean-field posterior in closed form, and :class:`LinearEncoder` is an amortized encoder trained
  with :func:`vaelib.train.fit` that can be stopped early.
* On an MNIST VAE q* is found by gradient ascent from the encoder's output and log p(x) is
  estimated by importance sampling: :mod:`vaelib.amortization_vae`.

Used in chapter 4, section 4.2 (the amortization gap).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from vaelib.models.linear_gaussian import DTYPE, LinearGaussian
from vaelib.models.vae import LossTerms


class GapSplit(NamedTuple):
    """log p(x), the best-q ELBO and the encoder's ELBO per example, each shape (B,), in nats."""

    log_evidence: torch.Tensor
    elbo_optimal: torch.Tensor
    elbo_amortized: torch.Tensor

    @property
    def total(self) -> torch.Tensor:
        """log p(x) - ELBO(q_phi), the whole gap of the encoder."""
        return self.log_evidence - self.elbo_amortized

    @property
    def approximation(self) -> torch.Tensor:
        """log p(x) - ELBO(q*), the price of the Gaussian family."""
        return self.log_evidence - self.elbo_optimal

    @property
    def amortization(self) -> torch.Tensor:
        """ELBO(q*) - ELBO(q_phi), the price of one encoder for all x."""
        return self.elbo_optimal - self.elbo_amortized


def exact_gap_split(model: LinearGaussian, x, mu, log_var) -> GapSplit:
    """The gap split of a diagonal q = N(mu, diag exp(log_var)) on a linear-Gaussian model, exactly.

    q* is the best diagonal Gaussian, the mean-field posterior
    (:meth:`LinearGaussian.mean_field_posterior`), so every term is in closed form (float64).

    Parameters
    ----------
    model : LinearGaussian
    x : Tensor, shape (B, P)
    mu, log_var : Tensor, shape (B, D)
        The encoder's q(z | x) for each row of x.

    Returns
    -------
    GapSplit
    """
    if not isinstance(model, LinearGaussian):
        raise ValueError(f"model must be a LinearGaussian, got {type(model).__name__}")
    x = model._x(x)
    best_mu, best_log_var = model.mean_field_posterior(x)
    return GapSplit(
        model.log_evidence(x),
        model.elbo(x, best_mu, best_log_var),
        model.elbo(x, mu, log_var),
    )


class LinearEncoder(nn.Module):
    """An amortized encoder q(z | x) = N(A x + c, diag exp(log_var)) for a fixed linear-Gaussian
    decoder, trained on the exact ELBO (float64) with :func:`vaelib.train.fit`.

    The best diagonal q of this model has a mean linear in x and a variance that does not depend
    on x, so a fully trained encoder of this form reaches it: its amortization gap goes to zero,
    and stopping training early leaves one.

    Parameters
    ----------
    model : LinearGaussian
        The decoder p(x | z), held fixed.
    """

    def __init__(self, model: LinearGaussian):
        super().__init__()
        if not isinstance(model, LinearGaussian):
            raise ValueError(f"model must be a LinearGaussian, got {type(model).__name__}")
        self.model = model
        self.encoder = nn.Linear(model.data_dim, model.latent_dim, dtype=DTYPE)  # mu = A x + c
        self.log_var = nn.Parameter(torch.zeros(model.latent_dim, dtype=DTYPE))

    def encode(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, P) -> mu, log_var of q(z | x), each (B, D)."""
        x = self.model._x(x)
        mu = self.encoder(x)
        return mu, self.log_var.expand_as(mu)

    def loss(self, x, beta: float = 1.0) -> LossTerms:
        """The exact negative ELBO per example, averaged over the batch: recon + beta * KL."""
        mu, log_var = self.encode(x)
        recon = -self.model.expected_log_likelihood(x, mu, log_var).mean()
        kl = self.model.kl_to_prior(x, mu, log_var).mean()
        return LossTerms(recon + beta * kl, recon, kl)

    def gap_split(self, x) -> GapSplit:
        """:func:`exact_gap_split` of this encoder's q on the data x (B, P)."""
        with torch.no_grad():
            mu, log_var = self.encode(x)
            return exact_gap_split(self.model, x, mu, log_var)
