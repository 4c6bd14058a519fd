"""vaelib.config: the quick switch, the seed and the device."""

import importlib
import random

import numpy as np
import pytest
import torch

from vaelib import config


def test_set_seed_makes_every_generator_repeat():
    config.set_seed(123)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    config.set_seed(123)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_set_seed_rejects_non_integers(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        config.set_seed(bad)


@pytest.mark.parametrize(
    ("value", "quick"), [("1", True), ("0", False), ("", False), ("yes", True)]
)
def test_quick_flag_reads_the_environment(monkeypatch, value, quick):
    monkeypatch.setenv("VAELIB_QUICK", value)
    reloaded = importlib.reload(config)
    try:
        assert reloaded.QUICK is quick
        assert reloaded.size(full=100, quick=2) == (2 if quick else 100)
    finally:
        monkeypatch.undo()
        importlib.reload(config)


def test_device_is_usable():
    assert torch.zeros(1, device=config.device()).item() == 0.0
