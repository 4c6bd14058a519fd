"""Tests for vaelib.estimators.gradients and .objectives (chapter 3, the reparameterization trick).

Known answers: autograd of torch.distributions.Normal.log_prob for the scores, closed-form
expectations for the true gradients, and the claims that chapter 3 makes in prose, at small sizes.
"""

import math
from functools import partial

import matplotlib
import pytest
import torch

from vaelib.config import set_seed
from vaelib.estimators.gradients import (
    ESTIMATORS,
    GradientSamples,
    exact_grad,
    measure,
    pathwise_grad,
    quadrature_expectation,
    score_function_grad,
)
from vaelib.estimators.objectives import (
    RandomDecoderLoss,
    cosine,
    cosine_expectation,
    quadratic,
    quadratic_expectation,
)

matplotlib.use("Agg")
F64 = torch.float64


def params(mu, sigma):
    mu = torch.as_tensor(mu, dtype=F64).reshape(-1)
    return mu, torch.full_like(mu, 2 * math.log(sigma))


def var_mu(estimator, f, mu, sigma, num_samples, num_estimates=2000):
    """Variance of one estimate of d/dmu (summed over coordinates)."""
    mu, log_var = params(mu, sigma)
    return measure(estimator, f, mu, log_var, num_samples, num_estimates).var[0].item()


# ---------------------------------------------------------------- the estimators, exactly


def test_score_function_matches_autograd_of_log_prob():
    """One estimate equals mean_k f(z_k) * grad log N(z_k | mu, sigma^2), grads by torch."""
    mu, log_var = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([0.2, -0.7], dtype=F64)
    k = 7
    set_seed(3)
    g_mu, g_lv = score_function_grad(quadratic, mu, log_var, k)
    set_seed(3)  # the same draws: reparameterize calls torch.randn once, shape (K, 1, D)
    eps = torch.randn(k, 1, 2, dtype=F64)[:, 0]
    mu_l, lv_l = mu.clone().requires_grad_(True), log_var.clone().requires_grad_(True)
    z = (mu + torch.exp(0.5 * log_var) * eps).detach()
    log_q = torch.distributions.Normal(mu_l, torch.exp(0.5 * lv_l)).log_prob(z).sum(-1)  # (K,)
    t_mu, t_lv = torch.autograd.grad((quadratic(z) * log_q).mean(), (mu_l, lv_l))
    assert torch.allclose(g_mu, t_mu, rtol=1e-12) and torch.allclose(g_lv, t_lv, rtol=1e-12)


def test_leave_one_out_baseline_exact_value():
    """K = 4: b_k is the mean of f over the other three; estimate = mean_k (f_k - b_k) score_k."""
    mu, log_var = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([0.2, -0.7], dtype=F64)
    k = 4
    set_seed(13)
    g_mu, g_lv = score_function_grad(quadratic, mu, log_var, k, baseline="loo")
    set_seed(13)
    eps = torch.randn(k, 1, 2, dtype=F64)[:, 0]
    var = torch.exp(log_var)
    z = mu + var.sqrt() * eps
    f = [float((z[i] ** 2).sum()) for i in range(k)]
    expected_mu, expected_lv = torch.zeros(2, dtype=F64), torch.zeros(2, dtype=F64)
    for i in range(k):
        baseline = sum(f[j] for j in range(k) if j != i) / (k - 1)
        expected_mu += (f[i] - baseline) * (z[i] - mu) / var / k
        expected_lv += (f[i] - baseline) * ((z[i] - mu) ** 2 / var - 1) / 2 / k
    assert torch.allclose(g_mu, expected_mu, rtol=1e-12)
    assert torch.allclose(g_lv, expected_lv, rtol=1e-12)
    # a fixed baseline b subtracts b * mean_k score_k from the plain estimate
    set_seed(13)
    plain = score_function_grad(quadratic, mu, log_var, k)
    set_seed(13)
    fixed = score_function_grad(quadratic, mu, log_var, k, baseline=1.5)
    score_mu = ((z - mu) / var).mean(0)
    assert torch.allclose(fixed[0], plain[0] - 1.5 * score_mu, rtol=1e-12)


def test_pathwise_matches_the_chain_rule():
    """For f = sum z^2: grad_mu = mean 2z and grad_log_var = mean 2z * sigma * eps / 2."""
    mu, log_var = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([0.2, -0.7], dtype=F64)
    set_seed(4)
    g_mu, g_lv = pathwise_grad(quadratic, mu, log_var, 6)
    set_seed(4)
    eps = torch.randn(6, 1, 2, dtype=F64)[:, 0]
    sigma = torch.exp(0.5 * log_var)
    z = mu + sigma * eps
    assert torch.allclose(g_mu, (2 * z).mean(0), rtol=1e-12)
    assert torch.allclose(g_lv, (2 * z * sigma * eps / 2).mean(0), rtol=1e-12)


def test_one_sample_by_default_and_one_estimate_on_request():
    """Default K = 1: f(z) * score for the score function, f'(z) (and f'(z) sigma eps / 2) for
    the pathwise estimator, one draw z = mu + sigma eps. num_estimates=1 stacks that one
    estimate along a leading dimension of size 1."""
    mu, log_var = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([0.2, -0.7], dtype=F64)
    sigma = torch.exp(0.5 * log_var)
    set_seed(21)
    eps = torch.randn(1, 1, 2, dtype=F64)[0, 0]
    z = mu + sigma * eps
    f = (z**2).sum()
    score = (f * eps / sigma, f * (eps**2 - 1) / 2)
    path = (2 * z, 2 * z * sigma * eps / 2)
    for kwargs, shape in (({}, (2,)), ({"num_estimates": 1}, (1, 2))):
        for estimator, expected in ((score_function_grad, score), (pathwise_grad, path)):
            set_seed(21)
            got = estimator(quadratic, mu, log_var, **kwargs)
            assert got[0].shape == got[1].shape == shape, (estimator, kwargs)
            for g, e in zip(got, expected):
                torch.testing.assert_close(g.reshape(2), e, rtol=1e-12, atol=1e-12)


def test_measure_with_two_estimates_recomputed_by_hand():
    """R = 2, the fewest that give a variance: the sample variance of two values is half their
    squared difference."""
    mu, log_var = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([0.2, -0.7], dtype=F64)
    sigma = torch.exp(0.5 * log_var)
    set_seed(22)
    eps = torch.randn(1, 2, 2, dtype=F64)[0]  # (K = 1, R = 2, D) -> (R, D)
    grad_mu = 2 * (mu + sigma * eps)  # (R, D)
    set_seed(22)
    g = measure(pathwise_grad, quadratic, mu, log_var, 1, 2)
    assert g.grads.shape == (2, 2, 2)
    torch.testing.assert_close(g.grads[:, 0], grad_mu, rtol=1e-12, atol=1e-12)
    expected_var = ((grad_mu[0] - grad_mu[1]) ** 2 / 2).sum()
    torch.testing.assert_close(g.var[0], expected_var, rtol=1e-12, atol=1e-12)


def test_shapes():
    mu, log_var = params([0.0, 1.0, 2.0], 1.0)
    for est in ESTIMATORS.values():
        g_mu, g_lv = est(quadratic, mu, log_var, 4)
        assert g_mu.shape == g_lv.shape == (3,)
        g_mu, g_lv = est(quadratic, mu, log_var, 4, num_estimates=5)
        assert g_mu.shape == g_lv.shape == (5, 3) and g_mu.dtype == F64
    g_mu, _ = pathwise_grad(quadratic, 1.0, 0.0)  # floats are D = 1
    assert g_mu.shape == (1,)


def test_gradient_samples_statistics():
    grads = torch.randn(50, 2, 3, dtype=F64)
    g = GradientSamples(grads)
    assert torch.allclose(g.mean, grads.mean(0))
    assert torch.allclose(g.var, grads.var(0).sum(-1))
    assert torch.allclose(g.se, grads.std(0) / 50**0.5)
    truth = (torch.zeros(3, dtype=F64), torch.ones(3, dtype=F64))
    assert torch.allclose(g.z_scores(truth), (grads.mean(0) - torch.stack(truth)) / g.se)


# ---------------------------------------------------------------- true gradients


@pytest.mark.parametrize("dim", [1, 2])
def test_quadrature_matches_closed_forms(dim):
    mu = torch.tensor([1.0, -0.4][:dim], dtype=F64)
    log_var = torch.tensor([math.log(2.0), 0.3][:dim], dtype=F64)
    for f, expectation in ((quadratic, quadratic_expectation), (cosine, cosine_expectation)):
        assert quadrature_expectation(f, mu, log_var).item() == pytest.approx(
            expectation(mu, log_var).item(), abs=1e-10
        )
        numeric = exact_grad(partial(quadrature_expectation, f), mu, log_var)
        closed = exact_grad(expectation, mu, log_var)
        for a, b in zip(numeric, closed):
            assert torch.allclose(a, b, atol=1e-9)


def test_quadrature_is_the_trapezoid_rule_on_its_documented_grid():
    """Defaults: the points eps_i = -8, -7.95, ..., 8 (step 0.05, width 8 sigma), z_i = mu +
    sigma eps_i, and weights proportional to the N(0, 1) density at eps_i."""
    seen = []
    f = lambda z: seen.append(z.detach().clone()) or z[..., 0] ** 3
    mu, log_var = torch.tensor([0.5], dtype=F64), torch.tensor([math.log(4.0)], dtype=F64)
    value = quadrature_expectation(f, mu, log_var)
    eps = torch.arange(-160, 161, dtype=F64) * 0.05  # 321 points
    (z,) = seen
    torch.testing.assert_close(z[:, 0].sort().values, 0.5 + 2.0 * eps)
    density = torch.distributions.Normal(0.0, 1.0).log_prob(eps).exp()
    expected = (density * (0.5 + 2.0 * eps) ** 3).sum() / density.sum()
    torch.testing.assert_close(value, expected, rtol=1e-12, atol=1e-12)


def test_quadrature_allows_two_million_points_and_refuses_more():
    mu, log_var = torch.tensor([1.0], dtype=F64), torch.tensor([0.0], dtype=F64)
    value = quadrature_expectation(quadratic, mu, log_var, step=16 / 1_999_999)  # 2,000,000
    assert value.item() == pytest.approx(2.0)  # E[z^2] = mu^2 + sigma^2
    with pytest.raises(ValueError, match=r"the grid has 2000001\*\*1 points"):
        quadrature_expectation(quadratic, mu, log_var, step=16 / 2_000_000)


def test_exact_grad_of_the_quadratic():
    """eq-ch3-quadratic: d/dmu = 2 mu, d/dlog_var = sigma^2."""
    g_mu, g_lv = exact_grad(quadratic_expectation, *params([1.0, -3.0], 0.5))
    assert g_mu.tolist() == pytest.approx([2.0, -6.0])
    assert g_lv.tolist() == pytest.approx([0.25, 0.25])


# ---------------------------------------------------------------- the chapter's claims


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("objective", ["quadratic", "cosine", "decoder"])
def test_unbiased_within_a_few_standard_errors(name, objective):
    set_seed(5)
    if objective == "decoder":
        f = RandomDecoderLoss()
        mu, log_var = params([0.0, 0.0], 0.7)
        truth = exact_grad(partial(quadrature_expectation, f, step=0.1), mu, log_var)
    else:
        f, expectation = {"quadratic": (quadratic, quadratic_expectation),
                          "cosine": (cosine, cosine_expectation)}[objective]  # fmt: skip
        mu, log_var = params(1.0, 0.7)
        truth = exact_grad(expectation, mu, log_var)
    z = measure(ESTIMATORS[name], f, mu, log_var, 5, 4000).z_scores(truth)
    assert (z.abs() < 4).all(), z


def test_pathwise_variance_below_score_function_on_the_quadratic():
    set_seed(6)
    for sigma in (0.1, 0.5, 1.0, 2.0):
        sf = var_mu(ESTIMATORS["score function"], quadratic, 1.0, sigma, 10)
        pw = var_mu(ESTIMATORS["pathwise"], quadratic, 1.0, sigma, 10)
        assert pw < sf, (sigma, pw, sf)


def test_orders_of_magnitude_at_small_sigma():
    """At sigma = 0.1 the score function's variance is > 100x the pathwise one."""
    set_seed(7)
    decoder = RandomDecoderLoss()
    for f, mu in ((quadratic, 1.0), (cosine, 1.0), (decoder, [0.0, 0.0])):
        sf = var_mu(ESTIMATORS["score function"], f, mu, 0.1, 10, 500)
        pw = var_mu(ESTIMATORS["pathwise"], f, mu, 0.1, 10, 500)
        assert sf > 100 * pw, (f, sf, pw)


def test_score_function_wins_on_the_cosine_at_large_sigma():
    set_seed(8)
    sf = var_mu(ESTIMATORS["score function"], cosine, 1.0, 3.0, 10)
    pw = var_mu(ESTIMATORS["pathwise"], cosine, 1.0, 3.0, 10)
    assert sf < 0.5 * pw
    sf = var_mu(ESTIMATORS["score function"], cosine, 1.0, 0.3, 10)
    pw = var_mu(ESTIMATORS["pathwise"], cosine, 1.0, 0.3, 10)
    assert sf > 10 * pw


def test_variance_falls_like_one_over_k():
    set_seed(9)
    for name in ("score function", "pathwise"):
        v4 = var_mu(ESTIMATORS[name], quadratic, 1.0, 0.5, 4, 4000)
        v40 = var_mu(ESTIMATORS[name], quadratic, 1.0, 0.5, 40, 4000)
        assert v4 / v40 == pytest.approx(10, rel=0.2)


def test_baseline_helps_at_small_sigma_not_on_a_wide_cosine():
    set_seed(10)
    decoder = RandomDecoderLoss()
    for f, mu in ((quadratic, 1.0), (cosine, 1.0), (decoder, [0.0, 0.0])):
        sf = var_mu(ESTIMATORS["score function"], f, mu, 0.1, 10, 1000)
        sfb = var_mu(ESTIMATORS["score function + baseline"], f, mu, 0.1, 10, 1000)
        assert sf > 5 * sfb
    # At sigma = 3 the cosine straddles zero and the baseline's own noise costs more than it saves
    # (exact ratio about 0.9); the decoder's loss stays far from zero and the baseline still helps.
    sf = var_mu(ESTIMATORS["score function"], cosine, 1.0, 3.0, 10, 8000)
    sfb = var_mu(ESTIMATORS["score function + baseline"], cosine, 1.0, 3.0, 10, 8000)
    assert sfb > sf
    sf = var_mu(ESTIMATORS["score function"], decoder, [0.0, 0.0], 3.0, 10, 2000)
    sfb = var_mu(ESTIMATORS["score function + baseline"], decoder, [0.0, 0.0], 3.0, 10, 2000)
    assert sf > 2 * sfb


def test_linear_f_exercise():
    """Exercise ex-ch3-linear: f(z) = z at mu = 2, sigma = 0.5, K = 1."""
    set_seed(11)
    f = lambda z: z.sum(-1)
    pw = var_mu(pathwise_grad, f, 2.0, 0.5, 1, 1000)
    assert pw == pytest.approx(0.0, abs=1e-20)
    sf = var_mu(score_function_grad, f, 2.0, 0.5, 1, 100_000)
    sfb = var_mu(partial(score_function_grad, baseline=2.0), f, 2.0, 0.5, 1, 100_000)
    assert sf == pytest.approx(18, rel=0.05) and sfb == pytest.approx(2, rel=0.05)


def test_a_fixed_baseline_keeps_the_estimate_unbiased():
    set_seed(12)
    mu, log_var = params(1.0, 0.5)
    truth = exact_grad(quadratic_expectation, mu, log_var)
    estimator = partial(score_function_grad, baseline=1.25)
    z = measure(estimator, quadratic, mu, log_var, 3, 20_000).z_scores(truth)
    assert (z.abs() < 4).all()


def test_random_decoder_is_fixed_and_smallest_near_its_target():
    a, b = RandomDecoderLoss(seed=0), RandomDecoderLoss(seed=0)
    z = torch.randn(5, 2, dtype=F64)
    assert torch.equal(a(z), b(z)) and a(z).shape == (5,)
    assert set(a.x.unique().tolist()) <= {0.0, 1.0}
    target, origin = torch.ones(2, dtype=F64), torch.zeros(2, dtype=F64)
    assert a(target) < a(origin)
    assert not torch.equal(RandomDecoderLoss(seed=1)(z), a(z))


def test_random_decoder_weights_have_the_documented_sizes_and_scales():
    """D = 2, H = 32, P = 64 by default, seed 0; W1 ~ N(0, 1.5^2), b1 and b2 ~ N(0, 0.5^2), and
    W2 ~ N(0, 9 / H): the scales that make f a bumpy, non-polynomial loss in chapter 3. A sample
    standard deviation of n draws is within a few 1/sqrt(2n) of the true one."""
    f = RandomDecoderLoss()
    z = torch.randn(4, 2, dtype=F64)
    assert torch.equal(f(z), RandomDecoderLoss(seed=0)(z))
    expected = {"w1": ((32, 2), 1.5), "b1": ((32,), 0.5), "w2": ((64, 32), 3 / 32**0.5),
                "b2": ((64,), 0.5)}  # fmt: skip
    for name, (shape, scale) in expected.items():
        w = getattr(f, name)
        assert w.shape == shape and w.dtype == F64, name
        rms = w.pow(2).mean().sqrt().item()  # around the known mean 0
        assert 1 - 4 / (2 * w.numel()) ** 0.5 < rms / scale < 1 + 4 / (2 * w.numel()) ** 0.5, name
    assert f.x.shape == (64,)


def test_random_decoder_loss_is_the_bernoulli_nll_of_its_binarized_target():
    """logits = W2 tanh(W1 z + b1) + b2, x = [logits(z_target) > 0], and f(z) the Bernoulli
    negative log-likelihood of x, here written out pixel by pixel in numpy."""
    import numpy as np

    z_target = torch.tensor([0.3, -1.2], dtype=F64)
    f = RandomDecoderLoss(hidden_dim=8, output_dim=12, seed=1, z_target=z_target)
    w1, b1, w2, b2 = (getattr(f, n).numpy() for n in ("w1", "b1", "w2", "b2"))

    def logits(v):
        hidden = [np.tanh(sum(w1[h, d] * v[d] for d in range(2)) + b1[h]) for h in range(8)]
        return np.array([sum(w2[p, h] * hidden[h] for h in range(8)) + b2[p] for p in range(12)])

    x = (logits(z_target.numpy()) > 0).astype(float)
    assert 0 < x.sum() < 12 and np.array_equal(f.x.numpy(), x)
    assert ((logits(z_target.numpy()) > 0) & (logits(z_target.numpy()) < 1)).any()  # not > 1
    z = torch.tensor([[0.5, 0.1], [-2.0, 1.5], [0.3, -1.2]], dtype=F64)
    for row, value in zip(z.numpy(), f(z)):
        s = 1 / (1 + np.exp(-logits(row)))
        nll = -np.sum(x * np.log(s) + (1 - x) * np.log(1 - s))
        assert value.item() == pytest.approx(nll, rel=1e-10)
        assert np.allclose(f.logits(torch.from_numpy(row)).numpy(), logits(row), rtol=1e-12)
        assert np.allclose(f.decode(torch.from_numpy(row)).numpy(), s, rtol=1e-12)


def test_hist_estimates_draws_one_histogram_per_estimator():
    import matplotlib.pyplot as plt

    from vaelib.plot import hist_estimates

    fig, ax = plt.subplots()
    hist_estimates(ax, {"a": torch.randn(100), "b": torch.randn(100) + 1}, truth=0.5, xlim=(-3, 4))
    assert ax.get_xlim() == (-3, 4)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["a", "b", "true value"]
    plt.close(fig)


# ---------------------------------------------------------------- bad input


def test_shape_mismatch_is_a_clear_error():
    for est in ESTIMATORS.values():
        with pytest.raises(ValueError, match=r"log_var has shape \(3,\) but mu has shape \(2,\)"):
            est(quadratic, torch.zeros(2), torch.zeros(3), 2)


def test_nan_is_a_clear_error():
    with pytest.raises(ValueError, match="mu contains NaN"):
        pathwise_grad(quadratic, torch.tensor([float("nan")]), torch.zeros(1))
    with pytest.raises(ValueError, match="f\\(z\\) contains NaN"):
        score_function_grad(lambda z: torch.log(z - 100).sum(-1), torch.zeros(1), torch.zeros(1))


def test_mu_must_be_a_vector():
    with pytest.raises(ValueError, match=r"mu must have shape \(D,\), got shape \(2, 2\)"):
        pathwise_grad(quadratic, torch.zeros(2, 2), torch.zeros(2, 2))


def test_f_must_return_one_value_per_sample():
    with pytest.raises(ValueError, match="sum over the last dimension inside f"):
        pathwise_grad(lambda z: z.pow(2), torch.zeros(2), torch.zeros(2), 3)


def test_pathwise_needs_a_differentiable_f():
    with pytest.raises(ValueError, match="needs a differentiable f"):
        pathwise_grad(lambda z: quadratic(z.detach()), torch.zeros(1), torch.zeros(1))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_samples": 0}, "num_samples must be an integer >= 1"),
        ({"num_samples": 1, "baseline": "loo"}, "num_samples must be an integer >= 2"),
        ({"num_samples": 2, "baseline": "mean"}, 'baseline must be None, a number or "loo"'),
        ({"num_samples": 2, "baseline": torch.ones(2)}, "a fixed baseline must be a number"),
        ({"num_samples": 2, "num_estimates": 0}, "num_estimates must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        score_function_grad(quadratic, torch.zeros(1), torch.zeros(1), **kwargs)


def test_measure_needs_two_estimates():
    with pytest.raises(ValueError, match="num_estimates must be an integer >= 2"):
        measure(pathwise_grad, quadratic, torch.zeros(1), torch.zeros(1), 1, 1)


def test_quadrature_refuses_high_dimensions():
    with pytest.raises(ValueError, match="use D <= 2"):
        quadrature_expectation(quadratic, torch.zeros(3, dtype=F64), torch.zeros(3, dtype=F64))


def test_quadrature_needs_vectors_of_one_shape():
    for mu, log_var in ((torch.zeros(1, 2), torch.zeros(1, 2)), (torch.zeros(2), torch.zeros(3))):
        with pytest.raises(ValueError, match=r"must both have shape \(D,\)"):
            quadrature_expectation(quadratic, mu, log_var)


def test_exact_grad_needs_a_scalar():
    with pytest.raises(ValueError, match="must return a scalar tensor"):
        exact_grad(lambda mu, log_var: mu + log_var, torch.zeros(2), torch.zeros(2))
