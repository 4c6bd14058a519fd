"""Information units: entropy, cross-entropy and KL divergence of categorical distributions,
and the conversions between nats, bits and bits per dimension.

A nat is the information unit of the natural logarithm, a bit that of ``log2``:
``1 nat = 1 / ln 2 bits``. Image models are compared in bits per dimension, a per-image
negative log-likelihood (NLL) in nats divided by ``D ln 2`` (``D = 784`` for MNIST).

Used in chapter 0 (the background page), and for bits per dimension in chapter 4.
"""

from __future__ import annotations

import math

import torch

from vaelib.checks import as_tensor, check_finite

LN2 = math.log(2.0)


def nats_to_bits(nats):
    """Convert an amount of information from nats to bits (divide by ``ln 2``).

    Parameters
    ----------
    nats : float or Tensor
        Information (an entropy, a KL, an NLL) measured with the natural logarithm.

    Returns
    -------
    float or Tensor
        The same amount in bits, with the type and shape of ``nats``.
    """
    return nats / LN2


def bits_to_nats(bits):
    """Convert an amount of information from bits to nats (multiply by ``ln 2``)."""
    return bits * LN2


def nats_to_bits_per_dim(nll_nats, num_dims: int):
    """Per-example NLL in nats -> bits per dimension, ``nll / (D ln 2)``.

    Parameters
    ----------
    nll_nats : float or Tensor, shape (B,) or scalar
        The negative log-likelihood of one example (an image), in nats.
    num_dims : int
        ``D``, the number of dimensions of one example (784 for a 28 x 28 MNIST image).

    Returns
    -------
    float or Tensor
        Bits per dimension. Used in chapter 0 and chapter 4.
    """
    if isinstance(num_dims, bool) or not isinstance(num_dims, int) or num_dims < 1:
        raise ValueError(f"num_dims must be a positive integer (e.g. 784), got {num_dims!r}")
    return nats_to_bits(nll_nats) / num_dims


def _check_probs(name: str, probs) -> torch.Tensor:
    """``probs`` as a float64 tensor whose last axis is a probability vector."""
    probs = as_tensor(name, probs, dtype=torch.float64)
    check_finite(name, probs)
    if probs.dim() == 0:
        raise ValueError(f"{name} must have at least one axis (the categories), got a scalar")
    if (probs < 0).any():
        raise ValueError(f"{name} has a negative entry ({probs.min().item():.3g}); probabilities")
    total = probs.sum(dim=-1)
    if not torch.allclose(total, torch.ones_like(total), atol=1e-6):
        raise ValueError(
            f"{name} must sum to 1 along its last axis, but the sums range over "
            f"[{total.min().item():.6g}, {total.max().item():.6g}]; normalise it first"
        )
    return probs


def entropy(probs) -> torch.Tensor:
    """Entropy ``H(p) = -sum_k p_k log p_k`` of a categorical distribution, in nats.

    Parameters
    ----------
    probs : Tensor, shape (..., K)
        Probability vectors along the last axis (``0 log 0 = 0``).

    Returns
    -------
    Tensor, shape (...)
        Float64. Used in chapter 0, eq. ``eq-ch0-entropy``.
    """
    p = _check_probs("probs", probs)
    return -torch.special.xlogy(p, p).sum(dim=-1)


def cross_entropy(p, q) -> torch.Tensor:
    """Cross-entropy ``H(p, q) = -sum_k p_k log q_k``, in nats (infinite where q misses p).

    Parameters
    ----------
    p, q : Tensor, shape (..., K)
        Probability vectors: the data distribution ``p`` and the model ``q``.

    Returns
    -------
    Tensor, shape (...)
        Float64. Used in chapter 0, eq. ``eq-ch0-cross-entropy``.
    """
    p, q = _check_probs("p", p), _check_probs("q", q)
    return -torch.special.xlogy(p, q).sum(dim=-1)


def kl_divergence(p, q) -> torch.Tensor:
    """``KL(p || q) = sum_k p_k log(p_k / q_k) = H(p, q) - H(p)``, in nats.

    Parameters
    ----------
    p, q : Tensor, shape (..., K)
        Probability vectors.

    Returns
    -------
    Tensor, shape (...)
        Float64, ``>= 0`` (chapter 0, eq. ``eq-ch0-kl-jensen``).
    """
    p, q = _check_probs("p", p), _check_probs("q", q)
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=-1)
