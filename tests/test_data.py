"""vaelib.data: MNIST through the offline fallback, with its checksum checks."""

import pytest
import torch

from vaelib import data


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Force the fallback: an empty torchvision folder and no download."""
    return lambda **kw: data.load_mnist(root=tmp_path, download=False, **kw)


def test_fallback_shapes_ranges_and_split(offline, capsys):
    mnist = offline(verbose=True)
    assert "offline fallback" in capsys.readouterr().out
    assert mnist.offline
    assert mnist.x_train.shape == (8000, 1, 28, 28) and mnist.y_train.shape == (8000,)
    assert mnist.x_test.shape == (2000, 1, 28, 28) and mnist.y_test.shape == (2000,)
    assert mnist.x_train.dtype == torch.float32 and mnist.y_train.dtype == torch.int64
    assert mnist.x_train.min() >= 0.0 and mnist.x_train.max() == 1.0
    # The published label counts of the MNIST test set.
    counts = torch.bincount(torch.cat([mnist.y_train, mnist.y_test]), minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_fallback_split_is_deterministic_and_disjoint(offline):
    a, b = offline(verbose=False), offline(verbose=False)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    train = {bytes(img.numpy()) for img in (a.x_train[:500] * 255).to(torch.uint8)}
    test = {bytes(img.numpy()) for img in (a.x_test * 255).to(torch.uint8)}
    assert not train & test


def test_subsets(offline):
    mnist = offline(n_train=100, n_test=10, verbose=False)
    assert len(mnist.x_train) == 100 and len(mnist.y_test) == 10


def test_bad_sizes(offline):
    with pytest.raises(ValueError, match="n_train must be a positive integer"):
        offline(n_train=0)


def test_missing_file_names_file_and_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "FALLBACK_DIR", tmp_path)
    with pytest.raises(
        FileNotFoundError, match="t10k-images-idx3-ubyte.gz is missing.*git checkout"
    ):
        data.read_fallback()


def test_corrupt_file_is_detected(monkeypatch, tmp_path):
    for name in data.FALLBACK_FILES:
        (tmp_path / name).write_bytes((data.FALLBACK_DIR / name).read_bytes())
    raw = bytearray((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes())
    raw[-5] ^= 0xFF
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(raw))
    monkeypatch.setattr(data, "FALLBACK_DIR", tmp_path)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz is corrupt"):
        data.read_fallback()
