"""Regression with a Gaussian likelihood: a mean head and, optionally, a variance head.

The toy of chapter 1 that shows why a VAE decoder's variance is usually fixed: a network that
learns its own sigma can "cheat" by inflating it where the error is large, and can send the NLL
to minus infinity by shrinking it where the fit is exact. Used in chapter 1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vaelib.checks import check_finite, check_ndim
from vaelib.losses import gaussian_nll

VARIANCE_MODES = ("fixed", "shared", "learned")


def hard_regions_data(n: int = 1024, seed: int = 0, wiggle: float = 0.6):
    """A 1-D regression task with one hard region.

    y = sin(1.5 x) everywhere on [-3, 3], plus a fast wiggle ``wiggle * sin(12 x)`` for
    0.5 < x < 2.5. There is no noise: every point can be fit, but the wiggle is harder.

    Returns
    -------
    x, y : Tensor, shape (n, 1)
    hard : Tensor of bool, shape (n, 1)
        True inside the hard region.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=generator) * 6.0 - 3.0
    hard = (x > 0.5) & (x < 2.5)
    y = torch.sin(1.5 * x) + hard * wiggle * torch.sin(12.0 * x)
    return x, y, hard


class MeanVarianceNet(nn.Module):
    """A small MLP predicting the mean and log-variance of a Gaussian over y.

    Parameters
    ----------
    hidden : int
        Width of the two tanh hidden layers.
    variance : {"fixed", "shared", "learned"}
        "fixed": log_var = 0 (sigma = 1, the NLL is MSE / 2 plus a constant);
        "shared": one learned log_var for every output; "learned": a per-input log_var head.
    log_var_min : float, optional
        A smooth floor on the learned log-variance: log_var_min + softplus(raw - log_var_min).
    """

    def __init__(self, hidden: int = 64, variance: str = "learned", log_var_min=None):
        super().__init__()
        if variance not in VARIANCE_MODES:
            raise ValueError(f"variance must be one of {VARIANCE_MODES}, got {variance!r}")
        self.variance, self.log_var_min = variance, log_var_min
        self.body = nn.Sequential(
            nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh()
        )
        self.mu_head = nn.Linear(hidden, 1)
        self.log_var_head = nn.Linear(hidden, 1)
        self.shared_log_var = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor):
        """x (N, 1) -> (mu, log_var), each (N, 1)."""
        check_ndim("x", x, 2, "(N, 1)")
        h = self.body(x)
        mu = self.mu_head(h)
        if self.variance == "fixed":
            log_var = torch.zeros_like(mu)
        elif self.variance == "shared":
            log_var = torch.zeros_like(mu) + self.shared_log_var  # not a view: safe under no_grad
        else:
            log_var = self.log_var_head(h)
        if self.log_var_min is not None:
            log_var = self.log_var_min + F.softplus(log_var - self.log_var_min)
        return mu, log_var


def fit_mean_variance(model: MeanVarianceNet, x, y, num_epochs: int = 3000, lr: float = 3e-3):
    """Full-batch Adam on the mean Gaussian NLL; returns a history of the training curve.

    Returns
    -------
    dict of lists
        "nll" (mean NLL in nats per point), "mse", and "sigma_min" (the smallest predicted
        sigma), one entry per epoch.
    """
    check_finite("x", x)
    check_finite("y", y)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"nll": [], "mse": [], "sigma_min": []}
    for _ in range(num_epochs):
        mu, log_var = model(x)
        loss = gaussian_nll(y, mu, log_var, reduction="mean")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["nll"].append(loss.item())
        history["mse"].append(F.mse_loss(mu, y).item())
        history["sigma_min"].append(torch.exp(0.5 * log_var.detach()).min().item())
    return history


def jump_events(values, threshold: float = 1.0, min_gap: int = 50) -> list[tuple[int, int]]:
    """The separate blow-ups of a training curve: runs of steps rising by over ``threshold``.

    A step t "jumps" when ``values[t + 1] - values[t] > threshold``. Jumps less than ``min_gap``
    steps apart belong to one event (one blow-up often spans a few steps before the descent
    resumes), so a curve that spikes in 9 bursts of 4 steps has 9 events, not 36. Used in
    chapter 1 to count the collapse cycles of a learned variance.

    Parameters
    ----------
    values : sequence of float, length T
        The curve, e.g. the training NLL per step.
    threshold : float
        The rise, in the curve's units, that counts as a jump.
    min_gap : int
        Jumps closer than this many steps are merged into one event.

    Returns
    -------
    list of (first, last)
        The first and last jumping step of each event, in order.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"values must be one curve, shape (T,), got shape {values.shape}")
    if not threshold > 0 or not isinstance(min_gap, int) or min_gap < 1:
        raise ValueError(
            f"need threshold > 0 and an integer min_gap >= 1, got {threshold}, {min_gap}"
        )
    steps = np.flatnonzero(np.diff(values) > threshold)
    events = []
    for step in steps.tolist():
        if events and step - events[-1][1] < min_gap:
            events[-1] = (events[-1][0], step)
        else:
            events.append((step, step))
    return events
