"""The implicit-EM sparse encoder: a decoder-free sparse autoencoder, and the standard SAE.

A linear layer followed by a ReLU, ``a = ReLU(W x + b)``, read as a vector of energies (distances
to the prototypes held in the rows of ``W``; Oursland 2024). The encoder is trained with no
decoder at all, on

    L = LSE(a) - lambda_var * sum_j log Var(a_j) + lambda_tc * ||Corr(A) - I||_F^2,

where ``LSE(a) = -log sum_j exp(-a_j)``. Its gradient with respect to each energy is that
energy's responsibility, ``dL/da_j = softmax(-a)_j`` (Oursland 2025), so gradient descent does EM
implicitly; the variance and decorrelation terms are the volume control that a Gaussian
mixture gets from its log-determinant. The standard sparse autoencoder (ReLU encoder, linear
decoder, L1 penalty) is here for comparison. Metrics live in :mod:`vaelib.sparse_metrics`.

Used in chapter 7, the implicit-EM sparse encoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vaelib.checks import as_floats, as_tensor, check_finite, check_ndim

EPS = 1e-6  # floor on variances inside log Var and Corr, so a silent unit stays finite


def flatten_inputs(x, in_features: int) -> torch.Tensor:
    """Inputs as a float tensor of shape (B, in_features), with a clear error if they do not fit.

    Accepts (B, D), (B, H, W) or (B, 1, H, W) with ``D = H * W = in_features``.
    """
    x = as_tensor("x", x)
    if x.dim() < 2:
        raise ValueError(
            f"x must have a batch dimension, shape (B, {in_features}); got {tuple(x.shape)}"
        )
    x = x.reshape(len(x), -1)  # (B, 1, 28, 28) -> (B, 784)
    if x.shape[1] != in_features:
        raise ValueError(
            f"x has {x.shape[1]} features per example but the model expects {in_features}; "
            f"pass images of shape (B, 1, 28, 28) or flattened rows of shape (B, {in_features})"
        )
    return check_finite("x", x.float() if x.dtype not in (torch.float32, torch.float64) else x)


class Encoder(nn.Module):
    """The decoder-free encoder ``a = ReLU(W x + b)``: ``in_features * width + width`` parameters.

    Each row ``W[j]`` is a prototype direction and ``b[j]`` places it (Oursland 2024), so
    ``a_j`` reads as the energy (a one-sided distance) of component ``j``.
    """

    def __init__(self, in_features: int = 784, width: int = 64):
        super().__init__()
        if width < 2:
            raise ValueError(f"width must be at least 2 (components compete), got {width}")
        self.in_features, self.width = in_features, width
        self.linear = nn.Linear(in_features, width)

    def forward(self, x) -> torch.Tensor:
        """Energies ``a``, shape (B, width), for inputs of shape (B, in_features) or images."""
        x = flatten_inputs(x, self.in_features).to(self.linear.weight.dtype)
        return F.relu(self.linear(x))

    @property
    def prototypes(self) -> torch.Tensor:
        """The rows of ``W``, shape (width, in_features): one prototype per component."""
        return self.linear.weight.detach()


class SparseAutoencoder(nn.Module):
    """The standard SAE: ``a = ReLU(W x + b)``, ``x_hat = W' a + b'``, trained with ``sae_loss``."""

    def __init__(self, in_features: int = 784, width: int = 64):
        super().__init__()
        self.encoder = Encoder(in_features, width)
        self.decoder = nn.Linear(width, in_features)
        self.in_features, self.width = in_features, width

    def encode(self, x) -> torch.Tensor:
        """Codes ``a``, shape (B, width)."""
        return self.encoder(x)

    def forward(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction ``x_hat`` (B, in_features) and codes ``a`` (B, width)."""
        a = self.encoder(x)
        return self.decoder(a), a

    @property
    def prototypes(self) -> torch.Tensor:
        """The encoder's rows, shape (width, in_features)."""
        return self.encoder.prototypes


def _check_codes(a, min_batch: int = 1) -> torch.Tensor:
    (a,) = as_floats(("a", a))  # integer codes are computed on as floats
    check_ndim("a", a, 2, "(B, K): a batch of B code vectors with K components")
    if len(a) < min_batch:
        raise ValueError(
            f"a needs at least {min_batch} examples for batch statistics, got {len(a)}"
        )
    return check_finite("a", a)


def responsibilities(a) -> torch.Tensor:
    """Posterior responsibilities ``r_j = exp(-a_j) / sum_k exp(-a_k)``, shape (B, K)."""
    return torch.softmax(-_check_codes(a), dim=1)


def lse_loss(a, reduction: str = "mean") -> torch.Tensor:
    """The log-sum-exp objective ``-log sum_j exp(-a_j)`` per example (Oursland 2025).

    Its gradient with respect to ``a_j`` is exactly ``responsibilities(a)[:, j]`` (per example,
    so use ``reduction="sum"`` to see the identity without the 1/B of the mean).

    Parameters
    ----------
    a : Tensor, shape (B, K)
        Energies.
    reduction : {"mean", "sum", "none"}
    """
    values = -torch.logsumexp(-_check_codes(a), dim=1)  # (B,), stable: no exp overflow
    if reduction == "none":
        return values
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return values.mean() if reduction == "mean" else values.sum()


def variance_loss(a, eps: float = EPS) -> torch.Tensor:
    """The InfoMax variance term ``-sum_j log(Var(a_j) + eps)`` over the batch, a scalar.

    A silent unit has zero variance and a large penalty, so this term keeps every unit alive.
    """
    a = _check_codes(a, min_batch=2)
    return -torch.log(a.var(dim=0, unbiased=False) + eps).sum()


def correlation(a, eps: float = EPS) -> torch.Tensor:
    """The K x K correlation matrix of the codes over the batch (a silent unit gets a zero row)."""
    a = _check_codes(a, min_batch=2)
    centred = a - a.mean(dim=0)
    z = centred / torch.sqrt(centred.pow(2).mean(dim=0) + eps)  # (B, K), unit variance columns
    return z.T @ z / len(a)


def decorrelation_loss(a, eps: float = EPS) -> torch.Tensor:
    """The InfoMax decorrelation term ``||Corr(A) - I||_F^2``, a scalar; zero iff units are
    uncorrelated (a proxy for total correlation)."""
    corr = correlation(a, eps)
    eye = torch.eye(len(corr), dtype=corr.dtype, device=corr.device)
    return (corr - eye).pow(2).sum()


def implicit_em_loss(a, lambda_var: float, lambda_tc: float, lambda_lse: float = 1.0):
    """The complete objective, ``lambda_lse * LSE - lambda_var * sum log Var + lambda_tc * TC``.

    ``lambda_lse=0`` drops the log-sum-exp term (the InfoMax-only ablation).
    """
    loss = lambda_var * variance_loss(a) + lambda_tc * decorrelation_loss(a)
    return loss + lambda_lse * lse_loss(a) if lambda_lse else loss


def sae_loss(x, x_hat, a, l1: float) -> torch.Tensor:
    """Standard SAE loss ``mean_B( ||x - x_hat||^2 + l1 * ||a||_1 )``."""
    x, x_hat, a = as_floats(("x", x), ("x_hat", x_hat), ("a", a))
    return (x - x_hat).pow(2).sum(dim=1).mean() + l1 * a.abs().sum(dim=1).mean()


def gradient_identity(a, dtype: torch.dtype = torch.float64):
    """One backward pass through ``LSE``: return ``(dL/da, r)``, both shape (B, K).

    The two agree to rounding error: the backward pass computes the E-step.
    """
    energies = _check_codes(a).detach().to(dtype).requires_grad_(True)
    (grad,) = torch.autograd.grad(lse_loss(energies, reduction="sum"), energies)
    return grad, torch.softmax(-energies.detach(), dim=1)


def _train(model, x, loss_fn, num_epochs, batch_size, lr, seed, after_step=None):
    """Minibatch Adam on ``loss_fn(model, x_batch)``; returns the mean loss of each epoch.

    ``after_step(model)``, when given, runs after every optimiser step (e.g. a projection).
    """
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(num_epochs):
        order, total = torch.randperm(len(x), generator=generator), 0.0
        for start in range(0, len(x) - batch_size + 1, batch_size):  # drop the ragged tail
            loss = loss_fn(model, x[order[start : start + batch_size]])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if after_step is not None:
                after_step(model)
            total += loss.item()
        history.append(total / (len(x) // batch_size))
        check_finite("the training loss", torch.tensor(history[-1]))
    return history


def _prepare(x, batch_size, seed):
    x = as_tensor("x", x)
    x = flatten_inputs(x, x[0].numel() if x.dim() > 1 else 0).float()
    if not 2 <= batch_size <= len(x):
        raise ValueError(
            f"batch_size must be between 2 and the {len(x)} examples, got {batch_size}"
        )
    torch.manual_seed(seed)  # the initial weights
    return x


def train_encoder(
    x,
    *,
    width=64,
    lambda_var=0.01,
    lambda_tc=0.01,
    lambda_lse=1.0,
    num_epochs=30,
    batch_size=256,
    lr=1e-3,
    seed=0,
):
    """Train the decoder-free encoder on ``implicit_em_loss`` with minibatch Adam.

    Defaults: chapter 7's settings (64 units, both lambdas 0.01, ``lambda_lse=1``, batches of 256,
    lr 1e-3, seed 0) and 30 epochs.

    Parameters
    ----------
    x : Tensor, shape (N, D) or (N, 1, H, W)
        Training inputs (MNIST: D = 784).
    width : int
        Number of units (components) K.
    lambda_var, lambda_tc, lambda_lse : float
        Weights of the variance, decorrelation and log-sum-exp terms (0 switches one off).
    num_epochs, batch_size, lr, seed : int, int, float, int
        The budget; ``seed`` fixes both the initial weights and the minibatch order.

    Returns
    -------
    encoder : Encoder
    history : list of float
        The mean training loss of each epoch.
    """
    x = _prepare(x, batch_size, seed)
    encoder = Encoder(x.shape[1], width)
    loss_fn = lambda model, xb: implicit_em_loss(model(xb), lambda_var, lambda_tc, lambda_lse)
    return encoder, _train(encoder, x, loss_fn, num_epochs, batch_size, lr, seed)


def train_sae(x, *, width=64, l1=0.1, num_epochs=30, batch_size=256, lr=1e-3, seed=0):
    """Train the standard sparse autoencoder on ``sae_loss`` with minibatch Adam.

    Same arguments and defaults as :func:`train_encoder`, with ``l1`` (0.1) the weight of the L1
    penalty. Returns ``(sae, history)``: a :class:`SparseAutoencoder` and per-epoch mean losses.
    """
    x = _prepare(x, batch_size, seed)
    sae = SparseAutoencoder(x.shape[1], width)

    def loss_fn(model, xb):
        x_hat, a = model(xb)
        return sae_loss(xb, x_hat, a, l1)

    return sae, _train(sae, x, loss_fn, num_epochs, batch_size, lr, seed)


def fit_implicit_decoder(encoder: Encoder, x) -> tuple[float, torch.Tensor]:
    """Least-squares ``scale`` and ``offset`` of the implicit decoder ``scale * W^T a + offset``.

    ``W^T`` is the encoder's own weight matrix, so no decoder is trained: only one scalar and
    the offset (a pixel vector, the role of the SAE's decoder bias) are fitted, in closed form.
    """
    with torch.no_grad():
        x = flatten_inputs(x, encoder.in_features).double()
        u = encoder(x).double() @ encoder.prototypes.double()  # (N, K) @ (K, D) -> (N, D)
        u_c, x_c = u - u.mean(0), x - x.mean(0)
        denom = u_c.pow(2).sum()
        scale = (u_c * x_c).sum() / denom if denom > 0 else x.new_zeros(())
        offset = x.mean(0) - scale * u.mean(0)
    return float(scale), offset.float()


def implicit_decode(encoder: Encoder, a, scale: float, offset) -> torch.Tensor:
    """The implicit decoder ``x_hat = scale * W^T a + offset``, shape (B, in_features)."""
    a = _check_codes(a)
    return scale * a.float() @ encoder.prototypes.float() + torch.as_tensor(offset).float()


def prototype_images(model, n: int | None = None, side: int = 28) -> torch.Tensor:
    """The first ``n`` prototypes (rows of ``W``) as images in [-1, 1], shape (n, side, side).

    Each row is divided by its largest absolute weight, so plot them with a diverging colour map
    and limits -1, 1.
    """
    w = model.prototypes[:n].double()
    w = w / w.abs().amax(dim=1, keepdim=True).clamp_min(1e-12)
    return w.reshape(len(w), side, side)  # (n, 784) -> (n, 28, 28)
