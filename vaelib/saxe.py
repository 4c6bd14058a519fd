"""Saxe et al.'s (2018) small networks on the 12-bit task, several seeds as one tensor program.

The network is 12-10-7-5-4-3-2: five hidden layers with one activation (tanh or ReLU) and a
2-way softmax output, trained full batch with Adam on the cross-entropy. S seeds are S independent
networks whose weights are stacked along a leading dimension, W_l of shape (S, n_in, n_out), so
one batched matrix product (``torch.baddbmm``) runs every seed at once; Adam is elementwise, so
this is exactly S separate runs. Every layer's activations on all inputs are recorded at
log-spaced epochs for the information plane (:mod:`vaelib.information`).

Used in chapter 6, compression in the information plane.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from vaelib.config import device as default_device
from vaelib.information import binned_mi, information_batch

LAYER_SIZES = (12, 10, 7, 5, 4, 3, 2)
ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


@dataclass
class SaxeRun:
    """What :func:`train_saxe` recorded.

    Attributes
    ----------
    activation : str
    epochs : ndarray of int, shape (K,)
        The recorded epochs (0 is the initialisation).
    layers : list of Tensor, each shape (K, S, N, width)
        Every hidden layer's activations and the output's softmax probabilities, float32 on the
        CPU, for all N inputs at each recorded epoch and seed.
    loss : Tensor, shape (num_epochs, S)
        The training cross-entropy of each epoch, in nats.
    train_acc, test_acc : Tensor, shape (S,)
        Final accuracies on the training and held-out inputs.
    train_idx : Tensor, shape (N_train,)
        Which inputs were trained on.
    seconds : float
    """

    activation: str
    epochs: np.ndarray
    layers: list
    loss: torch.Tensor
    train_acc: torch.Tensor
    test_acc: torch.Tensor
    train_idx: torch.Tensor
    seconds: float


def log_epochs(num_epochs: int, num_points: int) -> np.ndarray:
    """About ``num_points`` distinct epochs from 0 to ``num_epochs``, log-spaced (0 included)."""
    if num_epochs < 1 or num_points < 2:
        raise ValueError(
            f"need num_epochs >= 1 and num_points >= 2, got {num_epochs}, {num_points}"
        )
    grid = np.unique(
        np.round(np.logspace(0, math.log10(num_epochs + 1), num_points)).astype(int) - 1
    )
    return grid


def init_params(num_seeds: int, seed: int, bias: float, device, sizes=LAYER_SIZES) -> list:
    """Weights N(0, 1/n_in) truncated at 2 sd (as in Saxe et al.'s code), every bias ``bias``.

    Returns a list of (W (S, n_out, n_in), b (S, n_out, 1)) pairs, leaves that require grad.
    Features come first (units along rows, inputs along columns): a batched product
    (S, n_out, n_in) @ (S, n_in, N) measured about 6 times faster on a CPU than the
    (S, N, n_in) @ (S, n_in, n_out) layout, whose inner dimensions are tiny.
    """
    gen = torch.Generator().manual_seed(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = torch.empty(num_seeds, n_out, n_in)
        torch.nn.init.trunc_normal_(w, std=1.0, a=-2.0, b=2.0, generator=gen)
        w = (w / math.sqrt(n_in)).to(device).requires_grad_()
        b = torch.full((num_seeds, n_out, 1), float(bias), device=device, requires_grad=True)
        params.append((w, b))
    return params


def forward(params, x: torch.Tensor, activation: str) -> list:
    """All layers of all seeds: x (N, 12) -> [hidden_1 (S, 10, N), ..., logits (S, 2, N)].

    Units come first and inputs last in every output (see :func:`init_params`).
    """
    act = ACTIVATIONS[activation]
    h = x.T.expand(params[0][0].shape[0], *x.T.shape)  # (N, 12) -> (S, 12, N), no copy
    outputs = []
    for i, (w, b) in enumerate(params):
        h = torch.baddbmm(b, w, h)  # (S, n_out, n_in) @ (S, n_in, N) + (S, n_out, 1)
        if i < len(params) - 1:
            h = act(h)
        outputs.append(h)
    return outputs


def split_indices(n: int, train_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random split of range(n) into training and held-out indices."""
    if not 0 < train_fraction <= 1:
        raise ValueError(f"train_fraction must be in (0, 1], got {train_fraction!r}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    cut = int(round(train_fraction * n))
    return order[:cut], order[cut:]


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if len(y) == 0:
        return torch.full((logits.shape[0],), float("nan"))
    return (logits.argmax(1) == y).float().mean(-1).cpu()  # (S, 2, N) -> (S, N) -> (S,)


def train_saxe(
    x,
    y,
    *,
    activation="tanh",
    num_epochs=2000,
    num_seeds=3,
    lr=1e-3,
    bias=0.1,
    train_fraction=0.8,
    num_records=30,
    seed=0,
    device=None,
) -> SaxeRun:
    """Train ``num_seeds`` 12-10-7-5-4-3-2 networks at once, full batch, recording activations.

    Parameters
    ----------
    x : Tensor, shape (N, 12)
        All inputs (the 12-bit task: N = 4096).
    y : Tensor of int, shape (N,)
        Binary labels.
    activation : {"tanh", "relu"}
    num_epochs : int
        Full-batch Adam steps.
    num_seeds : int
        Independent networks, seeds ``seed, seed + 1, ...`` of one generator stream.
    lr : float
    bias : float
        Initial value of every bias. A small positive value keeps ReLU units alive at the start
        (with zero biases narrow ReLU layers can die: every unit silent, loss stuck at log 2).
    train_fraction : float
        Share of the inputs trained on; the rest is held out.
    num_records : int
        About this many log-spaced epochs are recorded (see :func:`log_epochs`).

    Returns
    -------
    SaxeRun
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    if not isinstance(num_seeds, int) or num_seeds < 1:
        raise ValueError(f"num_seeds must be a positive integer, got {num_seeds!r}")
    if x.dim() != 2 or x.shape[1] != LAYER_SIZES[0] or len(y) != len(x):
        raise ValueError(f"x must be (N, 12) and y (N,), got {tuple(x.shape)} and {tuple(y.shape)}")
    start = time.perf_counter()
    device = device or default_device()
    x, y = x.to(device, torch.float32), y.to(device).long()
    train_idx, test_idx = split_indices(len(x), train_fraction, seed)
    params = init_params(num_seeds, seed, bias, device)
    optimizer = torch.optim.Adam([p for pair in params for p in pair], lr=lr, foreach=True)
    records = log_epochs(num_epochs, num_records)
    layers = [[] for _ in params]
    losses = []
    x_train, y_train = x[train_idx], y[train_idx]
    for epoch in range(num_epochs + 1):
        if epoch in records:
            _record(layers, params, x, activation)
        if epoch == num_epochs:
            break
        logits = forward(params, x_train, activation)[-1]  # (S, 2, N_train)
        per_seed = F.cross_entropy(logits, y_train.expand(num_seeds, -1), reduction="none")
        loss = per_seed.mean(1)  # (S,): seeds are independent, so their sum trains each one
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimizer.step()
        losses.append(loss.detach().cpu())
    with torch.no_grad():
        logits = forward(params, x, activation)[-1]
    return SaxeRun(
        activation=activation,
        epochs=records,
        layers=[torch.stack(layer) for layer in layers],
        loss=torch.stack(losses) if losses else torch.empty(0, num_seeds),
        train_acc=_accuracy(logits[:, :, train_idx], y[train_idx]),
        test_acc=_accuracy(logits[:, :, test_idx], y[test_idx]),
        train_idx=train_idx,
        seconds=time.perf_counter() - start,
    )


def _record(layers, params, x, activation):
    with torch.no_grad():
        outputs = forward(params, x, activation)
    outputs[-1] = torch.softmax(outputs[-1], dim=1)  # the output layer as probabilities
    for store, out in zip(layers, outputs):
        store.append(out.transpose(1, 2).float().cpu())  # (S, width, N) -> (S, N, width)


def subsample(n: int, num_points: int, seed: int = 0) -> torch.Tensor:
    """``num_points`` of range(n) drawn without replacement by a seeded generator (all if more)."""
    if num_points >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:num_points]


def kde_planes(run: SaxeRun, labels, var: float, idx=None, seeds=None) -> dict:
    """Saxe et al.'s KDE information plane of every layer, snapshot and seed of ``run``.

    Parameters
    ----------
    run : SaxeRun
    labels : Tensor of int, shape (N,)
    var : float
        The noise variance added to every activation (the analyst's choice).
    idx : Tensor of int, optional
        The inputs X is uniform over (all N by default; a subsample is cheaper, and caps
        I(X; T) at log len(idx)).
    seeds : list of int, optional
        Which seeds to measure (all by default).

    Returns
    -------
    dict of Tensor, each shape (L, K, S)
        ``ixt_bd``, ``ixt_kl``, ``ity_bd``, ``ity_kl`` in nats for L layers, K snapshots, S seeds.
    """
    idx = torch.arange(run.layers[0].shape[2]) if idx is None else idx
    per_layer = []
    for layer in run.layers:
        layer = layer if seeds is None else layer[:, list(seeds)]
        k, s, _, w = layer.shape
        codes = layer[:, :, idx].reshape(k * s, len(idx), w)  # (K, S, n, w) -> (K * S, n, w)
        per_layer.append(
            {key: v.reshape(k, s) for key, v in information_batch(codes, var, labels[idx]).items()}
        )
    return {key: torch.stack([p[key] for p in per_layer]) for key in per_layer[0]}


def binned_planes(run: SaxeRun, labels, n_bins: int, seed_index: int = 0) -> dict:
    """Shwartz-Ziv & Tishby's binning estimates for one seed: ``ixt``, ``ity`` of shape (L, K)."""
    ixt = torch.zeros(len(run.layers), len(run.epochs), dtype=torch.float64)
    ity = torch.zeros_like(ixt)
    for i, layer in enumerate(run.layers):
        for j in range(layer.shape[0]):
            ixt[i, j], ity[i, j] = binned_mi(layer[j, seed_index], labels, n_bins)
    return {"ixt": ixt, "ity": ity}


def compression(ixt: torch.Tensor) -> torch.Tensor:
    """How far I(X; T) fell from its peak by the end: max over snapshots minus the last, (L, S).

    ``ixt`` has shape (L, K, S) (layers, snapshots, seeds); 0 means no fall at all.
    """
    return ixt.max(dim=1).values - ixt[:, -1]
