"""Input checks that turn a learner's mistake into a message that says what to do.

Every public vaelib function validates its tensors with these, so a wrong shape, a NaN or a
non-positive variance fails at the call site rather than deep inside torch.
"""

from __future__ import annotations

import torch


def as_tensor(name: str, value, *, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    """``value`` as a tensor (floats and arrays are converted); raise if that is impossible.

    A tensor keeps its device unless ``device`` is given; anything else is created on ``device``
    (so a number passed next to a CUDA tensor lands on that tensor's device).
    """
    if isinstance(value, torch.Tensor):
        if dtype is None and device is None:
            return value
        return value.to(device=value.device if device is None else device, dtype=dtype)
    try:
        return torch.as_tensor(
            value,
            dtype=dtype if dtype is not None else torch.get_default_dtype(),
            device=device,
        )
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor or a number, got {type(value).__name__}") from err


def float_dtype(reference: torch.Tensor, *others) -> torch.dtype:
    """The floating dtype to compute in: ``reference``'s own when it is floating; else the
    promoted dtype of the floating tensors among ``others``; else torch's default float dtype.

    So integer (and boolean) inputs are computed on as floats instead of silently truncating
    the other arguments to integers.
    """
    if reference.is_floating_point():
        return reference.dtype
    dtype = None
    for t in others:
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            dtype = t.dtype if dtype is None else torch.promote_types(dtype, t.dtype)
    return dtype or torch.get_default_dtype()


def as_floats(*named) -> tuple[torch.Tensor, ...]:
    """``(name, value)`` pairs as tensors of one floating dtype on the first one's device.

    The dtype is :func:`float_dtype` of the first tensor and the others: a floating first
    argument decides it, integer inputs are promoted. Non-tensors are created on that device.
    """
    first = as_tensor(named[0][0], named[0][1])
    rest = [as_tensor(name, value, device=first.device) for name, value in named[1:]]
    dtype = float_dtype(first, *rest)
    return tuple(t.to(device=first.device, dtype=dtype) for t in (first, *rest))


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


def check_count(name: str, value) -> int:
    """Raise ``ValueError`` unless ``value`` is an integer >= 1 (``True`` is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_ndim(name: str, t: torch.Tensor, ndim: int, layout: str) -> None:
    """Raise ``ValueError`` unless ``t`` has ``ndim`` dimensions, naming the expected layout."""
    if t.dim() != ndim:
        raise ValueError(f"{name} must have shape {layout}, got shape {tuple(t.shape)}")


def check_reduction(reduction: str, allowed=("none", "sum", "mean", "batchmean")) -> None:
    """Raise ``ValueError`` for an unknown reduction name."""
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
