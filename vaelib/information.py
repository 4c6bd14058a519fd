"""Mutual information of a layer's code: pairwise-distance bounds on mixture entropy, and binning.

A layer's code T of N inputs x_i, each blurred by Gaussian noise, is a mixture of Gaussians

    p(t) = 1/N sum_i N(t; mu_i, diag(var_i)),

whose entropy has no closed form. Kolchinsky & Tracey (2017, eqs. 9-10 and Corollary 3) bound it
with any pairwise divergence D between components:

    H(T) ~ H(T | X) - 1/N sum_i log 1/N sum_j exp(-D(p_i || p_j)),

an upper bound with the KL divergence and a lower bound with the Bhattacharyya distance. With
H(T | X) = 1/N sum_i 1/2 sum_d log(2 pi e var_id) exact, I(X; T) = H(T) - H(T | X) is bracketed
by the two. Two noise models:

* homoscedastic, ``var`` a scalar or shape (d,): the "KDE" estimator of Saxe et al. (2018) for a
  deterministic network, where the noise variance is a choice of the analyst;
* heteroscedastic, ``var`` of shape (N, d): a VAE's encoder, exp(log_var) per input.

Also the binning estimator of Shwartz-Ziv & Tishby (2017), :func:`binned_mi`, and an exact
Monte Carlo entropy of the same mixture for checks. Everything is float64 and logsumexp; the
N x N divergences are computed in row chunks of batched matrix products, never a loop over pairs.

Used in chapter 6, compression in the information plane.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vaelib.checks import check_finite

DTYPE = torch.float64
CHUNK_ELEMENTS = 1 << 23  # float64 numbers per chunk of pairwise work (64 MB)
KINDS = ("bhattacharyya", "kl")


def as_float64(name: str, value) -> torch.Tensor:
    """``value`` (tensor, array or number) as a float64 CPU-or-device tensor, checked finite."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    t = value.detach().to(DTYPE) if isinstance(value, torch.Tensor) else None
    if t is None:
        try:
            t = torch.as_tensor(value, dtype=DTYPE)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a tensor, an array or a number") from err
    return check_finite(name, t)


def check_points(mu) -> torch.Tensor:
    """``mu`` as float64, shape (N, d) with N >= 1; a clear ``ValueError`` otherwise."""
    mu = as_float64("mu", mu)
    if mu.dim() != 2 or mu.shape[0] < 1 or mu.shape[1] < 1:
        raise ValueError(
            f"mu must have shape (N, d), one row per input, got shape {tuple(mu.shape)}; "
            "reshape a layer's activations with t.reshape(len(t), -1)"
        )
    return mu


def check_var(var, mu: torch.Tensor) -> torch.Tensor:
    """``var`` as float64 of shape (), (d,) or (N, d) matching ``mu`` (N, d), strictly positive."""
    var = as_float64("var", var).to(mu.device)
    n, d = mu.shape
    if tuple(var.shape) not in ((), (d,), (1, d), (n, d)):
        raise ValueError(
            f"var has shape {tuple(var.shape)} but mu has shape {(n, d)}; pass a scalar noise "
            f"variance, one per dimension ({d},), or one per input and dimension ({n}, {d})"
        )
    if (var <= 0).any():
        raise ValueError(
            f"var must be strictly positive, got a smallest entry {var.min().item():.3g}; "
            "for a VAE pass exp(log_var), not log_var"
        )
    return var.expand(1, d) if var.dim() < 2 else var  # () or (d,) -> (1, d)


def check_labels(labels, n: int) -> torch.Tensor:
    """``labels`` as int64 of shape (N,)."""
    labels = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
    if labels.dim() != 1 or labels.shape[0] != n:
        raise ValueError(
            f"labels must have shape ({n},), one per row of mu, got {tuple(labels.shape)}"
        )
    if labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise ValueError("labels must be whole numbers (class indices)")
    return labels.long()


def conditional_entropy(var, n: int) -> torch.Tensor:
    """H(T | X) = 1/N sum_i 1/2 sum_d log(2 pi e var_id), in nats: the noise's own entropy."""
    per_row = 0.5 * torch.log(2 * math.pi * math.e * var).sum(dim=1)  # (1,) or (N,)
    return per_row.expand(n).mean()


def _divergences(mu, var, rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
    """Bhattacharyya and KL divergences between components ``rows`` and all N: (R, N) each."""
    a = mu[rows]
    if var.shape[0] == 1:  # homoscedastic: both are scaled squared distances (K&T, eq. 19)
        s = mu / var.sqrt()
        sa = s[rows]
        sq = (sa * sa).sum(1, keepdim=True) - 2 * sa @ s.T + (s * s).sum(1)  # (R, N)
        sq = sq.clamp_min(0.0)
        return sq / 8, sq / 2
    va, inv = var[rows], 1.0 / var
    # KL(p_i || p_j) = 1/2 sum_d [log v_j - log v_i + (v_i + mu_i^2) / v_j - 2 mu_i mu_j / v_j
    #                             + mu_j^2 / v_j - 1], separable into matrix products
    log_v = torch.log(var).sum(1)
    kl = (
        log_v[None, :]
        - log_v[rows, None]
        + (va + a * a) @ inv.T
        - 2 * a @ (mu * inv).T
        + (mu * mu * inv).sum(1)[None, :]
        - mu.shape[1]
    ) / 2
    # Bhattacharyya: 1/8 dmu^2 / vbar + 1/2 log vbar - 1/4 (log v_i + log v_j),
    # vbar = (v_i + v_j) / 2
    vbar = (va[:, None, :] + var[None, :, :]) / 2  # (R, N, d): not separable, so broadcast
    diff = a[:, None, :] - mu[None, :, :]
    bd = (diff * diff / vbar / 8 + torch.log(vbar) / 2).sum(2) - (log_v[rows, None] + log_v) / 4
    return bd.clamp_min(0.0), kl.clamp_min(0.0)


def _chunk_rows(mu, var) -> int:
    n, d = mu.shape
    per_row = n * (d if var.shape[0] > 1 else 1) * 4
    return max(1, min(n, CHUNK_ELEMENTS // max(per_row, 1)))


def log_mean_kernels(mu, var, labels=None) -> dict:
    """Per input i, log 1/N sum_j exp(-D_ij) for both divergences (and within i's class).

    Parameters
    ----------
    mu : Tensor, shape (N, d), float64
    var : Tensor, shape (1, d) or (N, d), float64
    labels : Tensor, shape (N,), optional

    Returns
    -------
    dict
        ``"bhattacharyya"`` and ``"kl"``: (all, same) with ``all`` of shape (N,) and ``same``
        (the mean over j with labels_j = labels_i) of shape (N,) or None.
    """
    n = mu.shape[0]
    step = _chunk_rows(mu, var)
    out = {k: ([], []) for k in KINDS}
    same_class = None
    if labels is not None:
        labels = labels.to(mu.device)
        counts = torch.bincount(labels - labels.min()).to(DTYPE)[labels - labels.min()]
    for start in range(0, n, step):
        rows = slice(start, min(start + step, n))
        if labels is not None:
            same_class = labels[rows, None] == labels[None, :]  # (R, N)
        for kind, div in zip(KINDS, _divergences(mu, var, rows)):
            out[kind][0].append(torch.logsumexp(-div, dim=1) - math.log(n))
            if same_class is not None:
                masked = (-div).masked_fill(~same_class, -math.inf)
                out[kind][1].append(torch.logsumexp(masked, dim=1) - torch.log(counts[rows]))
    return {
        k: (torch.cat(a), torch.cat(s) if labels is not None else None) for k, (a, s) in out.items()
    }


def entropy_bounds(mu, var) -> tuple[float, float]:
    """Bounds in nats on the entropy of the uniform mixture of N(mu_i, diag(var_i)).

    Kolchinsky & Tracey (2017), eq. 10 with the Bhattacharyya distance (lower bound) and with
    the KL divergence (upper bound).

    Parameters
    ----------
    mu : Tensor or array, shape (N, d)
        The component means, one row per input (a layer's activations, a VAE's mu).
    var : float or Tensor, shape (), (d,) or (N, d)
        The component variances, strictly positive: a scalar noise variance (Saxe et al.'s KDE
        estimator), one per dimension, or one per input and dimension (a VAE's exp(log_var)).

    Returns
    -------
    (lower, upper) : tuple of float
        H_Bhattacharyya <= H(T) <= H_KL.

    Used in chapter 6.
    """
    mu = check_points(mu)
    var = check_var(var, mu)
    h_noise = conditional_entropy(var, mu.shape[0])
    kernels = log_mean_kernels(mu, var)
    lower, upper = (float(h_noise - kernels[k][0].mean()) for k in KINDS)
    return lower, upper


def mi_xt(mu, var) -> tuple[float, float]:
    """I(X; T) in nats for T = mu(X) + noise, X uniform over the N rows: (from BD, from KL).

    I(X; T) = H(T) - H(T | X) with H(T | X) exact (the noise's entropy), so the pair brackets
    the mutual information: 0 <= I_BD <= I(X; T) <= I_KL <= log N. Conventions of ``mu`` and
    ``var`` as in :func:`entropy_bounds`. Used in chapter 6.
    """
    mu = check_points(mu)
    kernels = log_mean_kernels(mu, check_var(var, mu))
    return tuple(float(-kernels[k][0].mean()) for k in KINDS)


def mi_ty(mu, var, labels) -> tuple[float, float]:
    """I(T; Y) = H(T) - sum_y p(y) H(T | Y = y) in nats: (from BD, from KL).

    Both entropies use the same bound (the convention of Kolchinsky & Tracey and of Saxe et
    al.'s code), so the two numbers are two estimates, **not** a bracket: a difference of two
    upper bounds bounds nothing. The noise entropy H(T | X) cancels between the two terms.

    Parameters
    ----------
    mu, var
        As in :func:`entropy_bounds`.
    labels : Tensor or array of int, shape (N,)
        The class y of each row.

    Used in chapter 6.
    """
    mu = check_points(mu)
    kernels = log_mean_kernels(mu, check_var(var, mu), check_labels(labels, mu.shape[0]))
    return tuple(float(kernels[k][1].mean() - kernels[k][0].mean()) for k in KINDS)


def information(mu, var, labels) -> dict:
    """Both estimates of I(X; T) and I(T; Y) from one pass over the pairs (faster than two calls).

    Returns
    -------
    dict of float
        ``ixt_bd``, ``ixt_kl``, ``ity_bd``, ``ity_kl`` in nats, as :func:`mi_xt` and :func:`mi_ty`.
    """
    mu = check_points(mu)
    kernels = log_mean_kernels(mu, check_var(var, mu), check_labels(labels, mu.shape[0]))
    out = {}
    for short, kind in zip(("bd", "kl"), KINDS):
        every, same = kernels[kind]
        out[f"ixt_{short}"] = float(-every.mean())
        out[f"ity_{short}"] = float(same.mean() - every.mean())
    return out


def _entropy_of_counts(counts: torch.Tensor) -> float:
    counts = counts[counts > 0]
    p = counts.to(DTYPE) / counts.sum()
    return float(-(p * torch.log(p)).sum())


def binned_mi(t, labels, n_bins: int) -> tuple[float, float]:
    """The binning estimates (I(X; T), I(T; Y)) in nats (Shwartz-Ziv & Tishby 2017).

    Every coordinate of ``t`` is cut into ``n_bins`` equal bins spanning [t.min(), t.max()];
    T is then a discrete code. With X uniform over N distinct inputs and T a function of X,
    I(X; T) = H(binned T) and I(T; Y) = H(binned T) - sum_y p(y) H(binned T | Y = y).

    Parameters
    ----------
    t : Tensor or array, shape (N, d)
        A layer's activations, one row per (distinct) input.
    labels : Tensor or array of int, shape (N,)
    n_bins : int
        Bins per coordinate, at least 1.

    Used in chapter 6.
    """
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    t = check_points(t)
    labels = check_labels(labels, t.shape[0])
    low, high = t.min(), t.max()
    width = (high - low).clamp_min(1e-12) / n_bins
    codes = ((t - low) / width).floor().clamp(0, n_bins - 1).long()  # (N, d) bin indices
    _, cell = torch.unique(codes, dim=0, return_inverse=True)  # (N,) one id per occupied cell
    h_t = _entropy_of_counts(torch.bincount(cell))
    h_t_given_y = 0.0
    for y in torch.unique(labels):
        members = cell[labels == y]
        h_t_given_y += len(members) / len(cell) * _entropy_of_counts(torch.bincount(members))
    return h_t, h_t - h_t_given_y


def mixture_entropy_mc(mu, var, num_samples: int = 20000, seed: int = 0) -> tuple[float, float]:
    """Monte Carlo entropy of the same mixture: -E log p(t), t ~ p; returns (estimate, std error).

    Draws ``num_samples`` points (component, then noise) from a private generator and evaluates
    the mixture's log density with logsumexp, in row chunks. Used in chapter 6 to check
    :func:`entropy_bounds`.
    """
    mu = check_points(mu)
    var = check_var(var, mu).expand_as(mu)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    which = torch.randint(mu.shape[0], (num_samples,), generator=gen)
    eps = torch.randn(num_samples, mu.shape[1], generator=gen, dtype=DTYPE).to(mu.device)
    t = mu[which] + var[which].sqrt() * eps  # (S, d)
    const = -0.5 * torch.log(2 * math.pi * var).sum(1)  # (N,)
    log_p = []
    step = max(1, CHUNK_ELEMENTS // (mu.numel() * 2))
    for chunk in t.split(step):
        diff = chunk[:, None, :] - mu[None, :, :]  # (C, N, d)
        log_comp = const - 0.5 * (diff * diff / var).sum(2)  # (C, N)
        log_p.append(torch.logsumexp(log_comp, dim=1) - math.log(mu.shape[0]))
    neg = -torch.cat(log_p)
    return float(neg.mean()), float(neg.std() / math.sqrt(num_samples))


def gaussian_channel_mi(a, var_x, noise_var) -> float:
    """Exact I(X; T) in nats for T = A X + noise, X ~ N(0, var_x I), noise ~ N(0, noise_var I).

    I = 1/2 log det(I + var_x / noise_var A A^T) (Cover & Thomas, eq. 9.* for Gaussian channels).

    Parameters
    ----------
    a : Tensor or array, shape (m, k)
    var_x, noise_var : float, positive

    Used in chapter 6 as the exact answer the estimators are checked against.
    """
    a = as_float64("a", a)
    if a.dim() != 2:
        raise ValueError(f"a must be a matrix of shape (m, k), got shape {tuple(a.shape)}")
    if not (var_x > 0 and noise_var > 0):
        raise ValueError(f"var_x and noise_var must be positive, got {var_x!r}, {noise_var!r}")
    gram = torch.eye(a.shape[0], dtype=DTYPE) + (var_x / noise_var) * a @ a.T
    return float(torch.linalg.slogdet(gram)[1] / 2)


def information_batch(t, var: float, labels) -> dict:
    """:func:`information` for a batch of codes with one scalar noise variance (Saxe et al.'s KDE).

    The same numbers as calling :func:`information` on every ``t[b]``, computed with batched
    matrix products: the fast path for many layers, snapshots and seeds at once.

    Parameters
    ----------
    t : Tensor or array, shape (B, N, d)
        B codes of the same N inputs (e.g. one layer at B recorded epochs), or (N, d).
    var : float
        The noise variance, positive.
    labels : Tensor or array of int, shape (N,)

    Returns
    -------
    dict of Tensor, each shape (B,)
        ``ixt_bd``, ``ixt_kl``, ``ity_bd``, ``ity_kl`` in nats.
    """
    t = as_float64("t", t)
    t = t[None] if t.dim() == 2 else t
    if t.dim() != 3 or t.shape[1] < 1 or t.shape[2] < 1:
        raise ValueError(f"t must have shape (B, N, d) or (N, d), got {tuple(t.shape)}")
    var = check_var(var, t[0])
    if var.shape[0] != 1 or not torch.all(var == var[0, 0]):
        raise ValueError("information_batch takes one scalar noise variance; use information()")
    n = t.shape[1]
    labels = check_labels(labels, n).to(t.device)
    same = labels[:, None] == labels[None, :]  # (N, N)
    log_counts = torch.log(same.sum(1).to(DTYPE))  # (N,)
    s = t / var[0, 0].sqrt()
    out = {k: [] for k in ("ixt_bd", "ixt_kl", "ity_bd", "ity_kl")}
    for chunk in s.split(max(1, CHUNK_ELEMENTS // (3 * n * n))):
        norms = (chunk * chunk).sum(-1)  # (b, N)
        gram = chunk @ chunk.transpose(1, 2)  # (b, N, N)
        sq = (norms[:, :, None] + norms[:, None, :] - 2 * gram).clamp_min(0.0)
        for short, scale in (("bd", 1 / 8), ("kl", 1 / 2)):  # K&T eq. 19: D = scale * dist^2
            neg = -scale * sq
            every = torch.logsumexp(neg, dim=2).mean(1) - math.log(n)  # (b,)
            within = (torch.logsumexp(neg.masked_fill(~same, -math.inf), 2) - log_counts).mean(1)
            out[f"ixt_{short}"].append(-every)
            out[f"ity_{short}"].append(within - every)
    return {k: torch.cat(v) for k, v in out.items()}
