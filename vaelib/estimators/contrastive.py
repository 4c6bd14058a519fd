"""InfoNCE, the contrastive lower bound on mutual information, and why it cannot exceed log K.

For K pairs (x_i, y_i) drawn from p(x, y) and a critic f, with scores s_ij = f(x_i, y_j),

    I_NCE = log K + (1/K) sum_i [ s_ii - logsumexp_j s_ij ]      (van den Oord et al. 2018;
                                                                 Poole et al. 2019, eq. 12)

is a lower bound on I(X; Y) for every critic, and since s_ii <= logsumexp_j s_ij, also
I_NCE <= log K: a batch of K candidates can certify at most log K nats. The optimal critic is
the log density ratio log p(y | x) / p(y) (plus any function of x), which for correlated
Gaussians is quadratic (:func:`gaussian_critic_scores`, :class:`QuadraticCritic`).

Used in chapter 5, rate and distortion; chapter 6 uses mutual information estimators too.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vaelib.models.vae import LossTerms


def _check_scores(scores: torch.Tensor) -> torch.Tensor:
    if not isinstance(scores, torch.Tensor):
        raise TypeError("scores must be a torch.Tensor of shape (K, K)")
    if scores.dim() < 2 or scores.shape[-1] != scores.shape[-2]:
        raise ValueError(
            f"scores has shape {tuple(scores.shape)}; InfoNCE needs a square (K, K) matrix "
            "with the positive pairs on the diagonal"
        )
    if scores.shape[-1] < 2:
        raise ValueError(
            f"InfoNCE needs K >= 2 candidates per row (one positive, at least one negative); "
            f"got K = {scores.shape[-1]}"
        )
    return scores


def infonce_batches(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE estimates of B independent batches: scores (B, K, K) -> (B,), in nats.

    Computed in float64 with logsumexp when the scores are float64; keeps the input's dtype
    otherwise, so it can be a training loss.
    """
    scores = _check_scores(scores)
    k = scores.shape[-1]
    positive = scores.diagonal(dim1=-2, dim2=-1)  # s_ii, (B, K)
    return (positive - torch.logsumexp(scores, dim=-1)).mean(-1) + math.log(k)


def infonce(scores: torch.Tensor) -> torch.Tensor:
    """The InfoNCE estimate in nats from a (K, K) matrix of critic scores.

    Parameters
    ----------
    scores : Tensor, shape (K, K)
        scores[i, j] = f(x_i, y_j); the positive pairs (x_i, y_i) on the diagonal.

    Returns
    -------
    Tensor, scalar
        mean_i [s_ii - logsumexp_j s_ij] + log K, which never exceeds log K.

    Raises
    ------
    ValueError
        For a non-square input or K < 2.
    """
    scores = _check_scores(scores)
    if scores.dim() != 2:
        raise ValueError(
            f"scores has shape {tuple(scores.shape)}; pass one (K, K) matrix "
            "(infonce_batches takes a stack of them)"
        )
    return infonce_batches(scores.unsqueeze(0))[0]


def gaussian_mi(rho: float, dim: int) -> float:
    """I(X; Y) = -dim/2 log(1 - rho^2) nats for dim independent pairs with correlation rho."""
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho!r}")
    return -0.5 * dim * math.log1p(-rho * rho)


def rho_for_mi(mi: float, dim: int) -> float:
    """The correlation at which dim Gaussian pairs share ``mi`` nats (inverse of gaussian_mi)."""
    if mi < 0:
        raise ValueError(f"mutual information is non-negative, got {mi!r}")
    return math.sqrt(-math.expm1(-2.0 * mi / dim))


def correlated_gaussians(num_samples, rho, dim, batch_shape=(), seed=0, dtype=torch.float64):
    """Pairs x, y ~ N(0, I), corr(x_d, y_d) = rho: tensors (*batch_shape, num_samples, dim)."""
    generator = torch.Generator().manual_seed(seed)
    shape = (*batch_shape, num_samples, dim)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    noise = torch.randn(shape, generator=generator, dtype=dtype)
    return x, rho * x + math.sqrt(1.0 - rho * rho) * noise


def gaussian_critic_scores(x, y, rho):
    """The optimal critic log p(y_j | x_i) / p(y_j) for every pair: (..., K, d) x 2 -> (..., K, K).

    log N(y; rho x, (1 - rho^2) I) - log N(y; 0, I), in closed form.
    """
    var = 1.0 - rho * rho
    sq_x, sq_y = x.pow(2).sum(-1), y.pow(2).sum(-1)  # (..., K)
    cross = x @ y.transpose(-1, -2)  # x_i . y_j, (..., K, K)
    dist = (
        rho * rho * sq_x.unsqueeze(-1) - 2 * rho * cross + sq_y.unsqueeze(-2)
    )  # |y_j - rho x_i|^2
    dim = x.shape[-1]
    return -0.5 * dist / var - 0.5 * dim * math.log(var) + 0.5 * sq_y.unsqueeze(-2)


class QuadraticCritic(nn.Module):
    """f(x, y) = x^T W y - 1/2 y^T diag(v) y: a family that contains the Gaussian optimum.

    The optimum has W = rho / (1 - rho^2) I and v = rho^2 / (1 - rho^2); the terms in x alone
    cancel in InfoNCE. :meth:`loss` makes it trainable with :func:`vaelib.train.fit` on rows
    [x, y] of shape (K, 2 dim): the loss is -I_NCE of the batch (the batch size is K).
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.weight = nn.Parameter(torch.zeros(dim, dim))
        self.log_v = nn.Parameter(torch.full((dim,), -3.0))

    def scores(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y (..., K, dim) -> scores (..., K, K)."""
        w, v = self.weight.to(x.dtype), self.log_v.exp().to(x.dtype)
        cross = (x @ w) @ y.transpose(-1, -2)  # (..., K, K)
        return cross - 0.5 * (v * y.pow(2)).sum(-1).unsqueeze(-2)

    def loss(self, xy: torch.Tensor, beta: float = 1.0) -> LossTerms:
        """-InfoNCE of one batch of K rows [x, y]; ``beta`` is unused (the fit interface)."""
        x, y = xy[:, : self.dim], xy[:, self.dim :]  # (K, 2 dim) -> (K, dim), (K, dim)
        estimate = infonce(self.scores(x, y))
        return LossTerms(-estimate, -estimate, torch.zeros_like(estimate))

    @torch.no_grad()
    def estimate(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """InfoNCE of a stack of batches x, y (B, K, dim): (B,) estimates in nats."""
        return infonce_batches(self.scores(x.double(), y.double()).double())


def train_critic(batch_size, rho, dim, *, num_steps=300, lr=0.05, seed=0, device=None):
    """Train a :class:`QuadraticCritic` on InfoNCE with batches of K = ``batch_size`` pairs.

    Uses :func:`vaelib.train.fit` on ``num_steps * batch_size`` fresh pairs seen once each (at
    most 4,096 pairs, recycled over epochs beyond that), so the critic never meets the data it
    is later scored on (:meth:`QuadraticCritic.estimate` on other draws).

    Returns
    -------
    QuadraticCritic
        On the CPU, in eval mode.
    """
    from vaelib.train import fit  # vaelib.train imports the models; import late, no cycle

    if not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"InfoNCE needs a batch of K >= 2 pairs, got batch_size={batch_size!r}")
    steps_per_epoch = max(1, min(num_steps, 4096 // batch_size))
    x, y = correlated_gaussians(steps_per_epoch * batch_size, rho, dim, seed=seed)
    xy = torch.cat([x, y], dim=1).float()  # (N, 2 dim)
    critic = QuadraticCritic(dim)
    num_epochs = max(1, round(num_steps / steps_per_epoch))
    fit(
        critic,
        xy,
        num_epochs=num_epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        progress=False,
        input_shape=(2 * dim,),
    )
    return critic.cpu()
