"""Metrics for sparse codes: dead units, L0, redundancy, responsibilities, reconstruction, probes.

Every metric takes the codes ``a`` of shape (N, K) of a whole evaluation set (not a batch) and
computes in float64. Used in chapter 7, the implicit-EM sparse encoder.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vaelib.checks import as_tensor, check_finite, check_ndim, check_same_shape
from vaelib.sparse import Encoder, SparseAutoencoder, fit_implicit_decoder, implicit_decode

DEAD_RATE = 1e-3  # a unit active (a > 0) on fewer than 0.1% of the inputs counts as dead
REDUNDANT_CORR = 0.5  # a pair of live units with |corr| above this counts as redundant


def _codes(a, min_rows: int = 1) -> torch.Tensor:
    a = as_tensor("a", a)
    check_ndim("a", a, 2, "(N, K): N code vectors with K components")
    if len(a) < min_rows:
        raise ValueError(f"a needs at least {min_rows} rows, got {len(a)}")
    return check_finite("a", a.detach().double())


def activity_rate(a) -> torch.Tensor:
    """Fraction of inputs on which each unit is active (``a_j > 0``), shape (K,)."""
    return (_codes(a) > 0).double().mean(dim=0)


def dead_units(a, min_rate: float = DEAD_RATE) -> int:
    """Number of units active on fewer than ``min_rate`` of the inputs."""
    return int((activity_rate(a) < min_rate).sum())


def l0(a) -> float:
    """Mean number of active (nonzero) components per input."""
    return float((_codes(a) != 0).double().sum(dim=1).mean())


def redundancy(a, threshold: float = REDUNDANT_CORR, min_rate: float = DEAD_RATE) -> int:
    """Number of pairs of live units whose activations correlate with ``|corr| > threshold``.

    Dead units are left out (their correlation is undefined).
    """
    a = _codes(a, min_rows=2)
    a = a[:, activity_rate(a) >= min_rate]
    if a.shape[1] < 2:
        return 0
    centred = a - a.mean(dim=0)
    z = centred / centred.norm(dim=0).clamp_min(1e-300)  # unit-norm columns
    corr = z.T @ z  # (K_live, K_live)
    upper = torch.triu(torch.ones_like(corr, dtype=torch.bool), diagonal=1)
    return int((corr.abs()[upper] > threshold).sum())


def responsibility_entropy(a) -> float:
    """Mean over inputs of the entropy (nats) of ``r = softmax(-a)``; at most ``log K``.

    High means each input spreads its responsibility over many components.
    """
    log_r = torch.log_softmax(-_codes(a), dim=1)  # stable log-responsibilities
    return float(-(log_r.exp() * log_r).sum(dim=1).mean())


def usage_entropy(a) -> float:
    """Entropy (nats) of the average responsibility ``mean_x r(x)``: how evenly components are used.

    ``usage_entropy - responsibility_entropy`` is the mutual information between the input and
    the component (0 when every input has the same responsibilities).
    """
    r_bar = torch.softmax(-_codes(a), dim=1).mean(dim=0)
    return float(-(r_bar * torch.log(r_bar.clamp_min(1e-300))).sum())


def reconstruction_error(x, x_hat) -> float:
    """Mean over inputs of the squared error ``||x - x_hat||^2`` (summed over pixels)."""
    x, x_hat = _pair(x, x_hat)
    return float((x - x_hat).pow(2).sum(dim=1).mean())


def explained_variance(x, x_hat) -> float:
    """``1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2``: 1 is perfect, 0 is the mean image."""
    x, x_hat = _pair(x, x_hat)
    return float(1 - (x - x_hat).pow(2).sum() / (x - x.mean(dim=0)).pow(2).sum())


def _pair(x, x_hat):
    x, x_hat = as_tensor("x", x), as_tensor("x_hat", x_hat)
    x = x.reshape(len(x), -1).detach().double()  # (N, 1, 28, 28) -> (N, 784)
    x_hat = x_hat.reshape(len(x_hat), -1).detach().double()
    check_same_shape("x", x, "x_hat", x_hat)
    return check_finite("x", x), check_finite("x_hat", x_hat)


def probe_accuracy(z_train, y_train, z_test, y_test, weight_decay=1e-4, max_iter=200) -> float:
    """Held-out accuracy of a linear (multinomial logistic) probe trained on codes ``z_train``.

    Features are standardised with the training mean and standard deviation; the probe is fitted
    by full-batch L-BFGS in float64 with a small L2 penalty ``weight_decay``.
    """
    z_train, z_test = _codes(z_train), _codes(z_test)
    y_train = as_tensor("y", y_train, device=z_train.device).long()
    y_test = as_tensor("y", y_test, device=z_test.device).long()
    if len(y_train) != len(z_train) or len(y_test) != len(z_test):
        raise ValueError("each code row needs exactly one label: len(z) must equal len(y)")
    if z_train.shape[1] != z_test.shape[1]:
        raise ValueError(
            f"train codes have {z_train.shape[1]} features, test codes {z_test.shape[1]}"
        )
    mean, std = z_train.mean(0), z_train.std(0).clamp_min(1e-8)
    z_train, z_test = (z_train - mean) / std, (z_test - mean) / std
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    probe = nn.Linear(z_train.shape[1], num_classes).double().to(z_train.device)
    optimizer = torch.optim.LBFGS(
        probe.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(probe(z_train), y_train)
        loss = loss + weight_decay * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return float((probe(z_test).argmax(dim=1) == y_test).double().mean())


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def code_metrics(a, min_rate: float = DEAD_RATE, threshold: float = REDUNDANT_CORR) -> dict:
    """The code-only metrics of one model in a dict (dead units, L0, redundancy, entropies)."""
    a = _codes(a, min_rows=2)
    return {
        "dead": dead_units(a, min_rate),
        "l0": l0(a),
        "redundant_pairs": redundancy(a, threshold, min_rate),
        "resp_entropy": responsibility_entropy(a),
        "usage_entropy": usage_entropy(a),
        "max_entropy": math.log(a.shape[1]),
    }


def evaluate(model, x_train, y_train, x_test, y_test, probe_iter: int = 200) -> dict:
    """Every chapter-7 metric of a trained model on the held-out set, in one dict.

    Reconstructions come from the SAE's decoder, or for the decoder-free :class:`Encoder` from
    the implicit decoder ``scale * W^T a + offset`` fitted on the training set (``"scale"``).
    """
    if not isinstance(model, (Encoder, SparseAutoencoder)):
        raise TypeError(
            f"model must be an Encoder or a SparseAutoencoder, got {type(model).__name__}"
        )
    encoder = model if isinstance(model, Encoder) else model.encoder
    with torch.no_grad():
        a_train, a_test = encoder(x_train), encoder(x_test)
        if isinstance(model, SparseAutoencoder):
            scale, x_hat = float("nan"), model.decoder(a_test)
        else:
            scale, offset = fit_implicit_decoder(model, x_train)
            x_hat = implicit_decode(model, a_test, scale, offset)
    return {
        **code_metrics(a_test),
        "mse": reconstruction_error(x_test, x_hat),
        "explained_variance": explained_variance(x_test, x_hat),
        "probe_accuracy": probe_accuracy(a_train, y_train, a_test, y_test, max_iter=probe_iter),
        "params": count_params(model),
        "scale": scale,
    }


def mean_sd(runs: list[dict]) -> dict:
    """Mean and standard deviation (ddof=1; 0 for a single run) of each metric over seeds."""
    if not runs:
        raise ValueError("mean_sd needs at least one run")
    out = {}
    for key in runs[0]:
        values = torch.tensor([float(run[key]) for run in runs], dtype=torch.float64)
        out[key] = (float(values.mean()), float(values.std()) if len(values) > 1 else 0.0)
    return out
