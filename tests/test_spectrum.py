"""Tests for vaelib.spectrum: the radially averaged power spectrum against images whose spectrum
is known, Parseval's theorem, the half-power frequency, and clear errors on bad input."""

import math

import numpy as np
import pytest
import torch

from vaelib.spectrum import (
    half_power_frequency,
    power_kept,
    radial_power_spectrum,
    ring_index,
)


def sinusoid(size, kx, ky, amplitude=1.0, phase=0.3):
    """cos(2 pi (kx u + ky v) / size + phase) on a size x size grid: (1, 1, size, size)."""
    u, v = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    image = amplitude * np.cos(2 * np.pi * (kx * u + ky * v) / size + phase)
    return torch.tensor(image, dtype=torch.float32)[None, None]


def ring_count(size, k):
    """How many integer frequency pairs (in fftfreq's range) round to radius k: counted directly."""
    freqs = [f if f < size / 2 else f - size for f in range(size)]  # 0, 1, ..., -1
    return sum(1 for a in freqs for b in freqs if round(math.hypot(a, b)) == k)


@pytest.mark.parametrize("kx, ky", [(5, 0), (0, 3), (3, 4)])
def test_a_sinusoid_puts_all_its_power_in_one_ring(kx, ky):
    size, amplitude = 28, 0.8
    freqs, power = radial_power_spectrum(sinusoid(size, kx, ky, amplitude))
    ring = round(math.hypot(kx, ky))
    # the DFT of A cos(...) has two peaks of magnitude A H^2 / 2: power (A H^2 / 2)^2 / H^2 each
    expected = 2 * (amplitude * size**2 / 2) ** 2 / size**2 / ring_count(size, ring)
    assert freqs.tolist() == list(range(size // 2 + 1))
    assert power[ring].item() == pytest.approx(expected, rel=1e-5)
    others = torch.cat([power[:ring], power[ring + 1 :]])
    assert others.abs().max().item() < 1e-9 * expected


def test_parseval_for_a_band_limited_image():
    """Ring means times ring sizes add up to the sum of squared pixels (all power below H/2)."""
    size = 16
    image = sinusoid(size, 1, 2) + 0.5 * sinusoid(size, 4, 0, phase=1.0) + 0.2  # a constant too
    freqs, power = radial_power_spectrum(image)
    counts = torch.bincount(ring_index(size).flatten())[: len(freqs)].double()
    assert (power * counts).sum().item() == pytest.approx(image.double().pow(2).sum().item())
    assert power[0].item() == pytest.approx(0.2**2 * size**2, rel=1e-5)  # the mean brightness


def test_the_spectrum_averages_over_images():
    a, b = sinusoid(12, 2, 0), sinusoid(12, 0, 4)
    _, power_a = radial_power_spectrum(a)
    _, power_b = radial_power_spectrum(b)
    _, power_ab = radial_power_spectrum(torch.cat([a, b]))
    torch.testing.assert_close(power_ab, (power_a + power_b) / 2)


def test_blurring_lowers_the_high_frequencies():
    torch.manual_seed(0)
    noise = torch.rand(20, 1, 28, 28)
    blurred = torch.nn.functional.avg_pool2d(noise, 3, stride=1, padding=1, count_include_pad=False)
    freqs, p_noise = radial_power_spectrum(noise)
    _, p_blur = radial_power_spectrum(blurred)
    assert (p_blur[8:] < 0.5 * p_noise[8:]).all()
    assert half_power_frequency(freqs, p_noise, p_blur) < 8


def test_half_power_frequency_known_answers():
    freqs = torch.arange(5, dtype=torch.float64)
    data = torch.ones(5, dtype=torch.float64)
    model = torch.tensor([1.0, 0.9, 0.7, 0.3, 0.1], dtype=torch.float64)
    # the ratio falls from 0.7 at 2 to 0.3 at 3: it crosses 0.5 half-way, at 2.5
    assert half_power_frequency(freqs, data, model) == pytest.approx(2.5)
    assert half_power_frequency(freqs, data, torch.full((5,), 0.4)) == 1.0  # below from ring 1
    assert half_power_frequency(freqs, data, torch.ones(5)) == math.inf
    assert power_kept(freqs, data, model, above=2) == pytest.approx(0.2)


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="square"):
        radial_power_spectrum(torch.zeros(2, 1, 28, 20))
    with pytest.raises(ValueError, match="empty batch"):
        radial_power_spectrum(torch.zeros(0, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, 1, H, H\)"):
        radial_power_spectrum(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="NaN|finite"):
        radial_power_spectrum(torch.full((1, 1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="equal length"):
        half_power_frequency(torch.arange(3.0), torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="positive"):
        half_power_frequency(torch.arange(3.0), torch.zeros(3), torch.ones(3))
