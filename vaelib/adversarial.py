"""An adversarial loss on the black-or-white pixel of :mod:`vaelib.bimodal`: a tiny generator
trained against a discriminator commits to the modes where squared error averages them.

The generator g(c) maps an input c ~ N(0, 1) that carries no information about the pixel (like a
code that cannot tell two images apart) to a value in (0, 1); the discriminator d(x) scores how
real a value looks. Both are small MLPs trained with Adam on the non-saturating GAN losses
(Goodfellow et al. 2014, section 3):

    loss_d = -log sigmoid(d(x)) - log(1 - sigmoid(d(g(c))))
    loss_g = -log sigmoid(d(g(c)))

Any grey value is one the data never shows, so the discriminator punishes it and the
generator's outputs move onto 0 or 1. Nothing in the loss asks which one for a given c, so each
output is sharp and, measured against the true pixel, often wrong.

Used in section 4.1 (why VAE images blur).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vaelib.bimodal import check_probability, near_mode


def _mlp(hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
        nn.Linear(hidden, 1),
    )  # fmt: skip


def train_pixel_gan(
    p, *, num_steps=1500, batch_size=128, hidden=32, lr=1e-3, seed=0, num_outputs=2000
) -> torch.Tensor:
    """Train a tiny GAN on pixels that are 1 with probability ``p``; return its outputs.

    Parameters
    ----------
    p : float
        The probability that the pixel is white.
    num_steps : int
        Alternating updates (one discriminator step, one generator step each).
    hidden : int
        Width of the two hidden layers of both networks.
    seed : int
        Seeds the weights, the data and the inputs c.
    num_outputs : int
        How many outputs g(c) to return after training, for fresh inputs c.

    Returns
    -------
    Tensor of float32, shape (num_outputs,), values in [0, 1] (the sigmoid saturates in float32)
    """
    p = check_probability(p)
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        gen, disc = _mlp(hidden), _mlp(hidden)
    opt_g = torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    for _ in range(num_steps):
        real = (torch.rand(batch_size, 1, generator=generator) < p).float()  # (B, 1)
        c = torch.randn(batch_size, 1, generator=generator)
        fake = torch.sigmoid(gen(c))  # (B, 1), in (0, 1)
        # -log sigmoid(s) = softplus(-s) and -log(1 - sigmoid(s)) = softplus(s): stable forms
        loss_d = F.softplus(-disc(real)).mean() + F.softplus(disc(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-disc(fake)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    with torch.no_grad():
        c = torch.randn(num_outputs, 1, generator=generator)
        return torch.sigmoid(gen(c))[:, 0]


def mode_report(outputs, p, tol=0.1, seed=0) -> dict:
    """How a model's outputs for the pixel of probability ``p`` sit against the two modes.

    Parameters
    ----------
    outputs : Tensor, shape (N,)
        Predictions for inputs that carry no information about the pixel.
    p : float
    tol : float
        "Near a mode" means within ``tol`` of 0 or 1.
    seed : int
        Draws the true pixels each output is scored against (independent of the outputs).

    Returns
    -------
    dict of float
        ``near_mode``: the fraction of outputs within ``tol`` of 0 or 1; ``white``: the fraction
        above 1/2 (to compare with ``p``); ``wrong``: among outputs near a mode, the fraction on
        the other mode than the true pixel drawn for it; ``sq_error``: the mean squared error
        against the true pixels (the mean p scores p (1 - p), the best any prediction can).
    """
    p = check_probability(p)
    outputs = torch.as_tensor(outputs, dtype=torch.float64)
    if outputs.dim() != 1 or len(outputs) == 0:
        raise ValueError(f"outputs must be a non-empty vector (N,), got {tuple(outputs.shape)}")
    generator = torch.Generator().manual_seed(seed)
    truth = (torch.rand(len(outputs), generator=generator, dtype=torch.float64) < p).double()
    sharp = near_mode(outputs, tol=tol)
    wrong = ((outputs > 0.5).double() != truth)[sharp].double()
    return {
        "near_mode": float(sharp.double().mean()),
        "white": float((outputs > 0.5).double().mean()),
        "wrong": float(wrong.mean()) if len(wrong) else float("nan"),
        "sq_error": float((outputs - truth).pow(2).mean()),
    }
