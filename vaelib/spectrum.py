"""The radially averaged power spectrum of images: how much of their power sits at each spatial
frequency, and where a model's images lose it.

A blurred image is a low-pass filtered one: its fine detail, the high spatial frequencies, is
gone. :func:`radial_power_spectrum` measures that directly. For an H x H image the 2-D discrete
Fourier transform F(k_x, k_y) spreads its energy over frequencies (k_x, k_y), in cycles per
image; the power |F|^2 / H^2 is averaged over every (k_x, k_y) whose radius
sqrt(k_x^2 + k_y^2), rounded to an integer k, is the same ring, and over the images. By
Parseval's theorem the power of all frequencies adds up to the sum of the squared pixels.
:func:`half_power_frequency` turns the spectra of data and reconstructions into one number: the
frequency from which on the reconstructions keep less than half of the data's power.

Used in section 4.1 (why VAE images blur).
"""

from __future__ import annotations

import math

import torch

from vaelib.checks import check_finite


def _check_square_images(images) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError("images must be a torch.Tensor of shape (N, 1, H, H)")
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(f"images has shape {tuple(images.shape)}; pass a batch (N, 1, H, H)")
    if images.shape[2] != images.shape[3]:
        raise ValueError(
            f"images are {images.shape[2]} x {images.shape[3]}; the radial spectrum needs square "
            "images (crop or pad them to H x H)"
        )
    if len(images) == 0:
        raise ValueError("images is an empty batch; pass at least one image")
    check_finite("images", images)
    return images


def ring_index(size: int) -> torch.Tensor:
    """The ring k = round(sqrt(k_x^2 + k_y^2)) of every frequency of an FFT of a size x size image.

    Returns
    -------
    Tensor of int64, shape (size, size), laid out like ``torch.fft.fft2``'s output
    """
    k = torch.fft.fftfreq(size, d=1.0 / size, dtype=torch.float64)  # cycles per image
    radius = torch.sqrt(k[:, None] ** 2 + k[None, :] ** 2)  # (size, size)
    return torch.round(radius).long()


def radial_power_spectrum(images) -> tuple[torch.Tensor, torch.Tensor]:
    """The power of ``images`` at each spatial frequency, averaged over rings and over images.

    Parameters
    ----------
    images : Tensor, shape (N, 1, H, H)
        Square images; N >= 1.

    Returns
    -------
    freqs : Tensor of float64, shape (H // 2 + 1,)
        Ring radii 0, 1, ..., H // 2, in cycles per image (0 is the mean brightness, H // 2 the
        finest pattern a pixel grid can hold). The corners beyond H // 2 are left out: their
        rings are incomplete.
    power : Tensor of float64, shape (H // 2 + 1,)
        Mean of |F(k_x, k_y)|^2 / H^2 over the frequencies of each ring and over the images.
    """
    images = _check_square_images(images)
    size = images.shape[-1]
    fourier = torch.fft.fft2(images[:, 0].to(torch.float64))  # (N, H, H), complex
    power2d = fourier.abs().pow(2).mean(dim=0) / size**2  # (H, H), mean over images
    rings = ring_index(size).flatten()
    num_rings = size // 2 + 1
    keep = rings < num_rings
    sums = torch.zeros(num_rings, dtype=torch.float64).index_add_(
        0, rings[keep], power2d.flatten()[keep]
    )
    counts = torch.bincount(rings[keep], minlength=num_rings).to(torch.float64)
    return torch.arange(num_rings, dtype=torch.float64), sums / counts


def half_power_frequency(freqs, power_data, power_model, fraction=0.5) -> float:
    """The frequency at which ``power_model / power_data`` first falls below ``fraction``.

    Ring 0 (the mean brightness) is skipped. Between two rings the crossing is interpolated
    linearly, so the answer is not tied to whole cycles per image.

    Parameters
    ----------
    freqs, power_data, power_model : Tensor, shape (K,)
        From :func:`radial_power_spectrum` of held-out images and of a model's images.
    fraction : float
        0.5: "keeps less than half of the data's power".

    Returns
    -------
    float
        In cycles per image; ``inf`` when the model keeps at least ``fraction`` of the data's
        power at every frequency.
    """
    if not (len(freqs) == len(power_data) == len(power_model)) or len(freqs) < 2:
        raise ValueError(
            f"freqs, power_data and power_model must have one equal length >= 2, got "
            f"{len(freqs)}, {len(power_data)}, {len(power_model)}"
        )
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
    if (power_data[1:] <= 0).any():
        raise ValueError("power_data must be positive at every frequency above 0")
    ratio = (power_model / power_data).to(torch.float64)
    below = torch.nonzero(ratio[1:] < fraction).flatten()
    if len(below) == 0:
        return math.inf
    k = int(below[0]) + 1
    if k == 1:
        return float(freqs[1])
    r0, r1 = float(ratio[k - 1]), float(ratio[k])
    f0, f1 = float(freqs[k - 1]), float(freqs[k])
    return f0 + (r0 - fraction) / (r0 - r1) * (f1 - f0)


def power_kept(freqs, power_data, power_model, above) -> float:
    """The fraction of the data's power above frequency ``above`` that ``power_model`` keeps:
    sum of the model's ring powers over the data's, for rings k > ``above``.

    Parameters
    ----------
    freqs, power_data, power_model : Tensor, shape (K,)
    above : float
        In cycles per image.
    """
    mask = freqs > above
    if not mask.any():
        raise ValueError(f"no ring lies above {above}; the highest is {float(freqs[-1])}")
    return float(power_model[mask].sum() / power_data[mask].sum())
