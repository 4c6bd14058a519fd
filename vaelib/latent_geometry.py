"""Measuring the shape of a latent space: how far apart the classes sit, and where its holes are.

* :func:`class_separation`: for every class, the distance from its centre to the nearest other
  class's centre, in units of the class's own spread. Above 1 the class stands apart from its
  nearest neighbour; below 1 the two overlap.
* :func:`nearest_distance`: the RMS pixel distance from each image to its nearest neighbour in a
  reference set (the training images).
* :func:`hole_ratio`: decode points *between* codes (on straight paths between the codes of
  random pairs of held-out images), measure how far the decoded images are from every training
  image, and divide by the same distance for the model's reconstructions. A latent space without
  holes decodes the points between codes to images as digit-like as its reconstructions (ratio
  near 1); a hole decodes to something no training image resembles (ratio above 1). Dividing by
  the reconstructions' distance removes the part of the distance that blur alone explains.

Used in chapter 4 (the three regimes, the dot and the bubble).
"""

from __future__ import annotations

import torch

from vaelib.checks import check_ndim
from vaelib.latent import decode_points


def class_separation(mu: torch.Tensor, y: torch.Tensor) -> dict:
    """How well each class's codes stand apart from the nearest other class.

    Parameters
    ----------
    mu : Tensor, shape (N, D)
        Codes, e.g. posterior means.
    y : Tensor, shape (N,)
        Class labels.

    Returns
    -------
    dict
        ``classes`` (K,) the labels; ``centres`` (K, D); ``spread`` (K,) the RMS distance of a
        class's codes to its centre; ``nearest`` (K,) the distance to the nearest other centre
        and ``nearest_class`` (K,) which one; ``ratio`` (K,) = nearest / spread.
    """
    check_ndim("mu", mu, 2, "(N, D)")
    if len(y) != len(mu):
        raise ValueError(f"got {len(y)} labels for {len(mu)} codes; pass one label per code")
    mu = mu.double()
    classes = torch.unique(y)
    if len(classes) < 2:
        raise ValueError("class_separation needs codes of at least two classes")
    centres = torch.stack([mu[y == k].mean(dim=0) for k in classes])  # (K, D)
    spread = torch.stack(
        [(mu[y == k] - c).pow(2).sum(dim=1).mean().sqrt() for k, c in zip(classes, centres)]
    )
    between = torch.cdist(centres, centres)
    between.fill_diagonal_(float("inf"))
    nearest, which = between.min(dim=1)
    return {
        "classes": classes,
        "centres": centres,
        "spread": spread,
        "nearest": nearest,
        "nearest_class": classes[which],
        "ratio": nearest / spread,
    }


def nearest_distance(images, reference, batch_size: int = 256) -> torch.Tensor:
    """RMS pixel distance from each image to its nearest image in ``reference``: shape (N,).

    Parameters
    ----------
    images : Tensor, shape (N, 1, H, W)
    reference : Tensor, shape (M, 1, H, W)
    """
    check_ndim("images", images, 4, "(N, 1, H, W)")
    check_ndim("reference", reference, 4, "(M, 1, H, W)")
    ref = reference.reshape(len(reference), -1).float()  # (M, 1, H, W) -> (M, H*W)
    out = []
    for batch in images.reshape(len(images), -1).float().split(batch_size):
        out.append(torch.cdist(batch, ref).min(dim=1).values)  # (b, M) -> (b,)
    return torch.cat(out) / ref.shape[1] ** 0.5  # Euclidean -> RMS per pixel


def random_pairs(num_codes: int, num_pairs: int, seed: int = 0) -> torch.Tensor:
    """``num_pairs`` pairs of distinct indices below ``num_codes``: shape (num_pairs, 2)."""
    if num_codes < 2:
        raise ValueError(f"need at least 2 codes to pair, got {num_codes}")
    generator = torch.Generator().manual_seed(seed)
    first = torch.randint(num_codes, (num_pairs,), generator=generator)
    shift = torch.randint(1, num_codes, (num_pairs,), generator=generator)
    return torch.stack([first, (first + shift) % num_codes], dim=1)


def path_points(mu: torch.Tensor, pairs: torch.Tensor, num_steps: int = 8) -> torch.Tensor:
    """The interior points of straight paths between the codes of each pair: (P * S, D).

    S = num_steps points at t = 1/(S+1), ..., S/(S+1), so no point is a code itself.
    """
    t = torch.arange(1, num_steps + 1, dtype=mu.dtype) / (num_steps + 1)  # (S,)
    start, end = mu[pairs[:, 0]], mu[pairs[:, 1]]  # (P, D) each
    points = start[:, None] + t[None, :, None] * (end - start)[:, None]  # (P, S, D)
    return points.reshape(-1, mu.shape[1])


def hole_ratio(model, mu, x_train, *, num_pairs=100, num_steps=8, seed=0) -> dict:
    """How far decoded in-between points lie from the data, relative to reconstructions.

    Parameters
    ----------
    model : VAE
    mu : Tensor, shape (N, D)
        Posterior means of held-out images (their reconstructions are decoded at ``mu``).
    x_train : Tensor, shape (M, 1, 28, 28)
        The reference images.

    Returns
    -------
    dict
        ``between`` (P * S,) and ``recon`` (N,) nearest-neighbour distances; ``ratio``, the median
        of ``between`` over the median of ``recon``.
    """
    pairs = random_pairs(len(mu), num_pairs, seed)
    between = nearest_distance(decode_points(model, path_points(mu, pairs, num_steps)), x_train)
    recon = nearest_distance(decode_points(model, mu), x_train)
    return {"between": between, "recon": recon, "ratio": float(between.median() / recon.median())}


def digit_classifier(x, y, *, num_steps: int = 200, lr: float = 0.05, seed: int = 0):
    """A linear softmax classifier of images, fitted with Adam on all of ``x`` at once.

    A yardstick rather than a strong classifier (about 90% on MNIST): whether it still
    recognises a model's reconstructions says whether they keep the digit's identity.

    Parameters
    ----------
    x : Tensor, shape (N, 1, 28, 28)
    y : Tensor of int64, shape (N,)

    Returns
    -------
    torch.nn.Linear
        Maps flattened images (B, 784) to class logits (B, K); use :func:`accuracy`.
    """
    check_ndim("x", x, 4, "(N, 1, H, W)")
    generator = torch.Generator().manual_seed(seed)
    flat = x.reshape(len(x), -1).float().cpu()  # (N, 1, H, W) -> (N, H*W)
    classifier = torch.nn.Linear(flat.shape[1], int(y.max()) + 1)
    with torch.no_grad():
        classifier.weight.copy_(0.01 * torch.randn(classifier.weight.shape, generator=generator))
        classifier.bias.zero_()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    for _ in range(num_steps):
        loss = torch.nn.functional.cross_entropy(classifier(flat), y.cpu())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return classifier.eval()


def accuracy(classifier, images, y) -> float:
    """The fraction of ``images`` (N, 1, H, W) that ``classifier`` assigns to their label ``y``."""
    with torch.no_grad():
        logits = classifier(images.reshape(len(images), -1).float().cpu())
    return float((logits.argmax(dim=1) == y.cpu()).double().mean())
