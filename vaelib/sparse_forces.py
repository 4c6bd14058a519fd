"""Which way each term of the implicit-EM objective moves the prototypes, measured by autograd.

A unit's pre-activation ``z_j(x) = w_j . x + b_j`` is its (signed) energy; ``z_j <= 0`` puts
``x`` inside the prototype's region (the ReLU unit is silent: the prototype fits). One step of
gradient descent on a term ``T`` changes the weights by ``-g_W``, ``-g_b``, and so changes
every energy, to first order, by

    dz_j(x_n) = -(g_W[j] . x_n + g_b[j]).

``dz < 0`` on the inputs a prototype explains means the term pulls the prototype towards them
(attractive); ``dz > 0`` means it pushes it away (repulsive). :func:`energy_shift` computes
``dz`` for one term, with ReLU energies (the encoder as trained) or linear energies (the ReLU
removed), and :func:`direction_summary` reduces it to a few numbers.

Used in chapter 7, the implicit-EM sparse encoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vaelib.sparse import Encoder, decorrelation_loss, flatten_inputs, lse_loss, variance_loss

TERMS = {"lse": lse_loss, "var": variance_loss, "tc": decorrelation_loss}


def lse_preactivation_gradient(z) -> tuple[torch.Tensor, torch.Tensor]:
    """Responsibilities and the gradient of ``LSE(ReLU(z))`` (summed over the batch) w.r.t. ``z``.

    Parameters
    ----------
    z : Tensor, shape (B, K)
        Pre-activations; ``z_j <= 0`` is a silent unit (energy 0).

    Returns
    -------
    r : Tensor, shape (B, K)
        ``softmax(-ReLU(z))``: the silent units share the largest responsibility.
    grad : Tensor, shape (B, K)
        ``r_j`` where ``z_j > 0`` and exactly 0 where the unit is silent (the ReLU blocks it).
    """
    z = torch.as_tensor(z, dtype=torch.float64).detach().requires_grad_(True)
    a = F.relu(z)
    (grad,) = torch.autograd.grad(lse_loss(a, reduction="sum"), z)
    return torch.softmax(-a.detach(), dim=1), grad


def energy_shift(encoder: Encoder, x, term: str, linear: bool = False):
    """First-order change of every energy under one unit descent step on one term.

    Parameters
    ----------
    encoder : Encoder
        Its weights ``W`` (K, D) and bias ``b`` (K,) are copied in float64.
    x : Tensor, shape (N, D) or (N, 1, H, W)
        The batch on which the term is evaluated (its statistics are batch statistics).
    term : {"lse", "var", "tc"}
        ``lse_loss`` (mean over the batch), ``variance_loss`` or ``decorrelation_loss``.
    linear : bool
        Use the energies ``z`` themselves (no ReLU) instead of ``ReLU(z)``.

    Returns
    -------
    dz : Tensor, shape (N, K)
        ``-(g_W[j] . x_n + g_b[j])``.
    explained : Tensor of bool, shape (N, K)
        The pairs where unit ``j`` explains input ``n``: inside its region (``z <= 0``) for ReLU
        energies, the unit of lowest energy (highest responsibility) for linear energies.
    """
    if term not in TERMS:
        raise ValueError(f"term must be one of {sorted(TERMS)}, got {term!r}")
    x = flatten_inputs(x, encoder.in_features).detach().double()
    w = encoder.linear.weight.detach().double().requires_grad_(True)
    b = encoder.linear.bias.detach().double().requires_grad_(True)
    z = x @ w.T + b  # (N, D) @ (D, K) -> (N, K)
    grad_w, grad_b = torch.autograd.grad(TERMS[term](z if linear else F.relu(z)), (w, b))
    dz = -(x @ grad_w.T + grad_b)
    if linear:
        explained = F.one_hot(z.detach().argmin(dim=1), z.shape[1]).bool()
    else:
        explained = z.detach() <= 0
    return dz.detach(), explained


def direction_summary(dz, explained) -> dict:
    """Mean energy shift on explained and on other pairs, in units of the RMS shift.

    Returns ``{"explained": ..., "other": ..., "share_down": ...}``: the two means (negative is
    attractive) and the share of explained pairs whose energy falls.
    """
    dz = torch.as_tensor(dz, dtype=torch.float64)
    explained = torch.as_tensor(explained, dtype=torch.bool)
    if dz.shape != explained.shape:
        raise ValueError(f"dz has shape {tuple(dz.shape)}, explained {tuple(explained.shape)}")
    if not explained.any() or explained.all():
        raise ValueError("explained must mark some pairs and leave some unmarked")
    rms = dz.pow(2).mean().sqrt().clamp_min(1e-300)
    return {
        "explained": float(dz[explained].mean() / rms),
        "other": float(dz[~explained].mean() / rms),
        "share_down": float((dz[explained] < 0).double().mean()),
    }
