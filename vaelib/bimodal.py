"""A pixel that is black or white: what squared error, absolute error and a two-mode likelihood
each learn when the input cannot tell which.

The toy with a known answer behind VAE blur. A pixel is white (1) with probability p and black
(0) otherwise, and the decoder sees nothing that decides which. The single prediction that
minimises

* the squared error (MSE, a fixed-variance Gaussian) is the mean, p: a grey no image has;
* the absolute error (L1, a Laplace likelihood) is the median: 1 if p > 1/2, 0 if p < 1/2;
* the negative log-likelihood of a two-component Gaussian mixture with a small fixed sigma puts
  one component on each value, with weights 1 - p and p: it keeps both modes.

:func:`pixel_optima` gives these closed forms; :func:`fit_point` and :func:`fit_mixture` find
them by gradient descent, as a decoder would.

Used in section 4.1 (why VAE images blur).
"""

from __future__ import annotations

import math

import torch

from vaelib.blur import fit_constant_image

LOSSES = ("mse", "l1")


def check_probability(p) -> float:
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    return float(p)


def pixel_values(num, p, seed=0) -> torch.Tensor:
    """``num`` draws of a pixel that is 1 with probability ``p`` and 0 otherwise.

    Returns
    -------
    Tensor of float32, shape (num,), values 0 or 1
    """
    p = check_probability(p)
    if not isinstance(num, int) or num < 1:
        raise ValueError(f"num must be a positive integer, got {num!r}")
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(num, generator=generator) < p).float()


def pixel_optima(p) -> dict:
    """The closed-form optima of the toy for a white-probability ``p``.

    Returns
    -------
    dict
        ``mse``: p (the mean); ``l1``: 1.0 if p > 1/2, 0.0 if p < 1/2, 0.5 at p = 1/2 (where every
        value in [0, 1] is a median); ``modes``: (0.0, 1.0) and ``weights``: (1 - p, p), the
        mixture's components.
    """
    p = check_probability(p)
    median = 1.0 if p > 0.5 else 0.0 if p < 0.5 else 0.5
    return {"mse": p, "l1": median, "modes": (0.0, 1.0), "weights": (1.0 - p, p)}


def fit_point(x, loss="mse", num_steps=400, lr=0.05) -> float:
    """The one value closest to all of ``x`` under ``loss``, found by gradient descent.

    :func:`vaelib.blur.fit_constant_image` on one-pixel images.

    Parameters
    ----------
    x : Tensor, shape (N,)
    loss : {"mse", "l1"}
    """
    if x.dim() != 1 or len(x) == 0:
        raise ValueError(f"x must be a non-empty vector (N,), got shape {tuple(x.shape)}")
    images = x.reshape(-1, 1, 1, 1)  # (N,) -> (N, 1, 1, 1): N one-pixel images
    return float(fit_constant_image(images, loss, num_steps=num_steps, lr=lr))


def mixture_nll(x, mus, logit_weights, sigma) -> torch.Tensor:
    """Negative log-likelihood of a two-component Gaussian mixture, averaged over x.

    ``-log sum_j w_j N(x | mu_j, sigma^2)`` with ``w = softmax(logit_weights)``, computed with
    logsumexp (never the log of a sum of exponentials).

    Parameters
    ----------
    x : Tensor, shape (N, P)
        N values of each of P independent pixels.
    mus, logit_weights : Tensor, shape (2, P)
    sigma : float
        The components' fixed standard deviation.

    Returns
    -------
    Tensor, shape (P,)
    """
    log_w = torch.log_softmax(logit_weights, dim=0)  # (2, P)
    z = (x[:, None, :] - mus[None]) / sigma  # (N, 2, P)
    log_normal = -0.5 * z.pow(2) - math.log(sigma) - 0.5 * math.log(2 * math.pi)
    return -torch.logsumexp(log_w[None] + log_normal, dim=1).mean(dim=0)


def fit_mixture(x, sigma=0.1, num_steps=600, lr=0.05) -> dict:
    """Fit a two-component Gaussian mixture (fixed ``sigma``) to each column of ``x`` by Adam.

    The components start at 0.4 and 0.6 with equal weights, so the fit must find the modes
    itself; for black-and-white data they end on 0 and 1, weighted by the two frequencies.

    Parameters
    ----------
    x : Tensor, shape (N,) or (N, P)
        N values of one pixel, or of P pixels fitted independently and at once.

    Returns
    -------
    dict of Tensor
        ``mus`` and ``weights``, shape (2,) or (2, P), components sorted by their mean.
    """
    if x.dim() not in (1, 2) or len(x) == 0:
        raise ValueError(f"x must have shape (N,) or (N, P) with N >= 1, got {tuple(x.shape)}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    single = x.dim() == 1
    data = x.to(torch.float64).reshape(len(x), -1)  # (N,) -> (N, 1)
    num_pixels = data.shape[1]
    mus = torch.tensor([[0.4], [0.6]], dtype=torch.float64).repeat(1, num_pixels)
    mus.requires_grad_(True)
    logits = torch.zeros(2, num_pixels, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([mus, logits], lr=lr)
    for _ in range(num_steps):
        optimizer.zero_grad()
        mixture_nll(data, mus, logits, sigma).sum().backward()  # the pixels are independent
        optimizer.step()
    mus, weights = mus.detach(), torch.softmax(logits.detach(), dim=0)
    order = mus.argsort(dim=0)
    mus, weights = mus.gather(0, order), weights.gather(0, order)
    if single:
        mus, weights = mus[:, 0], weights[:, 0]
    return {"mus": mus, "weights": weights}


def near_mode(values, modes=(0.0, 1.0), tol=0.1) -> torch.Tensor:
    """Whether each value lies within ``tol`` of one of ``modes``: bool Tensor, shape of values."""
    values = torch.as_tensor(values)
    distance = torch.stack([(values - m).abs() for m in modes]).min(dim=0).values
    return distance <= tol
