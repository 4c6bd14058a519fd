"""vaelib.information against exact answers: Gaussian channels, far/equal points, Monte Carlo."""

import math

import numpy as np
import pytest
import torch

from vaelib import information as inf

DT = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def per_pair_bounds(mu, var):
    """An independent, deliberately plain per-pair NumPy computation of the two entropy bounds."""
    mu = np.asarray(mu, dtype=np.float64)
    n, d = mu.shape
    var = np.broadcast_to(np.asarray(var, dtype=np.float64), (n, d))
    out = []
    for kind in ("bd", "kl"):
        total = 0.0
        for i in range(n):
            terms = []
            for j in range(n):
                vi, vj, dm = var[i], var[j], mu[i] - mu[j]
                if kind == "kl":
                    div = 0.5 * np.sum(np.log(vj / vi) + vi / vj + dm**2 / vj - 1)
                else:
                    vb = (vi + vj) / 2
                    div = np.sum(dm**2 / vb) / 8 + 0.5 * np.log(
                        np.prod(vb) / np.sqrt(np.prod(vi) * np.prod(vj))
                    )
                terms.append(-div)
            total += np.logaddexp.reduce(terms) - np.log(n)
        h_noise = np.mean(0.5 * np.sum(np.log(2 * np.pi * np.e * var), axis=1))
        out.append(h_noise - total / n)
    return tuple(out)


@pytest.mark.parametrize("var_kind", ["scalar", "per_dim", "per_point"])
def test_bounds_match_a_per_pair_computation(var_kind):
    mu = torch.randn(40, 3, generator=gen(1), dtype=DT)
    var = {
        "scalar": 0.3,
        "per_dim": torch.tensor([0.2, 0.5, 1.5], dtype=DT),
        "per_point": torch.rand(40, 3, generator=gen(2), dtype=DT) + 0.1,
    }[var_kind]
    got = inf.entropy_bounds(mu, var)
    want = per_pair_bounds(mu.numpy(), var.numpy() if torch.is_tensor(var) else var)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("noise_var", [1.0, 0.1])
def test_gaussian_channel_is_bracketed(noise_var):
    a = torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=DT)
    x = torch.randn(1000, 2, generator=gen(3), dtype=DT)
    exact = inf.gaussian_channel_mi(a, 1.0, noise_var)
    low, high = inf.mi_xt(x @ a.T, noise_var)
    assert low < exact < high
    # the Monte Carlo MI of the same mixture is the exact channel's to within sampling error
    h_mc, se = inf.mixture_entropy_mc(x @ a.T, noise_var, num_samples=8000)
    h_noise = 0.5 * 2 * math.log(2 * math.pi * math.e * noise_var)
    assert abs(h_mc - h_noise - exact) < 4 * se + 0.02


def test_gaussian_channel_closed_form_in_one_dimension():
    assert inf.gaussian_channel_mi([[2.0]], 1.0, 0.5) == pytest.approx(0.5 * math.log(1 + 4 / 0.5))


@pytest.mark.parametrize("var", [1e-2, torch.full((64, 2), 0.05, dtype=DT)])
def test_far_apart_points_reach_log_n(var):
    mu = torch.arange(64, dtype=DT)[:, None].expand(64, 2) * 100.0
    for value in inf.mi_xt(mu, var):
        assert value == pytest.approx(math.log(64), abs=1e-9)


def test_equal_points_carry_no_information():
    mu = torch.ones(50, 4, dtype=DT)
    assert inf.mi_xt(mu, 0.1) == (0.0, 0.0)
    assert inf.mi_ty(mu, 0.1, torch.arange(50) % 2) == pytest.approx((0.0, 0.0), abs=1e-12)
    low, high = inf.entropy_bounds(mu, 0.1)
    assert low == pytest.approx(high) == pytest.approx(2 * math.log(2 * math.pi * math.e * 0.1))


def test_mi_between_zero_and_log_n():
    for seed in range(5):
        mu = torch.randn(30, 3, generator=gen(seed), dtype=DT) * (seed + 0.1)
        var = torch.rand(30, 3, generator=gen(seed + 10), dtype=DT) + 0.01
        low, high = inf.mi_xt(mu, var)
        assert 0 <= low <= high <= math.log(30) + 1e-12


def test_bounds_bracket_a_monte_carlo_entropy():
    mu = torch.randn(200, 3, generator=gen(4), dtype=DT) * 2
    for var in (0.5, torch.rand(200, 3, generator=gen(5), dtype=DT) + 0.05):
        low, high = inf.entropy_bounds(mu, var)
        h, se = inf.mixture_entropy_mc(mu, var, num_samples=20000)
        assert low - 4 * se < h < high + 4 * se
        assert high - low > 8 * se  # the test could fail: the bracket is wider than the noise


def test_label_information():
    # two well separated clusters, one per label: I(T;Y) = H(Y) = log 2 with either bound
    mu = torch.cat([torch.zeros(20, 2), torch.full((20, 2), 50.0)]).to(DT)
    labels = torch.arange(40) // 20
    for value in inf.mi_ty(mu, 1.0, labels):
        assert value == pytest.approx(math.log(2), abs=1e-6)
    # labels unrelated to the clusters: no label information
    for value in inf.mi_ty(mu, 1.0, torch.arange(40) % 2):
        assert value == pytest.approx(0.0, abs=1e-12)


def test_information_matches_the_single_functions_and_the_batch():
    mu = torch.randn(3, 60, 4, generator=gen(7), dtype=DT)
    labels = torch.arange(60) % 3
    batch = inf.information_batch(mu, 0.2, labels)
    for b in range(3):
        one = inf.information(mu[b], 0.2, labels)
        assert (one["ixt_bd"], one["ixt_kl"]) == pytest.approx(inf.mi_xt(mu[b], 0.2))
        assert (one["ity_bd"], one["ity_kl"]) == pytest.approx(inf.mi_ty(mu[b], 0.2, labels))
        for key, value in one.items():
            assert batch[key][b].item() == pytest.approx(value, abs=1e-10)


@pytest.mark.parametrize("elements", [1, 1000, 7 * 50 * 5 * 4, 10**5])
@pytest.mark.parametrize("per_point", [True, False])
def test_chunking_does_not_change_the_answer(monkeypatch, elements, per_point):
    mu = torch.randn(50, 5, generator=gen(8), dtype=DT)
    var = torch.rand(50, 5, generator=gen(9), dtype=DT) + 0.1 if per_point else 0.3
    labels = torch.arange(50) % 2
    whole = inf.information(mu, var, labels)
    monkeypatch.setattr(inf, "CHUNK_ELEMENTS", elements)  # 1 to 50 rows per chunk
    assert inf.information(mu, var, labels) == pytest.approx(whole, abs=1e-12)


def test_binned_mi_exact_cases():
    labels = torch.arange(8) % 2
    distinct = torch.arange(8, dtype=DT)[:, None]  # 8 distinct values, 8 bins: each its own cell
    assert inf.binned_mi(distinct, labels, 8) == pytest.approx((math.log(8), math.log(2)))
    assert inf.binned_mi(distinct, labels, 1) == pytest.approx((0.0, 0.0))
    # two bins: the low and high halves, each holding both labels equally
    assert inf.binned_mi(distinct, labels, 2) == pytest.approx((math.log(2), 0.0))


def test_labels_need_not_start_at_zero():
    """Classes of unequal sizes named -4, 7 and 10: the same as 0, 1 and 2."""
    mu = torch.randn(30, 2, generator=gen(13), dtype=DT)
    labels = torch.tensor([0] * 5 + [1] * 10 + [2] * 15)[torch.randperm(30, generator=gen(14))]
    named = torch.tensor([-4, 7, 10])[labels]
    assert inf.mi_ty(mu, 0.4, named) == pytest.approx(inf.mi_ty(mu, 0.4, labels), abs=1e-14)
    assert inf.information(mu, 0.4, named + 20) == pytest.approx(
        inf.information(mu, 0.4, labels), abs=1e-14
    )
    assert inf.binned_mi(mu, named, 4) == pytest.approx(inf.binned_mi(mu, labels, 4), abs=1e-14)


def test_binned_mi_does_not_depend_on_where_the_values_lie():
    labels = torch.arange(8) % 2
    for shift in (100.0, -37.5):
        shifted = torch.arange(8, dtype=DT)[:, None] + shift
        assert inf.binned_mi(shifted, labels, 8) == pytest.approx((math.log(8), math.log(2)))
        assert inf.binned_mi(shifted, labels, 2) == pytest.approx((math.log(2), 0.0))
        # three bins of width 7/3 over [shift, shift + 7]: 3, 2 and 3 values
        h_t = -(2 * (3 / 8) * math.log(3 / 8) + (2 / 8) * math.log(2 / 8))
        assert inf.binned_mi(shifted, labels, 3)[0] == pytest.approx(h_t)


def test_binned_mi_never_exceeds_log_n():
    t = torch.randn(100, 3, generator=gen(10), dtype=DT)
    ixt, ity = inf.binned_mi(t, torch.arange(100) % 2, 30)
    assert 0 <= ity <= ixt <= math.log(100) + 1e-12


def test_one_point_and_the_shapes_of_var():
    """N = 1 is a valid layer (no information, the noise's entropy); var of shape (1, d) is
    one variance per dimension, like (d,); an empty mu is an error."""
    one = torch.tensor([[0.3, -1.0]], dtype=DT)
    assert inf.mi_xt(one, 0.5) == (0.0, 0.0)
    h_noise = math.log(2 * math.pi * math.e * 0.5)  # 2 dimensions x 1/2 log(2 pi e var)
    assert inf.entropy_bounds(one, 0.5) == pytest.approx((h_noise, h_noise), rel=1e-12)
    mu = torch.randn(10, 3, generator=gen(11), dtype=DT)
    per_dim = torch.tensor([0.2, 0.5, 1.5], dtype=DT)
    want = per_pair_bounds(mu.numpy(), per_dim.numpy())
    assert inf.entropy_bounds(mu, per_dim[None]) == pytest.approx(want, rel=1e-10)
    with pytest.raises(ValueError, match="shape \\(N, d\\)"):
        inf.entropy_bounds(torch.zeros(0, 2, dtype=DT), 1.0)


def test_float_labels_that_are_whole_numbers_are_class_indices():
    mu = torch.randn(30, 2, generator=gen(12), dtype=DT)
    labels = torch.arange(30) % 3
    want = inf.mi_ty(mu, 0.4, labels)
    assert inf.mi_ty(mu, 0.4, labels.double()) == pytest.approx(want, abs=1e-14)
    assert inf.mi_ty(mu, 0.4, labels.tolist()) == pytest.approx(want, abs=1e-14)
    with pytest.raises(ValueError, match="whole numbers"):
        inf.mi_ty(mu, 0.4, labels.double() + 0.5)


def plain_binned_mi(t, labels, n_bins):
    """Binning by hand: a cell per distinct tuple of bin indices, entropies of the counts."""
    t, labels = np.asarray(t, dtype=np.float64), np.asarray(labels)
    low, high = t.min(), t.max()
    idx = np.minimum(np.floor((t - low) / ((high - low) / n_bins)), n_bins - 1).astype(int)
    cells = [tuple(row) for row in idx]

    def entropy(items):
        _, counts = np.unique(np.array(items), axis=0, return_counts=True)
        p = counts / counts.sum()
        return float(-(p * np.log(p)).sum())

    h_t = entropy(cells)
    h_t_y = sum(
        np.mean(labels == y) * entropy([c for c, lab in zip(cells, labels) if lab == y])
        for y in np.unique(labels)
    )
    return h_t, h_t - h_t_y


def test_binned_mi_against_counting_by_hand():
    """Three classes of unequal sizes, two coordinates: H(T | Y) weighs each class's own cells."""
    t = torch.randn(60, 2, generator=gen(15), dtype=DT)
    labels = torch.tensor([0] * 10 + [1] * 20 + [2] * 30)
    for n_bins in (2, 3, 5):
        want = plain_binned_mi(t.numpy(), labels.numpy(), n_bins)
        assert inf.binned_mi(t, labels, n_bins) == pytest.approx(want, rel=1e-12)


def test_monte_carlo_entropy_of_one_and_two_far_apart_components():
    """One Gaussian away from the origin: H = d/2 log(2 pi e var), and -log p(t) is a constant
    plus chi^2_d / 2, whose standard deviation sqrt(d / 2) calibrates the standard error."""
    d, var, s = 4, 0.5, 20_000
    mu = torch.tensor([[5.0, -3.0, 2.0, 7.0]], dtype=DT)
    h, se = inf.mixture_entropy_mc(mu, var, num_samples=s, seed=1)
    exact = 0.5 * d * math.log(2 * math.pi * math.e * var)
    assert abs(h - exact) < 4 * se
    assert se * math.sqrt(s) == pytest.approx(math.sqrt(d / 2), rel=0.05)
    two = torch.cat([mu, -mu])  # far apart: the mixture's entropy is the component's + log 2
    h2, se2 = inf.mixture_entropy_mc(two, torch.full((2, d), var, dtype=DT), num_samples=s)
    assert abs(h2 - exact - math.log(2)) < 4 * se2
    assert inf.mixture_entropy_mc(two, var) == inf.mixture_entropy_mc(two, var, 20000, 0)


def test_gaussian_channel_with_a_non_square_matrix():
    """det(I_m + c A A^T) = det(I_k + c A^T A): a row vector a gives 1 + c |a|^2, either way."""
    row = [[1.0, 2.0, -2.0]]  # (1, 3): |a|^2 = 9
    assert inf.gaussian_channel_mi(row, 2.0, 0.5) == pytest.approx(0.5 * math.log(1 + 4 * 9))
    column = [[1.0], [2.0], [-2.0]]  # (3, 1)
    assert inf.gaussian_channel_mi(column, 2.0, 0.5) == pytest.approx(0.5 * math.log(1 + 4 * 9))
    for var_x, noise_var in ((0.0, 1.0), (1.0, 0.0), (-1.0, 1.0), (1.0, -1.0)):
        with pytest.raises(ValueError, match="positive"):
            inf.gaussian_channel_mi(row, var_x, noise_var)


@pytest.mark.parametrize("n, d", [(1, 3), (12, 1), (12, 3)])
def test_information_batch_small_shapes_and_a_single_code(n, d):
    t = torch.randn(n, d, generator=gen(16), dtype=DT) * 2
    labels = torch.arange(n) % 2
    batch = inf.information_batch(t, 0.3, labels)  # (N, d): a batch of one
    one = inf.information(t, 0.3, labels)
    for key, value in one.items():
        assert batch[key].shape == (1,) and batch[key][0].item() == pytest.approx(value, abs=1e-12)
    if n == 1:
        assert list(one.values()) == pytest.approx([0.0] * 4, abs=1e-12)


@pytest.mark.parametrize("shape", [(2, 0, 3), (2, 4, 0), (2, 2, 3, 4)])
def test_information_batch_refuses_empty_or_four_dimensional_codes(shape):
    with pytest.raises(ValueError, match="shape \\(B, N, d\\)"):
        inf.information_batch(torch.ones(shape, dtype=DT), 0.3, [0] * shape[1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: inf.entropy_bounds(torch.zeros(5), 1.0), "shape \\(N, d\\)"),
        (lambda: inf.entropy_bounds(torch.zeros(5, 2), 0.0), "strictly positive"),
        (lambda: inf.entropy_bounds(torch.zeros(5, 2), -torch.ones(5, 2)), "exp\\(log_var\\)"),
        (lambda: inf.mi_xt(torch.zeros(5, 2), torch.ones(4, 2)), "var has shape"),
        (lambda: inf.mi_xt(torch.full((5, 2), float("nan")), 1.0), "NaN"),
        (lambda: inf.mi_ty(torch.zeros(5, 2), 1.0, [0, 1]), "labels must have shape"),
        (lambda: inf.binned_mi(torch.zeros(5, 2), [0] * 5, 0), "n_bins"),
        (
            lambda: inf.information_batch(torch.zeros(2, 5, 2), torch.tensor([1.0, 2.0]), [0] * 5),
            "scalar",
        ),
    ],
)
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
