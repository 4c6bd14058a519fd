"""Why VAE reconstructions are blurry: the decoder outputs a mean.

A decoder trained with squared error (a fixed-variance Gaussian) or with a Bernoulli likelihood
learns, for each code z, the average E[x | z] of the images that share that code. When the code
cannot tell several images apart, their average is a blur; an L1 loss would learn their
pixelwise median instead (chapter 1). Two demonstrations:

* :func:`shifted_stripes`: a toy whose only variation is where a stripe sits. A single image fit
  to all of them by gradient descent becomes the mean (MSE) or the median (L1):
  :func:`fit_constant_image`.
* :func:`latent_neighbours`: the images whose codes lie closest to a given code, which a decoder
  cannot tell apart; compare their mean and median with the decoder's output, e.g. with
  :func:`sharpness`.

Used in chapter 4 and section 4.1 (:func:`uncertain_pixels`).
"""

from __future__ import annotations

import torch

from vaelib.checks import check_ndim

LOSSES = ("mse", "l1")


def shifted_stripes(
    num_images=1000, size=28, width=4, shifts=(-6, 0, 6), probs=(0.2, 0.6, 0.2), seed=0
):
    """Images of one vertical white stripe at a random horizontal shift.

    Parameters
    ----------
    shifts : sequence of int
        Offsets of the stripe from the centre column, in pixels.
    probs : sequence of float
        The probability of each shift (they must sum to 1).

    Returns
    -------
    images : Tensor, shape (num_images, 1, size, size), values 0 or 1
    which : Tensor of int64, shape (num_images,), the index of each image's shift
    """
    if len(shifts) != len(probs) or abs(sum(probs) - 1.0) > 1e-6 or min(probs) < 0:
        raise ValueError(f"probs must be one probability per shift summing to 1, got {probs!r}")
    generator = torch.Generator().manual_seed(seed)
    which = torch.multinomial(
        torch.tensor(probs, dtype=torch.float64), num_images, True, generator=generator
    )
    images = torch.zeros(num_images, 1, size, size)
    for k, shift in enumerate(shifts):
        left = size // 2 + shift - width // 2
        if left < 0 or left + width > size:
            raise ValueError(f"shift {shift} puts the stripe outside a {size}-pixel image")
        images[which == k, :, :, left : left + width] = 1.0
    return images, which


def fit_constant_image(targets, loss="mse", num_steps=400, lr=0.05) -> torch.Tensor:
    """The single image closest to all ``targets`` under ``loss``, found by gradient descent.

    The minimiser is the pixelwise mean for "mse" and the pixelwise median for "l1": this is
    what a decoder learns for a code that cannot tell the targets apart.

    Parameters
    ----------
    targets : Tensor, shape (N, 1, H, W)
    loss : {"mse", "l1"}

    Returns
    -------
    Tensor, shape (1, 1, H, W)
    """
    check_ndim("targets", targets, 4, "(N, 1, H, W)")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    image = torch.full_like(targets[:1], 0.5, requires_grad=True)
    optimizer = torch.optim.Adam([image], lr=lr)
    for _ in range(num_steps):
        diff = image - targets
        value = diff.pow(2).mean() if loss == "mse" else diff.abs().mean()
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    return image.detach()


def latent_neighbours(codes, query, k=50) -> torch.Tensor:
    """Indices of the ``k`` codes nearest to ``query`` (Euclidean), nearest first.

    Parameters
    ----------
    codes : Tensor, shape (N, D)
    query : Tensor, shape (D,)
    """
    check_ndim("codes", codes, 2, "(N, D)")
    if not 1 <= k <= len(codes):
        raise ValueError(f"k must be between 1 and the number of codes {len(codes)}, got {k!r}")
    distances = (codes - query).pow(2).sum(dim=1)
    return distances.topk(k, largest=False).indices


def neighbour_images(codes, images, query, k=50):
    """The ``k`` images whose codes are nearest to ``query``, with their pixelwise mean and median.

    Parameters
    ----------
    codes : Tensor, shape (N, D)
        E.g. the posterior means of ``images``.
    images : Tensor, shape (N, 1, H, W)
    query : Tensor, shape (D,)

    Returns
    -------
    neighbours : Tensor, shape (k, 1, H, W)
    mean, median : Tensor, shape (1, 1, H, W)
        What a decoder trained with squared error (or a Bernoulli likelihood) and with absolute
        error would output for a code that cannot tell the neighbours apart.
    """
    check_ndim("images", images, 4, "(N, 1, H, W)")
    if len(codes) != len(images):
        raise ValueError(f"got {len(codes)} codes for {len(images)} images; pass one per image")
    neighbours = images[latent_neighbours(codes, query, k)]
    return (
        neighbours,
        neighbours.mean(dim=0, keepdim=True),
        neighbours.median(dim=0, keepdim=True).values,
    )


def sharpness(images) -> float:
    """Edge energy: the mean squared difference between horizontally and vertically
    neighbouring pixels, averaged over the images. A simple blur score.

    Blurring spreads every edge over several pixels, and since (a/k)^2 * k < a^2 a spread-out
    step of the same height contributes less: a blurred image scores lower than a crisp one.

    Parameters
    ----------
    images : Tensor, shape (N, 1, H, W)
    """
    check_ndim("images", images, 4, "(N, 1, H, W)")
    dx = images[..., :, 1:] - images[..., :, :-1]  # (N, 1, H, W - 1)
    dy = images[..., 1:, :] - images[..., :-1, :]  # (N, 1, H - 1, W)
    return float((dx.pow(2).mean() + dy.pow(2).mean()) / 2)


def neighbour_summary(codes, images, query_codes, decoded, k=50) -> dict:
    """:func:`neighbour_images` for many queries at once, averaged over the queries.

    For each query code, the decoder's output there is compared with the pixelwise mean and
    median of the ``k`` images whose codes are nearest.

    Parameters
    ----------
    codes : Tensor, shape (N, D)
    images : Tensor, shape (N, 1, H, W)
    query_codes : Tensor, shape (Q, D)
    decoded : Tensor, shape (Q, 1, H, W)
        The decoder's output at each query code.

    Returns
    -------
    dict of float
        ``to_mean`` and ``to_median``: the RMS pixel difference between the decoder's output and
        the neighbours' mean (median), averaged over the queries; ``closer_to_mean``: the
        fraction of queries whose output is closer to the mean than to the median;
        ``sharp_decoded``, ``sharp_mean``, ``sharp_median``: :func:`sharpness` of the three.
    """
    check_ndim("decoded", decoded, 4, "(Q, 1, H, W)")
    if len(query_codes) != len(decoded):
        raise ValueError(f"got {len(query_codes)} query codes for {len(decoded)} decoded images")
    means, medians = [], []
    for query in query_codes:
        _, mean, median = neighbour_images(codes, images, query, k)
        means.append(mean)
        medians.append(median)
    mean, median = torch.cat(means), torch.cat(medians)  # (Q, 1, H, W) each
    to_mean = (decoded - mean).pow(2).flatten(1).mean(1).sqrt()  # (Q,)
    to_median = (decoded - median).pow(2).flatten(1).mean(1).sqrt()
    return {
        "to_mean": float(to_mean.mean()),
        "to_median": float(to_median.mean()),
        "closer_to_mean": float((to_mean < to_median).double().mean()),
        "sharp_decoded": sharpness(decoded),
        "sharp_mean": sharpness(mean),
        "sharp_median": sharpness(median),
    }


def uncertain_pixels(codes, images, query_codes, k=50, low=0.2) -> dict:
    """The pixels a code leaves undecided, and the true values they take among its neighbours.

    For each query code, the ``k`` images with the nearest codes (:func:`latent_neighbours`) are
    the images a decoder cannot tell apart there. A pixel is *undecided* when between ``low``
    and ``1 - low`` of those neighbours have ink on it (value above 1/2): on the edge of a
    stroke that some of the neighbours draw and some do not.

    Parameters
    ----------
    codes : Tensor, shape (N, D)
    images : Tensor, shape (N, 1, H, W)
    query_codes : Tensor, shape (Q, D)
    k : int
    low : float
        In (0, 1/2).

    Returns
    -------
    dict of Tensor
        ``values``: shape (M, k), the neighbours' values at each of the M undecided pixels (all
        queries together); ``query``: shape (M,), which query each row belongs to; ``pixel``:
        shape (M,), its index in the flattened H * W image.
    """
    check_ndim("images", images, 4, "(N, 1, H, W)")
    if not 0 < low < 0.5:
        raise ValueError(f"low must lie in (0, 1/2), got {low!r}")
    if len(codes) != len(images):
        raise ValueError(f"got {len(codes)} codes for {len(images)} images; pass one per image")
    values, query, pixel = [], [], []
    for q, code in enumerate(query_codes):
        neighbours = images[latent_neighbours(codes, code, k)].flatten(1)  # (k, H * W)
        ink = (neighbours > 0.5).double().mean(dim=0)  # (H * W,)
        where = torch.nonzero((ink >= low) & (ink <= 1 - low)).flatten()
        values.append(neighbours[:, where].T)  # (M_q, k)
        query.append(torch.full((len(where),), q))
        pixel.append(where)
    return {"values": torch.cat(values), "query": torch.cat(query), "pixel": torch.cat(pixel)}
