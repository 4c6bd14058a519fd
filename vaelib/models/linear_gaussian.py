"""A linear-Gaussian latent-variable model: the one VAE whose every quantity is exact.

    p(z) = N(0, I_D),        p(x | z) = N(W z + b, sigma^2 I_P)

(probabilistic PCA, Tipping & Bishop 1999). The evidence p(x) and the posterior p(z | x) are
Gaussians in closed form, so the ELBO, its gap and the importance-weighted bound can be checked
against the truth. Used in chapter 2, the ELBO.

Everything is computed in float64.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch.distributions import MultivariateNormal, kl_divergence

from vaelib.checks import as_tensor, check_finite, check_ndim, check_positive, check_same_shape
from vaelib.losses import LOG_2PI, gaussian_nll, kl_std_normal

DTYPE = torch.float64


class LinearGaussian:
    """p(z) = N(0, I), p(x | z) = N(W z + b, sigma^2 I), with exact evidence and posterior.

    Parameters
    ----------
    W : Tensor, shape (P, D)
        The linear decoder.
    b : Tensor, shape (P,)
        The offset (the mean of x).
    sigma : float
        The observation noise standard deviation, strictly positive.
    """

    def __init__(self, W, b, sigma):
        W = as_tensor("W", W, dtype=DTYPE)
        check_ndim("W", W, 2, "(P, D)")
        b = as_tensor("b", b, dtype=DTYPE)
        check_ndim("b", b, 1, "(P,)")
        if b.shape[0] != W.shape[0]:
            raise ValueError(f"b has {b.shape[0]} entries but W has {W.shape[0]} rows (P)")
        sigma = as_tensor("sigma", sigma, dtype=DTYPE)
        if sigma.numel() != 1:
            raise ValueError(f"sigma must be a single number, got shape {tuple(sigma.shape)}")
        check_positive("sigma", sigma)
        check_finite("W", W)
        check_finite("b", b)
        self.W, self.b, self.sigma = W, b, sigma.reshape(())

    @classmethod
    def random(cls, data_dim: int, latent_dim: int, *, sigma=0.5, seed: int = 0):
        """A model with standard-normal W and b drawn from a seeded generator."""
        gen = torch.Generator().manual_seed(seed)
        W = torch.randn(data_dim, latent_dim, generator=gen, dtype=DTYPE)
        b = torch.randn(data_dim, generator=gen, dtype=DTYPE)
        return cls(W, b, sigma)

    def __repr__(self) -> str:
        return f"LinearGaussian(P={self.data_dim}, D={self.latent_dim}, sigma={self.sigma:.3g})"

    @property
    def data_dim(self) -> int:
        return self.W.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.W.shape[1]

    @property
    def log_var(self) -> torch.Tensor:
        """log sigma^2 of the observation noise."""
        return 2.0 * torch.log(self.sigma)

    # ---- input checks -------------------------------------------------------------------
    def _x(self, x) -> torch.Tensor:
        x = as_tensor("x", x, dtype=DTYPE)
        check_ndim("x", x, 2, f"(B, P) with P = {self.data_dim}")
        if x.shape[1] != self.data_dim:
            raise ValueError(
                f"x has {x.shape[1]} features per example but the model's data_dim is "
                f"{self.data_dim}; x must have shape (B, {self.data_dim})"
            )
        return check_finite("x", x)

    def _q_cov(self, x, mu, log_var, cov):
        """Check q = N(mu, Sigma) and return (mu, Sigma) with Sigma of shape (B, D, D)."""
        mu = check_finite("mu", as_tensor("mu", mu, dtype=DTYPE))
        check_ndim("mu", mu, 2, f"(B, D) with D = {self.latent_dim}")
        if mu.shape != (x.shape[0], self.latent_dim):
            raise ValueError(
                f"mu has shape {tuple(mu.shape)} but must be (B, D) = "
                f"({x.shape[0]}, {self.latent_dim}): one latent mean per row of x"
            )
        if (log_var is None) == (cov is None):
            raise ValueError("pass exactly one of log_var (diagonal q) or cov (full q)")
        if log_var is not None:
            log_var = check_finite("log_var", as_tensor("log_var", log_var, dtype=DTYPE))
            check_same_shape("mu", mu, "log_var", log_var)
            return mu, torch.diag_embed(torch.exp(log_var))
        cov = check_finite("cov", as_tensor("cov", cov, dtype=DTYPE))
        if cov.shape not in ((self.latent_dim,) * 2, (x.shape[0],) + (self.latent_dim,) * 2):
            raise ValueError(f"cov must have shape (D, D) or (B, D, D), got {tuple(cov.shape)}")
        if torch.linalg.cholesky_ex(cov).info.any():
            raise ValueError("cov must be symmetric positive definite")
        return mu, cov.expand(x.shape[0], -1, -1)

    def sample(self, num_samples: int, *, seed: int | None = None):
        """Draw (x, z) from the model: z ~ N(0, I), x = W z + b + sigma * noise.

        Returns x : Tensor, shape (num_samples, P) and z : Tensor, shape (num_samples, D).
        """
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(num_samples, self.latent_dim, generator=gen, dtype=DTYPE)
        noise = torch.randn(num_samples, self.data_dim, generator=gen, dtype=DTYPE)
        return z @ self.W.T + self.b + self.sigma * noise, z

    # ---- densities ----------------------------------------------------------------------
    def log_prior(self, z) -> torch.Tensor:
        """log p(z) = log N(z | 0, I); z : Tensor, shape (..., D) -> (...)."""
        z = as_tensor("z", z, dtype=DTYPE)
        return -gaussian_nll(z, torch.zeros_like(z), reduction="none").sum(-1)

    def log_likelihood(self, x, z) -> torch.Tensor:
        """log p(x | z) = log N(x | W z + b, sigma^2 I).

        Parameters
        ----------
        x : Tensor, shape (B, P)
        z : Tensor, shape (..., B, D)
            One or more latent codes per example, e.g. (K, B, D) for K samples.

        Returns
        -------
        Tensor, shape (..., B)
        """
        x = self._x(x)
        z = as_tensor("z", z, dtype=DTYPE)
        if z.dim() < 2 or z.shape[-2:] != (x.shape[0], self.latent_dim):
            raise ValueError(
                f"z has shape {tuple(z.shape)} but must end in (B, D) = "
                f"({x.shape[0]}, {self.latent_dim})"
            )
        mean = z @ self.W.T + self.b  # (..., B, D) -> (..., B, P)
        nll = gaussian_nll(x.expand_as(mean), mean, self.log_var, reduction="none")
        return -nll.sum(-1)

    def marginal_cov(self) -> torch.Tensor:
        """C = W W^T + sigma^2 I, the covariance of p(x); shape (P, P)."""
        return self.W @ self.W.T + self.sigma**2 * torch.eye(self.data_dim, dtype=DTYPE)

    def log_evidence(self, x) -> torch.Tensor:
        """Exact log p(x) = log N(x | b, W W^T + sigma^2 I); x (B, P) -> (B,).

        Computed with a Cholesky factor C = R R^T: log p(x) = -1/2 (P log 2 pi + log det C + |u|^2)
        with u = R^{-1} (x - b).
        """
        x = self._x(x)
        chol = torch.linalg.cholesky(self.marginal_cov())
        u = torch.linalg.solve_triangular(chol, (x - self.b).T, upper=False)  # (P, B)
        log_det = 2.0 * torch.log(torch.diagonal(chol)).sum()
        return -0.5 * (self.data_dim * LOG_2PI + log_det + u.pow(2).sum(0))

    def posterior(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact posterior p(z | x) = N(mu, Sigma) (Bishop 2006, eq. 12.42).

        Sigma = (I + W^T W / sigma^2)^{-1}, the same for every x, and
        mu = Sigma W^T (x - b) / sigma^2.

        Returns
        -------
        mu : Tensor, shape (B, D)
        cov : Tensor, shape (D, D)
        """
        x = self._x(x)
        precision = torch.eye(self.latent_dim, dtype=DTYPE) + self.W.T @ self.W / self.sigma**2
        cov = torch.cholesky_inverse(torch.linalg.cholesky(precision))
        mu = (x - self.b) @ self.W / self.sigma**2 @ cov  # (B, P) -> (B, D)
        return mu, cov

    def mean_field_posterior(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """The best diagonal q: argmin over diagonal Gaussians of KL(q || p(z | x)).

        Its mean is the posterior mean; its variances are 1 / Lambda_jj, the inverse diagonal
        of the posterior precision (Bishop 2006, sec. 10.1.2). Returns (mu, log_var), (B, D) each.
        """
        mu, cov = self.posterior(x)
        precision = torch.linalg.inv(cov)
        log_var = -torch.log(torch.diagonal(precision))
        return mu, log_var.expand_as(mu).clone()

    # ---- the ELBO and its gap, exactly ---------------------------------------------------
    def expected_log_likelihood(self, x, mu, log_var=None, *, cov=None) -> torch.Tensor:
        """E_q[log p(x | z)] for q = N(mu, Sigma), exactly; shape (B,).

        E |x - W z - b|^2 = |x - W mu - b|^2 + tr(W Sigma W^T), so this is
        log N(x | W mu + b, sigma^2 I) - tr(W Sigma W^T) / (2 sigma^2).
        Give q's covariance as ``log_var`` (B, D) (diagonal) or ``cov`` (D, D) or (B, D, D).
        """
        x = self._x(x)
        mu, cov = self._q_cov(x, mu, log_var, cov)
        mean = mu @ self.W.T + self.b  # (B, D) -> (B, P)
        fit = -gaussian_nll(x, mean, self.log_var, reduction="none").sum(-1)
        spread = torch.einsum("dj,bjk,dk->b", self.W, cov, self.W)  # tr(W Sigma W^T)
        return fit - spread / (2.0 * self.sigma**2)

    def kl_to_prior(self, x, mu, log_var=None, *, cov=None) -> torch.Tensor:
        """KL(q || p(z)), the rate; shape (B,). Diagonal q uses the closed form of vaelib.losses."""
        x = self._x(x)
        mu, full = self._q_cov(x, mu, log_var, cov)
        if log_var is not None:
            return kl_std_normal(mu, as_tensor("log_var", log_var, dtype=DTYPE), "none").sum(-1)
        prior = MultivariateNormal(torch.zeros_like(mu), torch.eye(self.latent_dim, dtype=DTYPE))
        return kl_divergence(MultivariateNormal(mu, full), prior)

    def elbo(self, x, mu, log_var=None, *, cov=None) -> torch.Tensor:
        """The exact ELBO E_q[log p(x | z)] - KL(q || p(z)) for q = N(mu, Sigma); shape (B,)."""
        recon = self.expected_log_likelihood(x, mu, log_var, cov=cov)
        return recon - self.kl_to_prior(x, mu, log_var, cov=cov)

    def kl_to_posterior(self, x, mu, log_var=None, *, cov=None) -> torch.Tensor:
        """KL(q || p(z | x)), the approximation gap, via torch.distributions; shape (B,)."""
        x = self._x(x)
        mu, full = self._q_cov(x, mu, log_var, cov)
        post_mu, post_cov = self.posterior(x)
        return kl_divergence(MultivariateNormal(mu, full), MultivariateNormal(post_mu, post_cov))

    # ---- fitting: EM and the closed-form maximum likelihood --------------------------------
    def em_step(self, x, *, learn_offset: bool = True, learn_noise: bool = True):
        """One EM step (Dempster et al. 1977; for this model Bishop 2006, sec. 12.2.2).

        E-step: q(z_n) = p(z_n | x_n) under the current parameters, which makes the ELBO equal
        to log p(x). M-step: the W, b, sigma that maximise E_q[log p(x, z)] with q held fixed,
        in closed form: a least-squares fit of x on E[z] that also counts Cov[z].

        Parameters
        ----------
        x : Tensor, shape (N, P)
            The data set.
        learn_offset, learn_noise : bool
            Update b and sigma too (otherwise they stay fixed).

        Returns
        -------
        LinearGaussian
            The updated model (``self`` is not changed).
        """
        x = self._x(x)
        n, dim = x.shape[0], self.latent_dim
        mu, cov = self.posterior(x)  # E-step: q(z_n) = N(mu_n, cov)
        if learn_offset:  # fit b too by regressing on (z, 1): (N, D) -> (N, D + 1)
            target, ez = x, torch.cat([mu, torch.ones(n, 1, dtype=DTYPE)], dim=1)
        else:
            target, ez = x - self.b, mu
        ezz = ez.T @ ez  # sum_n E[z z^T] = sum_n (mu_n mu_n^T + Sigma)
        ezz[:dim, :dim] += n * cov
        w_all = torch.linalg.solve(ezz, ez.T @ target).T  # (P, D) or (P, D + 1)
        W, b = (w_all[:, :dim], w_all[:, dim]) if learn_offset else (w_all, self.b)
        sigma = self.sigma
        if learn_noise:  # sigma^2 = 1/(N P) sum_n E|x_n - W z_n - b|^2, expanded
            sq = target.pow(2).sum() - 2 * (w_all * (target.T @ ez)).sum()
            sq = sq + (w_all.T @ w_all * ezz).sum()
            sigma = torch.sqrt(sq / (n * self.data_dim))
        return LinearGaussian(W, b, sigma)

    @classmethod
    def fit_ml(cls, x, latent_dim: int):
        """The maximum-likelihood model in closed form (Tipping & Bishop 1999).

        Bishop (2006), eq. 12.45-12.46: b is the sample mean; sigma^2 the mean of the P - D
        smallest eigenvalues of the sample covariance; W = U_D (Lambda_D - sigma^2 I)^{1/2} from
        the D leading eigenpairs.
        """
        x = check_finite("x", as_tensor("x", x, dtype=DTYPE))
        check_ndim("x", x, 2, "(N, P)")
        if not 1 <= latent_dim < x.shape[1]:
            raise ValueError(f"latent_dim must be in [1, P) = [1, {x.shape[1]}), got {latent_dim}")
        b = x.mean(0)
        evals, evecs = torch.linalg.eigh((x - b).T @ (x - b) / x.shape[0])  # ascending
        evals, evecs = evals.flip(0), evecs.flip(1)
        var = evals[latent_dim:].mean()
        W = evecs[:, :latent_dim] * torch.sqrt((evals[:latent_dim] - var).clamp_min(0.0))
        return cls(W, b, math.sqrt(var.item()))


class EMHistory(NamedTuple):
    """What :func:`fit_em` records, per example (divided by N)."""

    models: list  # theta_0 ... theta_T
    log_evidence: torch.Tensor  # (T + 1,), log p(x; theta_t): the ELBO right after each E-step
    elbo_after_m: torch.Tensor  # (T,), ELBO(q_t, theta_{t+1}): the bound after each M-step


def fit_em(model: LinearGaussian, x, num_steps: int, **kwargs) -> EMHistory:
    """Run ``num_steps`` EM steps from ``model`` on the data ``x`` (N, P), recording the bound.

    Each step raises the ELBO twice: the E-step closes the gap (q_t = p(z | x; theta_t)), the
    M-step raises the bound with q_t fixed, and log p(x) rises at least as much (Neal & Hinton
    1998). ``kwargs`` go to :meth:`LinearGaussian.em_step`. Used in chapter 2.
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    x = model._x(x)
    models, elbo_after_m = [model], []
    for _ in range(num_steps):
        mu, cov = models[-1].posterior(x)  # q_t, held fixed through the M-step
        models.append(models[-1].em_step(x, **kwargs))
        elbo_after_m.append(models[-1].elbo(x, mu, cov=cov).mean())
    log_evidence = torch.stack([m.log_evidence(x).mean() for m in models])
    return EMHistory(models, log_evidence, torch.stack(elbo_after_m))
