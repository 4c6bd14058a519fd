"""A VAE's code in the information plane: I(X; Z), I(Z; Y) and the rate, epoch by epoch.

The encoder's noise is its own: q(z | x_i) = N(mu_i, diag exp(log_var_i)), one variance per input
(heteroscedastic), so H(Z | X) comes from log_var and I_q(X; Z) from the mixture bounds of
:mod:`vaelib.information`, with X uniform over N evaluation images. The rate
R = 1/N sum_i KL(q(z | x_i) || N(0, I)) = I_q(X; Z) + KL(q(z) || p(z)) (chapter 5's
decomposition) is never below I_q(X; Z), so in particular never below its Bhattacharyya estimate.

Used in chapter 6, compression in the information plane.
"""

from __future__ import annotations

import math

import torch

from vaelib.information import information
from vaelib.losses import kl_std_normal
from vaelib.train import evaluating, fit

KEYS = ("epoch", "beta", "rate", "h_zx", "ixt_bd", "ixt_kl", "ity_bd", "ity_kl")


def vae_information(mu, log_var, labels) -> dict:
    """The information-plane numbers of one encoding of N images, in nats.

    Parameters
    ----------
    mu, log_var : Tensor, shape (N, D)
        The encoder's outputs on the evaluation images.
    labels : Tensor of int, shape (N,)

    Returns
    -------
    dict of float
        ``rate`` (mean KL to N(0, I)), ``h_zx`` (H(Z | X) = mean of 1/2 sum log(2 pi e var)),
        and ``ixt_bd``, ``ixt_kl``, ``ity_bd``, ``ity_kl`` as in
        :func:`vaelib.information.information`.
    """
    mu, log_var = mu.detach().double(), log_var.detach().double()
    out = information(mu, log_var.exp(), labels)
    out["rate"] = float(kl_std_normal(mu, log_var, reduction="batchmean"))
    out["h_zx"] = float((0.5 * (log_var + math.log(2 * math.pi * math.e))).sum(1).mean())
    return out


class InformationRecorder:
    """A :func:`vaelib.train.fit` callback: the numbers of :func:`vae_information` every epoch.

    Parameters
    ----------
    x_eval : Tensor, shape (N, 1, 28, 28)
        The images whose codes are measured (X is uniform over them, so I(X; Z) <= log N).
    y_eval : Tensor of int, shape (N,)
    beta : float or callable
        The KL weight ``fit`` uses, recorded beside the numbers.
    """

    def __init__(self, x_eval, y_eval, beta):
        if len(x_eval) != len(y_eval):
            raise ValueError(f"x_eval has {len(x_eval)} images but y_eval {len(y_eval)} labels")
        self.x_eval, self.y_eval, self.beta = x_eval, y_eval, beta
        self.rows = {k: [] for k in KEYS}

    def __call__(self, epoch: int, model) -> None:
        with evaluating(model):
            device = next(model.parameters()).device
            mu, log_var = model.encode(self.x_eval.to(device))
        numbers = vae_information(mu.cpu(), log_var.cpu(), self.y_eval)
        beta = self.beta(max(epoch - 1, 0)) if callable(self.beta) else self.beta
        numbers.update(epoch=epoch, beta=float(beta))
        for key in KEYS:
            self.rows[key].append(numbers[key])

    def as_tensors(self) -> dict:
        """Every recorded series as a float64 tensor of shape (epochs + 1,)."""
        return {k: torch.tensor(v, dtype=torch.float64) for k, v in self.rows.items()}


def fit_recording(model, x_train, x_eval, y_eval, *, beta, num_epochs, **fit_kwargs):
    """:func:`vaelib.train.fit` with an :class:`InformationRecorder` (epoch 0 = initialisation).

    Returns
    -------
    (History, dict of Tensor)
        ``fit``'s history and the recorded series (see :data:`KEYS`).
    """
    recorder = InformationRecorder(x_eval, y_eval, beta)
    recorder(0, model)
    history = fit(model, x_train, beta=beta, num_epochs=num_epochs, callback=recorder, **fit_kwargs)
    return history, recorder.as_tensors()
