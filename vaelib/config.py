"""Run-time switches shared by every chapter.

``QUICK`` and ``STATIC`` are read once from the environment:

* ``VAELIB_QUICK=1`` shrinks sizes (epochs, samples, grid points) so that CI runs fast.
  It never selects a different code path: use :func:`size` to pick a number.
* ``VAELIB_STATIC=1`` is set by the book build. Interactive figures are then rendered
  as self-contained HTML sliders instead of live ipywidgets (see :mod:`vaelib.widgets`).
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


QUICK: bool = _flag("VAELIB_QUICK")
STATIC: bool = _flag("VAELIB_STATIC")


def size(full, quick):
    """Return ``quick`` when ``VAELIB_QUICK=1`` is set, otherwise ``full``.

    The one place where a chapter's sizes shrink for CI; the code path stays the same.

    Examples
    --------
    >>> num_epochs = size(full=20, quick=2)
    """
    return quick if QUICK else full


def device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (all devices) with one integer."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
