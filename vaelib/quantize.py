"""Quantizing a trained model's weights, and what the weight error does to the task loss.

A uniform quantizer with b bits per weight rounds every weight of a tensor to one of 2^b evenly
spaced levels spanning [-max|w|, max|w|]. Its weight MSE can be set against the Gaussian R(D) of
the weights (:func:`vaelib.rate_distortion.gaussian_rd`), and its effect on the task measured by
scoring the quantized copy.

Used in chapter 5, rate and distortion.
"""

from __future__ import annotations

import copy
import math

import torch

from vaelib.rate_distortion import gaussian_rd


def quantize_uniform(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Round ``w`` to 2^bits evenly spaced levels on [-max|w|, max|w|] (same shape)."""
    if not isinstance(bits, int) or bits < 1:
        raise ValueError(f"bits must be a positive integer, got {bits!r}")
    top = w.abs().max()
    if top == 0:
        return w.clone()
    step = 2 * top / (2**bits - 1)
    return torch.round((w + top) / step) * step - top


def quantize_step(w: torch.Tensor, step: float) -> torch.Tensor:
    """Round ``w`` to the nearest multiple of ``step`` (same shape): MSE ~ step^2 / 12."""
    if not step > 0:
        raise ValueError(f"step must be positive, got {step!r}")
    return torch.round(w / step) * step


def quantize_to_mse(w: torch.Tensor, mse: float, num_iter: int = 60) -> torch.Tensor:
    """Round ``w`` to multiples of the step whose weight MSE is ``mse`` (found by bisection).

    The MSE of rounding grows with the step (up to mean(w^2), when everything rounds to 0), so
    a bisection on the step between 0 and 4 max|w| finds it; ``mse`` must lie below mean(w^2).
    """
    top = float(w.double().pow(2).mean())
    if not 0 < mse < top:
        raise ValueError(f"mse must lie in (0, mean(w^2) = {top:.3g}), got {mse!r}")
    lo, hi = 0.0, 4.0 * float(w.abs().max())
    for _ in range(num_iter):
        step = 0.5 * (lo + hi)
        error = float((quantize_step(w, step) - w).double().pow(2).mean())
        lo, hi = (step, hi) if error < mse else (lo, step)
    return quantize_step(w, 0.5 * (lo + hi))


def weight_names(model) -> list:
    """Names of the weight matrices and kernels of ``model`` (parameters with 2 or more dims)."""
    return [name for name, p in model.named_parameters() if p.dim() >= 2]


def quantized_copy(model, *, bits=None, step=None, mse=None, names=None):
    """A copy of ``model`` with the chosen weights quantized; biases stay in full precision.

    Parameters
    ----------
    bits : int, optional
        Uniform quantization with this many bits per weight (per-tensor range).
    step : float, optional
        Or: round to multiples of this step (the same absolute step for every tensor).
    mse : float, optional
        Or: round each tensor with the step that gives it this weight MSE
        (:func:`quantize_to_mse`).
    names : list of str, optional
        Which weights to quantize (default: :func:`weight_names`).

    Returns
    -------
    model : nn.Module
        The quantized copy.
    mse : dict
        Per quantized tensor, the mean squared weight error.
    """
    if sum(v is not None for v in (bits, step, mse)) != 1:
        raise ValueError("pass exactly one of bits=, step= or mse=")
    copy_ = copy.deepcopy(model)
    names = weight_names(model) if names is None else names
    params = dict(copy_.named_parameters())
    errors = {}
    with torch.no_grad():
        for name in names:
            w = params[name]
            if bits is not None:
                q = quantize_uniform(w, bits)
            elif step is not None:
                q = quantize_step(w, step)
            else:
                q = quantize_to_mse(w, mse)
            errors[name] = float((q - w).double().pow(2).mean())
            w.copy_(q)
    return copy_, errors


def gaussian_bits(variance: float, mse: float) -> float:
    """R(D) of one Gaussian weight of the given variance at distortion ``mse``, in bits."""
    return gaussian_rd([variance], mse) / math.log(2.0)
