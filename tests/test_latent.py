"""Tests for vaelib.latent: collapse metrics against known answers and real (tiny) models."""

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vaelib.latent import (
    active_units,
    aggregate_posterior,
    class_means,
    class_pair_smoothness,
    decode_points,
    encode_dataset,
    grid_points,
    kl_per_dim,
    line,
    path_smoothness,
    plot_decoded_grid,
    summarize,
)
from vaelib.losses import kl_std_normal
from vaelib.models import conv_vae
from vaelib.train import fit


def blobs(n=128, seed=0):
    """Gaussian blobs at random positions: two latent factors a small VAE can find."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(n, 2, 1, 1, generator=g) * 16 + 6
    grid = torch.arange(28.0)
    rows, cols = grid.view(1, 28, 1), grid.view(1, 1, 28)
    dist = (cols - centres[:, 1]).pow(2) + (rows - centres[:, 0]).pow(2)  # (n, 28, 28)
    return torch.exp(-dist / 18).unsqueeze(1)  # (n, 1, 28, 28)


def test_kl_per_dim_sums_to_the_loss_term():
    g = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(50, 4, generator=g), torch.randn(50, 4, generator=g)
    per_dim = kl_per_dim(mu, log_var)
    assert per_dim.shape == (4,)
    torch.testing.assert_close(per_dim.sum(), kl_std_normal(mu, log_var))
    # against torch.distributions, per dimension and averaged over the data
    q = Normal(mu.double(), (0.5 * log_var.double()).exp())
    expected = kl_divergence(q, Normal(0.0, 1.0)).mean(dim=0)
    torch.testing.assert_close(per_dim.double(), expected, rtol=1e-5, atol=1e-6)


def test_summarize_against_independent_formulas():
    """Every field of the summary on codes far from log_var = 0 (where sigma = sigma^2)."""
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(300, 3, generator=g, dtype=torch.float64) * torch.tensor([1.5, 0.3, 0.01])
    log_var = torch.randn(300, 3, generator=g, dtype=torch.float64) * 0.5 - 2.0
    s = summarize(mu, log_var)
    sigma = Normal(mu, (0.5 * log_var).exp()).stddev  # (N, D)
    kl = kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0))  # (N, D)
    variances = np.var(mu.numpy(), axis=0, ddof=1)
    assert s.latent_dim == 3 and s.num_active == int((variances > 0.01).sum()) == 2
    assert s.mean_sigma == pytest.approx(sigma.mean().item(), rel=1e-12)
    assert s.mean_sigma == pytest.approx(np.exp(log_var.numpy() / 2).mean(), rel=1e-12)
    assert s.kl_total == pytest.approx(kl.sum(dim=1).mean().item(), rel=1e-9)
    torch.testing.assert_close(s.kl_per_dim, kl.mean(dim=0))
    assert s.spread == pytest.approx(np.sqrt(variances.sum()), rel=1e-9)
    assert not s.collapsed


def test_active_units_counts_dimensions_whose_mean_moves():
    g = torch.Generator().manual_seed(0)
    scales = torch.tensor([1.0, 0.5, 0.05, 0.0])  # variances 1, 0.25, 0.0025, 0
    mu = torch.randn(4000, 4, generator=g) * scales
    num_active, activity = active_units(mu)
    assert num_active == 2
    torch.testing.assert_close(activity, scales.pow(2), atol=0.05, rtol=0.1)
    assert active_units(mu, threshold=0.001)[0] == 3


def test_active_units_use_burdas_threshold_strictly():
    """Active when A_u > 0.01 (Burda et al. 2016, sec. 5.2): a variance of 0.015 counts, one of
    0.005 does not; a variance equal to the threshold is not above it."""
    gap = torch.tensor([0.015, 0.005], dtype=torch.float64).mul(2).sqrt()  # var = gap^2 / 2
    num_active, activity = active_units(torch.stack([torch.zeros(2, dtype=torch.float64), gap]))
    torch.testing.assert_close(activity, torch.tensor([0.015, 0.005], dtype=torch.float64))
    assert num_active == 1
    mu = torch.tensor([[0.0, 0.0], [1.0, 3.0], [2.0, 6.0]])  # variances exactly 1 and 9
    assert active_units(mu, threshold=1.0)[0] == 1


def test_aggregate_posterior_matches_monte_carlo_moments():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(200, 2, generator=g) * torch.tensor([2.0, 0.5]) + torch.tensor([1.0, -1.0])
    log_var = torch.randn(200, 2, generator=g) * 0.3 - 1.0
    mean, cov = aggregate_posterior(mu, log_var)
    # sample the mixture (1/N) sum_n N(mu_n, sigma_n^2) many times
    z = Normal(mu, (0.5 * log_var).exp()).sample((2000,)).reshape(-1, 2).double()
    torch.testing.assert_close(mean, z.mean(dim=0), atol=0.02, rtol=0)
    torch.testing.assert_close(cov, torch.cov(z.T), atol=0.03, rtol=0.02)


def test_aggregate_posterior_of_the_prior_itself_is_standard():
    g = torch.Generator().manual_seed(0)
    # means ~ N(0, 0.64 I) and sigma^2 = 0.36: the mixture is exactly N(0, I)
    mu = torch.randn(20000, 3, generator=g) * 0.8
    log_var = torch.full_like(mu, torch.log(torch.tensor(0.36)).item())
    mean, cov = aggregate_posterior(mu, log_var)
    torch.testing.assert_close(mean, torch.zeros(3, dtype=torch.float64), atol=0.02, rtol=0)
    torch.testing.assert_close(cov, torch.eye(3, dtype=torch.float64), atol=0.03, rtol=0)


def test_collapsed_encoder_is_flagged():
    model = conv_vae(3, (4, 8), (8, 4))
    head = model.encoder.head
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)  # mu = 0 and log_var = 0 (sigma = 1) for every input
    summary = summarize(*encode_dataset(model, blobs(32)))
    assert summary.collapsed and summary.num_active == 0
    assert summary.kl_total == pytest.approx(0.0, abs=1e-7)
    assert summary.spread == pytest.approx(0.0, abs=1e-7)
    assert summary.mean_sigma == pytest.approx(1.0)


def test_trained_models_show_the_three_regimes():
    """The chapter's claims at small size: beta = 0 spreads the codes and shrinks sigma,
    beta = 1 keeps its units active, beta = 784 (the pixel mean) collapses."""
    x = blobs(128)
    summaries = {}
    for beta in (0.0, 1.0, 784.0):
        torch.manual_seed(0)
        model = conv_vae(2, (8, 16), (16, 8))
        fit(model, x, num_epochs=15, batch_size=16, lr=3e-3, beta=beta, progress=False)
        summaries[beta] = summarize(*encode_dataset(model, x))
    autoencoder, healthy, collapsed = summaries[0.0], summaries[1.0], summaries[784.0]
    assert not healthy.collapsed and healthy.num_active == 2 and healthy.kl_total > 2.0
    assert collapsed.collapsed and collapsed.kl_total < 0.05 and collapsed.mean_sigma > 0.9
    assert autoencoder.spread > 1.3 * healthy.spread
    assert autoencoder.mean_sigma < 0.5 * healthy.mean_sigma


def test_class_means_known_answer():
    mu = torch.tensor([[0.0, 0.0], [2.0, 2.0], [10.0, 0.0], [12.0, 2.0]])
    y = torch.tensor([0, 0, 1, 1])
    torch.testing.assert_close(class_means(mu, y), torch.tensor([[1.0, 1.0], [11.0, 1.0]]))


def test_path_smoothness_of_a_straight_morph_and_of_a_jump():
    a, b = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    t = torch.linspace(0, 1, 11).view(-1, 1, 1, 1)
    morph = (1 - t) * a + t * b
    smooth = path_smoothness(morph)
    assert smooth["max_jump"] == pytest.approx(1.0) and smooth["detour"] == pytest.approx(1.0)
    torch.testing.assert_close(smooth["steps"], torch.full((10,), 0.1, dtype=torch.float64))
    # an uneven morph: steps of 0.1 and 0.3 (RMS pixel change), end images 1 apart
    uneven = torch.tensor([0.0, 0.1, 0.4, 0.5, 0.8, 1.0]).view(-1, 1, 1, 1).expand(6, 1, 4, 4)
    scores = path_smoothness(uneven)
    torch.testing.assert_close(
        scores["steps"], torch.tensor([0.1, 0.3, 0.1, 0.3, 0.2], dtype=torch.float64)
    )
    assert scores["max_jump"] == pytest.approx(0.3 / 0.2) and scores["detour"] == pytest.approx(1)
    back = torch.tensor([0.0, 1.0, 0.5]).view(-1, 1, 1, 1).expand(3, 1, 2, 2)  # overshoots
    assert path_smoothness(back)["detour"] == pytest.approx(1.5 / 0.5)
    garbage = morph.clone()
    garbage[5] = (torch.arange(16).view(1, 4, 4) % 2).float()  # stripes: garbage
    rough = path_smoothness(garbage)
    assert rough["max_jump"] > 2.0 and rough["detour"] > 1.5


def test_class_pair_smoothness_covers_every_pair():
    torch.manual_seed(0)
    model = conv_vae(2, (4, 8), (8, 4))
    centres = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    result = class_pair_smoothness(model, centres, num_steps=5)
    assert result["pairs"] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert result["max_jump"].shape == result["detour"].shape == (6,)
    by_default = class_pair_smoothness(model, centres[:2])  # one pair, 16 steps by default
    # each pair against a direct computation: decode T points of the segment, measure the steps
    model.eval()
    cases = [(*pair, jump, detour, 5) for pair, jump, detour in zip(*result.values())]
    cases.append((0, 1, by_default["max_jump"][0], by_default["detour"][0], 16))
    for a, b, jump, detour, num in cases:
        t = np.linspace(0.0, 1.0, num)[:, None]
        z = torch.tensor((1 - t) * centres[a].numpy() + t * centres[b].numpy(), dtype=torch.float32)
        with torch.no_grad():
            images = torch.sigmoid(model.decoder(z)).reshape(num, -1).double().numpy()
        steps = np.sqrt(((images[1:] - images[:-1]) ** 2).mean(axis=1))
        direct = np.sqrt(((images[-1] - images[0]) ** 2).mean())
        assert jump.item() == pytest.approx(steps.max() / steps.mean(), rel=1e-5)
        assert detour.item() == pytest.approx(steps.sum() / direct, rel=1e-5)


def test_line_grid_and_decode_points():
    z = line(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0]), num_steps=3)
    torch.testing.assert_close(z, torch.tensor([[0.0, 0.0], [0.5, 1.0], [1.0, 2.0]]))
    grid = grid_points((-1.0, 1.0), num=3, dims=(0, 2), latent_dim=4)
    assert grid.shape == (9, 4)
    torch.testing.assert_close(grid[0], torch.tensor([-1.0, 0.0, 1.0, 0.0]))  # top left
    torch.testing.assert_close(grid[2], torch.tensor([1.0, 0.0, 1.0, 0.0]))  # top right
    torch.testing.assert_close(grid[8], torch.tensor([1.0, 0.0, -1.0, 0.0]))  # bottom right
    model = conv_vae(4, (4, 8), (8, 4))
    assert decode_points(model, grid).shape == (9, 1, 28, 28)
    assert model.training  # decode_points restores the mode


def test_line_and_grid_defaults():
    """line: 16 evenly spaced points; grid_points: 9 x 9 points over [-3, 3]^2 (three prior
    standard deviations) in a 2-D latent space, z1 increasing along a row, z2 down the rows."""
    z0, z1 = torch.tensor([1.0, -2.0]), torch.tensor([4.0, 1.0])
    expected = torch.stack([z0 + (z1 - z0) * k / 15 for k in range(16)])
    torch.testing.assert_close(line(z0, z1), expected)
    grid = grid_points()
    by_hand = [[-3.0 + 0.75 * col, 3.0 - 0.75 * row] for row in range(9) for col in range(9)]
    torch.testing.assert_close(grid, torch.tensor(by_hand))


def test_plot_decoded_grid_covers_the_codes():
    import matplotlib.pyplot as plt

    torch.manual_seed(0)
    model = conv_vae(2, (4, 8), (8, 4))
    fig, ax = plt.subplots()
    mu = torch.randn(200, 2) * 10  # codes spread far beyond [-3, 3]
    lo, hi = plot_decoded_grid(ax, model, mu, num=4)
    assert lo == pytest.approx(mu.quantile(0.01, dim=0).min().item())
    assert hi == pytest.approx(mu.quantile(0.99, dim=0).max().item())
    assert plot_decoded_grid(ax, model, mu / 100, num=4) == (-3.0, 3.0)
    assert len(ax.images) == 2
    plt.close(fig)


def test_bad_codes_give_clear_errors():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        active_units(torch.zeros(5))
    for fn in (kl_per_dim, aggregate_posterior, summarize):  # each names the shapes it was given
        with pytest.raises(
            ValueError, match=r"log_var has shape \(5, 3\) but mu has shape \(5, 2\)"
        ):
            fn(torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="at least 2 images"):
        summarize(torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"\(T, 1, H, W\)"):
        path_smoothness(torch.zeros(3, 28, 28))


def test_gaussian_sigma_acts_as_beta_and_annealing_does_not_prevent_collapse():
    """Exercises 1 and 2 of chapter 4 at small size."""
    x = blobs(128)
    kl = {}
    for sigma in (1.0, 0.1):
        torch.manual_seed(0)
        model = conv_vae(2, (8, 16), (16, 8), likelihood="gaussian", sigma=sigma)
        fit(model, x, num_epochs=15, batch_size=16, lr=3e-3, progress=False)
        kl[sigma] = summarize(*encode_dataset(model, x)).kl_total
    assert kl[1.0] < 0.5 * kl[0.1]  # a larger sigma is a larger beta: less information in z
    torch.manual_seed(0)
    model = conv_vae(2, (8, 16), (16, 8), recon_reduction="mean")
    history = fit(
        model,
        x,
        num_epochs=15,
        batch_size=16,
        lr=3e-3,
        progress=False,
        beta=lambda epoch: max(0.0, (epoch - 7) / 7),
    )
    assert max(history.kl) > 1.0  # while beta is 0 the codes carry information...
    assert summarize(*encode_dataset(model, x)).collapsed  # ...and still collapse at the end


def test_two_codes_are_enough_one_is_not():
    num_active, activity = active_units(torch.tensor([[0.0, 1.0], [1.0, 1.0]]))
    assert num_active == 1 and activity.tolist() == pytest.approx([0.5, 0.0])
    with pytest.raises(ValueError, match="at least 2 images"):
        active_units(torch.zeros(1, 2))
