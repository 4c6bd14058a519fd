"""MNIST, online through torchvision or offline from the test set shipped with vaelib.

Used in chapters 1, 4 and 7.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaelib import network

FALLBACK_DIR = Path(__file__).parent / "_data" / "mnist"
FALLBACK_FILES = {
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FALLBACK_TRAIN_SIZE = 8000  # the remaining 2,000 test images are the held-out part
_FIX = (
    "restore it with `git checkout -- vaelib/_data/mnist` in the course repository "
    "(or reinstall vaelib), or copy it from shared/data/mnist"
)


@dataclass
class MNIST:
    """Images as float tensors in [0, 1], shape (N, 1, 28, 28); labels int64, shape (N,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str

    @property
    def offline(self) -> bool:
        """True when the shipped test-set fallback is in use rather than torchvision's 60k/10k."""
        return self.source.startswith("offline")

    @property
    def description(self) -> str:
        """Where the images came from, as a phrase for a chapter's prose (glue it).

        Examples
        --------
        >>> glue("ch4_data", mnist.description, display=False)
        """
        used = f"{len(self.x_train):,} training and {len(self.x_test):,} held-out images"
        if self.offline:
            return (
                f"the MNIST test set that ships with vaelib ({used}, split deterministically "
                "from its 10,000 images), because torchvision's full MNIST was not available "
                "on the machine that ran this page"
            )
        return f"torchvision's MNIST ({used} of its 60,000 training and 10,000 test images)"


def default_root() -> Path:
    """Where torchvision keeps its MNIST download: ``$VAELIB_DATA`` or ``~/.cache/vaelib``."""
    return Path(os.environ.get("VAELIB_DATA", Path.home() / ".cache" / "vaelib"))


def load_mnist(
    n_train: int | None = None,
    n_test: int | None = None,
    root: str | Path | None = None,
    download: bool = True,
    verbose: bool = False,
) -> MNIST:
    """Load MNIST, preferring torchvision's full 60k/10k split.

    Where torchvision's files are neither on disk nor downloadable (no network), fall back to
    the MNIST test set shipped with vaelib, split deterministically into 8,000 training and
    2,000 held-out images. One line says which source was used.

    Parameters
    ----------
    n_train, n_test : int, optional
        Keep only the first ``n_train`` training and ``n_test`` held-out images.
    root : path, optional
        torchvision's data folder; defaults to :func:`default_root`.
    download : bool
        Whether a missing torchvision copy may be downloaded (see :mod:`vaelib.network`: a few
        seconds' limit, tried once per process, never with ``VAELIB_OFFLINE=1``).
    verbose : bool
        Print one line naming the source (chapters glue ``source`` into a sentence instead).

    Returns
    -------
    MNIST
        ``x_*`` float32 in [0, 1], shape (N, 1, 28, 28); ``y_*`` int64, shape (N,).
    """
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if n is not None and (not isinstance(n, int) or n < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {n!r}")
    data = _from_torchvision(Path(root) if root else default_root(), download)
    if data is None:
        data = _from_fallback()
    data = MNIST(
        data.x_train[:n_train],
        data.y_train[:n_train],
        data.x_test[:n_test],
        data.y_test[:n_test],
        data.source,
    )
    if verbose:
        print(
            f"MNIST: {data.source}; using {len(data.x_train):,} train / {len(data.x_test):,} "
            "held-out images"
        )
    return data


def _to_float(images: torch.Tensor) -> torch.Tensor:
    # (N, 28, 28) uint8 -> (N, 1, 28, 28) float32 in [0, 1]
    return images.unsqueeze(1).float().div_(255.0)


def _from_torchvision(root: Path, download: bool) -> MNIST | None:
    """torchvision's MNIST from ``root``, downloaded first (within the network's time limits)
    when it is missing and ``download`` is true; None when neither works."""
    try:
        from torchvision.datasets import MNIST as TorchvisionMNIST
    except ImportError:
        return None
    try:
        train = TorchvisionMNIST(str(root), train=True, download=False)
        test = TorchvisionMNIST(str(root), train=False, download=False)
    except RuntimeError:  # not on disk
        if not download or not _download_raw(root, TorchvisionMNIST):
            return None
        train = TorchvisionMNIST(str(root), train=True, download=False)
        test = TorchvisionMNIST(str(root), train=False, download=False)
    return MNIST(
        _to_float(train.data),
        train.targets.long(),
        _to_float(test.data),
        test.targets.long(),
        source="torchvision (60,000 train / 10,000 test)",
    )


def _download_raw(root: Path, dataset) -> bool:
    """Fetch torchvision's four MNIST files into ``root/MNIST/raw`` through
    :func:`vaelib.network.fetch` (time-limited, tried once per process, skipped offline)."""
    raw = root / "MNIST" / "raw"
    try:
        for filename, md5 in dataset.resources:
            target = raw / filename
            if not target.is_file():
                network.fetch([m + filename for m in dataset.mirrors], target, md5=md5)
            unpacked = raw / filename[: -len(".gz")]
            if not unpacked.is_file():
                unpacked.write_bytes(gzip.decompress(target.read_bytes()))
    except network.DownloadError:
        return False
    return True


def _read_verified(name: str) -> bytes:
    path = FALLBACK_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"the offline MNIST file {path} is missing: {_FIX}")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != FALLBACK_FILES[name]:
        raise ValueError(
            f"the offline MNIST file {path} is corrupt (sha256 {digest[:12]}..., expected "
            f"{FALLBACK_FILES[name][:12]}...): {_FIX}"
        )
    return gzip.decompress(raw)


def read_fallback() -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped MNIST test set, checksum-verified: uint8 (10000, 28, 28) and int64 (10000,)."""
    images = _read_verified("t10k-images-idx3-ubyte.gz")
    labels = _read_verified("t10k-labels-idx1-ubyte.gz")
    # IDX format: a big-endian header (16 bytes for images, 8 for labels), then raw uint8.
    x = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    y = np.frombuffer(labels, dtype=np.uint8, offset=8)
    return torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))


def _from_fallback() -> MNIST:
    x, y = read_fallback()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = order[:FALLBACK_TRAIN_SIZE], order[FALLBACK_TRAIN_SIZE:]
    return MNIST(
        _to_float(x[train]),
        y[train],
        _to_float(x[test]),
        y[test],
        source="offline fallback: the shipped MNIST test set split 8,000 train / 2,000 held-out "
        "(torchvision's MNIST was not available)",
    )
