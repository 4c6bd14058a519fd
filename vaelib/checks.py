"""Input checks that turn a learner's mistake into a message that says what to do.

Every public vaelib function validates its tensors with these, so a wrong shape, a NaN or a
non-positive variance fails at the call site rather than deep inside torch.
"""

from __future__ import annotations

import torch


def as_tensor(name: str, value, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``value`` as a tensor (floats and arrays are converted); raise if that is impossible."""
    if isinstance(value, torch.Tensor):
        return value if dtype is None else value.to(dtype)
    try:
        return torch.as_tensor(
            value, dtype=dtype if dtype is not None else torch.get_default_dtype()
        )
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor or a number, got {type(value).__name__}") from err


def check_finite(name: str, t: torch.Tensor) -> torch.Tensor:
    """Raise ``ValueError`` if ``t`` holds a NaN or an infinity."""
    if t.is_floating_point() and not torch.isfinite(t).all():
        bad = "NaN" if torch.isnan(t).any() else "an infinite value"
        raise ValueError(f"{name} contains {bad}; check the inputs or lower the learning rate")
    return t


def check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have exactly the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b} has shape {tuple(b.shape)} but {name_a} has shape {tuple(a.shape)}; "
            "they must match"
        )


def check_broadcast(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Raise ``ValueError`` unless ``b`` broadcasts to the shape of ``a`` without growing it."""
    try:
        shape = torch.broadcast_shapes(a.shape, b.shape)
    except RuntimeError:
        shape = None
    if shape != a.shape:
        raise ValueError(
            f"{name_b} has shape {tuple(b.shape)}, which does not broadcast to the shape "
            f"{tuple(a.shape)} of {name_a}"
        )


def check_positive(name: str, t: torch.Tensor) -> torch.Tensor:
    """Raise ``ValueError`` unless every entry of ``t`` is strictly positive (and finite)."""
    check_finite(name, t)
    if (t <= 0).any():
        raise ValueError(
            f"{name} must be strictly positive, but its smallest entry is {t.min().item():.3g}; "
            "pass a log-variance instead, or add a floor"
        )
    return t


def check_ndim(name: str, t: torch.Tensor, ndim: int, layout: str) -> None:
    """Raise ``ValueError`` unless ``t`` has ``ndim`` dimensions, naming the expected layout."""
    if t.dim() != ndim:
        raise ValueError(f"{name} must have shape {layout}, got shape {tuple(t.shape)}")


def check_reduction(reduction: str, allowed=("none", "sum", "mean", "batchmean")) -> None:
    """Raise ``ValueError`` for an unknown reduction name."""
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
