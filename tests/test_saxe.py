"""vaelib.saxe: batched seeds are independent runs; recordings; and the 12-bit data set."""

import hashlib
import math

import numpy as np
import pytest
import torch

from vaelib import data_tishby, saxe


@pytest.fixture(scope="module")
def task():
    return data_tishby.load_tishby12()


def test_the_12_bit_task(task):
    assert task.x.shape == (4096, 12) and task.y.shape == (4096,)
    # every 12-bit pattern exactly once
    codes = (task.x.long() * (2 ** torch.arange(11, -1, -1))).sum(1)
    assert torch.equal(codes.sort().values, torch.arange(4096))
    assert set(task.y.tolist()) == {0, 1}
    assert "Saxe" in task.source


def test_checksum_is_verified(tmp_path):
    bad = tmp_path / "var_u.mat"
    bad.write_bytes(b"not the data")
    with pytest.raises(ValueError, match="SHA-256"):
        data_tishby.read_verified(bad)
    with pytest.raises(FileNotFoundError, match="git checkout"):
        data_tishby.read_verified(tmp_path / "missing.mat")
    raw = (data_tishby.DATA_DIR / "var_u.mat").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == data_tishby.SHA256


def test_log_epochs():
    grid = saxe.log_epochs(1000, 20)
    assert grid[0] == 0 and grid[-1] == 1000
    assert np.all(np.diff(grid) > 0)
    gaps = np.diff(grid)
    assert gaps[-1] > gaps[0]  # log-spaced: sparse late, dense early


def test_batched_seeds_equal_separate_runs(task):
    x, y = task.x[:256], task.y[:256]
    together = saxe.train_saxe(x, y, num_epochs=5, num_seeds=2, num_records=3, device="cpu")
    params = saxe.init_params(2, 0, 0.1, "cpu")
    # seed 1 of the batch is the same network as the second slice of the same initialisation
    one = saxe.forward([(w[1:], b[1:]) for w, b in params], x, "tanh")
    both = saxe.forward(params, x, "tanh")
    assert torch.allclose(one[-1][0], both[-1][1])  # logits (S, 2, N)
    # and the loss of each seed depends only on its own weights: perturbing seed 0 leaves seed 1
    w0 = params[0][0].detach().clone()
    w0[0] += 1.0
    moved = saxe.forward([(w0, params[0][1])] + params[1:], x, "tanh")
    assert torch.allclose(moved[-1][1], both[-1][1]) and not torch.allclose(
        moved[-1][0], both[-1][0]
    )
    assert together.loss.shape == (5, 2)


def test_recordings_and_training(task):
    x, y = task.x[:512], task.y[:512]
    run = saxe.train_saxe(
        x,
        y,
        activation="relu",
        num_epochs=60,
        num_seeds=2,
        lr=0.01,
        num_records=5,
        device="cpu",
    )
    k = len(run.epochs)
    widths = saxe.LAYER_SIZES[1:]
    assert [tuple(layer.shape) for layer in run.layers] == [(k, 2, 512, w) for w in widths]
    assert torch.allclose(run.layers[-1].sum(-1), torch.ones(k, 2, 512))  # softmax output
    assert (run.loss[-1] < run.loss[0]).all()  # both seeds learn
    assert (run.train_acc > 0.5).all()
    planes = saxe.kde_planes(run, y, 0.1, saxe.subsample(512, 128))
    assert planes["ixt_kl"].shape == (6, k, 2)
    assert (planes["ixt_kl"] <= math.log(128) + 1e-9).all()
    drops = saxe.compression(planes["ixt_kl"])
    assert drops.shape == (6, 2) and (drops >= 0).all()
    binned = saxe.binned_planes(run, y, 30)
    assert binned["ixt"].shape == (6, k)


def test_compression_measures_the_fall_from_the_peak():
    ixt = torch.tensor([[[0.0], [2.0], [1.5]], [[0.0], [1.0], [3.0]]])  # (L=2, K=3, S=1)
    assert saxe.compression(ixt).flatten().tolist() == [0.5, 0.0]


def test_bad_input():
    with pytest.raises(ValueError, match="activation"):
        saxe.train_saxe(torch.zeros(4, 12), torch.zeros(4), activation="sigmoid")
    with pytest.raises(ValueError, match="\\(N, 12\\)"):
        saxe.train_saxe(torch.zeros(4, 10), torch.zeros(4))
