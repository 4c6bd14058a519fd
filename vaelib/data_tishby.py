"""The 12-bit task of Shwartz-Ziv & Tishby (2017), as used by Saxe et al. (2018).

4,096 inputs, every 12-bit pattern once, each with a binary label. Shipped with vaelib
(``vaelib/_data/tishby12``, MIT licence, see its README); the checksum is verified on every load.

Used in chapter 6, compression in the information plane.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import torch

DATA_DIR = Path(__file__).parent / "_data" / "tishby12"
SHA256 = "0ba9551878a855396a8de0cbaae620788ede1e7b1eb2b8373bbe017d5ea02036"
SOURCE = (
    "the 12-bit task of Shwartz-Ziv & Tishby (2017), file var_u.mat from the code of Saxe et "
    "al. (2018) (MIT licence), shipped with vaelib and checked against its SHA-256"
)


@dataclass
class Tishby12:
    """Inputs ``x`` float32 in {0, 1}, shape (4096, 12); labels ``y`` int64 in {0, 1}, (4096,)."""

    x: torch.Tensor
    y: torch.Tensor
    source: str


def read_verified(path: Path = DATA_DIR / "var_u.mat", sha256: str = SHA256) -> bytes:
    """The bytes of ``path`` after checking their SHA-256; a ``ValueError`` saying what to do."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; restore it with `git checkout -- vaelib/_data/tishby12` "
            "(or reinstall vaelib)"
        )
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise ValueError(
            f"{path.name} has SHA-256 {digest}, expected {sha256}: the file is damaged or "
            "replaced; restore it with `git checkout -- vaelib/_data/tishby12`"
        )
    return raw


def load_tishby12() -> Tishby12:
    """Load the 12-bit task (all 4,096 patterns and their labels).

    Returns
    -------
    Tishby12
        ``x`` (4096, 12) float32, ``y`` (4096,) int64, and ``source``, one sentence on where
        the data came from.
    """
    mat = scipy.io.loadmat(io.BytesIO(read_verified()))
    x = torch.from_numpy(mat["F"].astype(np.float32))  # (4096, 12)
    y = torch.from_numpy(mat["y"].reshape(-1).astype(np.int64))  # (1, 4096) -> (4096,)
    return Tishby12(x, y, SOURCE)
